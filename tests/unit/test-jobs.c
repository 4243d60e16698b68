/* SPDX-License-Identifier: Apache-2.0 */
/* Jobs (threads that report to the loop) and holds (what GC must keep). */
#include "unit.h"

#include <poll.h>
#include <pthread.h>

#include "daemon/holds.h"
#include "daemon/jobs.h"
#include "util/err.h"
#include "util/loop.h"

#define DIGEST_A "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define DIGEST_B "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

/* ---- holds ---------------------------------------------------------------------------- */

static void test_holds_count_and_release(void **state)
{
	(void)state;
	struct holds *hs = holds_new();
	struct hold *a = hold_new(hs), *b = hold_new(hs);

	assert_int_equal(hold_blob(a, DIGEST_A), 0);
	assert_int_equal(hold_blob(a, DIGEST_A), 0); /* twice by one holder: once */
	assert_int_equal(hold_blob(b, DIGEST_A), 0);
	assert_int_equal(hold_snapshot(b, "overlay", "default", "k1"), 0);
	holds_lock(hs);
	assert_true(holds_blob_held(hs, DIGEST_A));
	assert_false(holds_blob_held(hs, DIGEST_B));
	assert_true(holds_blob_held_except(hs, DIGEST_A, a)); /* b holds it too */
	assert_true(holds_snapshot_held(hs, "overlay", "default", "k1"));
	assert_false(holds_snapshot_held(hs, "native", "default", "k1"));
	assert_false(holds_snapshot_held(hs, "overlay", "other", "k1"));
	holds_unlock(hs);
	/* A key held in every namespace (an unpacker looking for a layer to
	   share): held in each, not under other keys or snapshotters. */
	assert_int_equal(hold_snapshot(a, "overlay", HOLD_ANY_NS, "k2"), 0);
	holds_lock(hs);
	assert_true(holds_snapshot_held(hs, "overlay", "other", "k2"));
	assert_true(holds_snapshot_held(hs, "overlay", "default", "k2"));
	assert_false(holds_snapshot_held(hs, "native", "other", "k2"));
	assert_true(holds_snapshot_held_except(hs, "overlay", "other", "k2", b));
	assert_false(holds_snapshot_held_except(hs, "overlay", "other", "k2", a));
	holds_unlock(hs);
	hold_release(b);
	holds_lock(hs);
	assert_true(holds_blob_held(hs, DIGEST_A));
	assert_false(holds_blob_held_except(hs, DIGEST_A, a)); /* only a now */
	assert_false(holds_snapshot_held(hs, "overlay", "default", "k1"));
	holds_unlock(hs);
	hold_release(a);
	holds_lock(hs);
	assert_false(holds_blob_held(hs, DIGEST_A));
	holds_unlock(hs);
	hold_release(NULL);
	holds_free(hs);
}

/* A hold released while a collection runs stays until it ends: the record
   its holder wrote may be newer than what that collection read. */
static void test_holds_outlive_a_running_gc(void **state)
{
	(void)state;
	struct holds *hs = holds_new();
	struct hold *a = hold_new(hs);

	assert_int_equal(hold_blob(a, DIGEST_A), 0);
	holds_gc_begin(hs);
	holds_gc_begin(hs); /* two collections at once */
	hold_release(a);
	holds_lock(hs);
	assert_true(holds_blob_held(hs, DIGEST_A));
	holds_unlock(hs);
	holds_gc_end(hs);
	holds_lock(hs);
	assert_true(holds_blob_held(hs, DIGEST_A)); /* the other still runs */
	holds_unlock(hs);
	holds_gc_end(hs);
	holds_lock(hs);
	assert_false(holds_blob_held(hs, DIGEST_A));
	holds_unlock(hs);
	/* Without a collection, a release is immediate. */
	a = hold_new(hs);
	assert_int_equal(hold_blob(a, DIGEST_B), 0);
	hold_release(a);
	holds_lock(hs);
	assert_false(holds_blob_held(hs, DIGEST_B));
	holds_unlock(hs);
	holds_free(hs);
}

/* ---- jobs ------------------------------------------------------------------------------ */

struct fixture {
	struct loop *loop;
	struct jobs *js;
	int messages[8], nmsg;
	int done, result, code;
	int cancels;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	int release; /* lets a stuck job go */
	int main_is_loop;
	pthread_t loop_thread;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct ember_error e;

	f->loop = loop_new(&e);
	assert_non_null(f->loop);
	f->js = jobs_new(f->loop, &e);
	assert_non_null(f->js);
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cond, NULL);
	f->loop_thread = pthread_self();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(jobs_stop(f->js, 1000), 0);
	jobs_free(f->js);
	loop_free(f->loop);
	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->cond);
	free(f);
	return 0;
}

static void on_timeout(struct loop_source *s, void *ud)
{
	(void)s;
	loop_exit(ud, 99);
}

/* Run the loop until a done() calls loop_exit(); 99: timed out. */
static int run_loop(struct fixture *f, unsigned ms)
{
	struct ember_error e;
	struct loop_source *t = loop_add_timer(f->loop, ms, 0, on_timeout, f->loop, "timeout", &e);
	int r = loop_run(f->loop, &e);
	loop_source_free(t);
	return r;
}

static int posting_run(struct job *j, struct ember_error *e)
{
	struct fixture *f = job_data(j);

	(void)e;
	assert_false(pthread_equal(pthread_self(), f->loop_thread));
	for (int i = 1; i <= 3; i++)
		job_post(j, json_integer(i));
	job_progress(j, json_pack("{s:i}", "step", 3));
	return 0;
}

static void record_message(struct job *j, json_t *msg)
{
	struct fixture *f = job_data(j);

	assert_true(pthread_equal(pthread_self(), f->loop_thread));
	assert_false(f->done); /* every message comes before the end */
	f->messages[f->nmsg++] = (int)json_integer_value(msg);
	json_decref(msg);
}

static void record_done(struct job *j, int result, const struct ember_error *e)
{
	struct fixture *f = job_data(j);

	assert_true(pthread_equal(pthread_self(), f->loop_thread));
	f->done++;
	f->result = result;
	f->code = e ? e->code : 0;
	loop_exit(f->loop, 0);
}

static const struct job_ops posting_ops = { .run = posting_run, .message = record_message, .done = record_done };

static void test_job_messages_then_done(void **state)
{
	struct fixture *f = *state;
	struct ember_error e;

	struct job *j = job_start(f->js, &posting_ops, f, "test", "default", "posting", &e);
	assert_non_null(j);
	assert_true(job_id(j) > 0);
	assert_int_equal(run_loop(f, 5000), 0);
	assert_int_equal(f->done, 1);
	assert_int_equal(f->result, 0);
	assert_int_equal(f->nmsg, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(f->messages[i], i + 1);
	/* Gone once done: no longer listed nor found. */
	json_t *list = jobs_list(f->js, NULL);
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);
	assert_int_equal(jobs_running(f->js), 0);
}

/* A job that waits on its cancel descriptor, as an import reading a pipe does. */
static int waiting_run(struct job *j, struct ember_error *e)
{
	struct fixture *f = job_data(j);
	struct pollfd pf = { job_cancel_fd(j), POLLIN, 0 };

	pthread_mutex_lock(&f->mu);
	f->release = 1; /* started */
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->mu);
	if (poll(&pf, 1, 10000) != 1 || !job_cancelled(j))
		return err_set(e, ETIMEDOUT, "not cancelled");
	return err_set_name(e, EMBER_ERROR_CANCELED, ECANCELED, "cancelled");
}

static void count_cancel(struct job *j)
{
	struct fixture *f = job_data(j);

	f->cancels++;
}

static const struct job_ops waiting_ops = {
	.run = waiting_run, .message = record_message, .done = record_done, .cancel = count_cancel,
};

static void test_job_cancel_and_list(void **state)
{
	struct fixture *f = *state;
	struct ember_error e;

	struct job *j = job_start(f->js, &waiting_ops, f, "import", "ns1", "an archive", &e);
	assert_non_null(j);
	pthread_mutex_lock(&f->mu);
	while (!f->release)
		pthread_cond_wait(&f->cond, &f->mu);
	pthread_mutex_unlock(&f->mu);
	json_t *list = jobs_list(f->js, "ns1");
	assert_int_equal(json_array_size(list), 1);
	json_t *o = json_array_get(list, 0);
	assert_string_equal(json_string_value(json_object_get(o, "kind")), "import");
	assert_string_equal(json_string_value(json_object_get(o, "what")), "an archive");
	assert_string_equal(json_string_value(json_object_get(o, "state")), "running");
	json_decref(list);
	list = jobs_list(f->js, "ns2");
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);
	assert_ptr_equal(jobs_find(f->js, job_id(j)), j);
	assert_null(jobs_find(f->js, job_id(j) + 1000));
	assert_int_equal(jobs_running(f->js), 1);

	job_cancel(j);
	job_cancel(j); /* idempotent: the callback runs once */
	assert_int_equal(f->cancels, 1);
	assert_int_equal(run_loop(f, 5000), 0);
	assert_int_equal(f->done, 1);
	assert_int_equal(f->result, -ECANCELED);
	assert_int_equal(f->code, ECANCELED);
}

/* Shutdown: a job that does not look at its cancel flag is left to the
   exit after the wait; one that does ends within it. */
static int stuck_run(struct job *j, struct ember_error *e)
{
	struct fixture *f = job_data(j);

	(void)e;
	pthread_mutex_lock(&f->mu);
	while (!f->release)
		pthread_cond_wait(&f->cond, &f->mu);
	pthread_mutex_unlock(&f->mu);
	return 0;
}

static void silent_done(struct job *j, int result, const struct ember_error *e)
{
	struct fixture *f = job_data(j);

	(void)result;
	(void)e;
	f->done++;
}

static const struct job_ops stuck_ops = { .run = stuck_run, .done = silent_done };

static void test_jobs_stop_waits_then_gives_up(void **state)
{
	struct fixture *f = *state;
	struct ember_error e;

	assert_non_null(job_start(f->js, &stuck_ops, f, "gc", "", "stuck", &e));
	uint64_t t0 = loop_now_ms();
	assert_int_equal(jobs_stop(f->js, 100), 1);
	assert_true(loop_now_ms() - t0 >= 100);
	assert_int_equal(f->done, 0);
	pthread_mutex_lock(&f->mu);
	f->release = 1;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->mu);
	/* Released: the next stop delivers its end. */
	assert_int_equal(jobs_stop(f->js, 5000), 0);
	assert_int_equal(f->done, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_holds_count_and_release),
		cmocka_unit_test(test_holds_outlive_a_running_gc),
		cmocka_unit_test_setup_teardown(test_job_messages_then_done, setup, teardown),
		cmocka_unit_test_setup_teardown(test_job_cancel_and_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_jobs_stop_waits_then_gives_up, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
