/* SPDX-License-Identifier: Apache-2.0 */
/* Jobs: threads that report to the loop (see jobs.h). */
#include "daemon/jobs.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/err.h"
#include "util/timestamp.h"

#define JOB_STACK_DEFAULT ((size_t)1 << 20)
#define JOBS_LOOP_BOOST 5 /* nice levels: about 3 times the jobs' share of a CPU */

struct job_msg {
	struct job_msg *next;
	json_t *msg;
};

struct job {
	struct jobs *js;
	struct job *next; /* js->head, under js->lock */
	uint64_t id;
	const struct job_ops *ops;
	void *data;
	const char *kind;
	char *ns, *what;
	char started_at[TIMESTAMP_LEN];
	pthread_t thread;
	int cancel_fd; /* eventfd, readable once cancelled */
	atomic_int cancelled;
	/* Under js->lock. */
	struct job_msg *msgs, **msgs_tail;
	json_t *progress;
	int finished; /* run() returned: result and err are set */
	int result;
	struct ember_error err;
};

struct jobs {
	struct loop *loop;
	pthread_mutex_t lock;
	int efd; /* eventfd: a message or an end to deliver */
	struct loop_source *src;
	struct job *head;
	uint64_t next_id;
	unsigned threads; /* run() not returned yet */
	int nice;         /* the daemon's own: the jobs' (the loop runs above it) */
};

static void wake(struct jobs *js)
{
	uint64_t one = 1;
	while (write(js->efd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

static void *job_thread(void *arg)
{
	struct job *j = arg;
	struct ember_error e;

	/* A thread started by the loop has the loop's priority: back to the
	   daemon's (what the job starts, a container too, inherits it). */
	(void)setpriority(PRIO_PROCESS, 0, j->js->nice);
	int r = j->ops->run(j, &e);
	pthread_mutex_lock(&j->js->lock);
	j->result = r < 0 ? r : 0;
	if (r < 0)
		j->err = e;
	j->finished = 1;
	j->js->threads--;
	pthread_mutex_unlock(&j->js->lock);
	wake(j->js);
	return NULL;
}

static void job_free(struct job *j)
{
	while (j->msgs) {
		struct job_msg *m = j->msgs;
		j->msgs = m->next;
		json_decref(m->msg);
		free(m);
	}
	json_decref(j->progress);
	close_keep_errno(j->cancel_fd);
	free(j->ns);
	free(j->what);
	free(j);
}

/* Hand what the threads left to the loop: messages first, then ends. */
static void deliver(struct jobs *js)
{
	struct pending {
		struct job *j;
		struct job_msg *msgs;
		int finished;
	} buf[64];
	size_t n;

	do {
		n = 0;
		pthread_mutex_lock(&js->lock);
		for (struct job **pp = &js->head; *pp && n < ARRAY_SIZE(buf);) {
			struct job *j = *pp;
			if (!j->msgs && !j->finished) {
				pp = &j->next;
				continue;
			}
			buf[n].j = j;
			buf[n].msgs = j->msgs;
			buf[n].finished = j->finished;
			j->msgs = NULL;
			j->msgs_tail = &j->msgs;
			n++;
			if (j->finished)
				*pp = j->next; /* ours now */
			else
				pp = &j->next;
		}
		pthread_mutex_unlock(&js->lock);
		/* Callbacks may start and cancel jobs: no lock is held. */
		for (size_t i = 0; i < n; i++) {
			struct job *j = buf[i].j;
			while (buf[i].msgs) {
				struct job_msg *m = buf[i].msgs;
				buf[i].msgs = m->next;
				if (j->ops->message)
					j->ops->message(j, m->msg);
				else
					json_decref(m->msg);
				free(m);
			}
		}
		for (size_t i = 0; i < n; i++) {
			struct job *j = buf[i].j;
			if (!buf[i].finished)
				continue;
			pthread_join(j->thread, NULL);
			if (j->ops->done)
				j->ops->done(j, j->result, j->result < 0 ? &j->err : NULL);
			job_free(j);
		}
	} while (n == ARRAY_SIZE(buf));
}

static void on_wake(struct loop_source *s, int fd, uint32_t events, void *userdata)
{
	uint64_t v;

	(void)s;
	(void)events;
	if (read(fd, &v, sizeof(v)) < 0 && errno == EAGAIN)
		return;
	deliver(userdata);
}

struct jobs *jobs_new(struct loop *loop, struct ember_error *e)
{
	struct jobs *js = calloc(1, sizeof(*js));

	if (!js) {
		err_set(e, ENOMEM, "out of memory");
		return NULL;
	}
	js->loop = loop;
	js->next_id = 1;
	/* The loop answers every client while jobs work: on 2 cores busy with
	   50 starts it would otherwise wait its turn behind them (a call took
	   0.4 s). It runs JOBS_LOOP_BOOST nice levels above the jobs where the
	   daemon may (CAP_SYS_NICE), else at the same level. */
	errno = 0;
	js->nice = getpriority(PRIO_PROCESS, 0);
	if (errno)
		js->nice = 0;
	(void)setpriority(PRIO_PROCESS, 0, js->nice - JOBS_LOOP_BOOST);
	pthread_mutex_init(&js->lock, NULL);
	js->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (js->efd < 0) {
		err_sys(e, errno, "eventfd");
		jobs_free(js);
		return NULL;
	}
	js->src = loop_add_io(loop, js->efd, EPOLLIN, on_wake, js, "jobs", e);
	if (!js->src) {
		jobs_free(js);
		return NULL;
	}
	return js;
}

unsigned jobs_stop(struct jobs *js, unsigned wait_ms)
{
	if (!js)
		return 0;
	/* Jobs are freed only by deliver(), in this thread: the list may be
	   walked without the lock, which cancel callbacks may need. */
	pthread_mutex_lock(&js->lock);
	struct job *head = js->head;
	pthread_mutex_unlock(&js->lock);
	for (struct job *j = head; j; j = j->next)
		job_cancel(j);
	uint64_t until = loop_now_ms() + wait_ms;
	for (;;) {
		deliver(js);
		pthread_mutex_lock(&js->lock);
		unsigned left = js->threads;
		pthread_mutex_unlock(&js->lock);
		if (!left || loop_now_ms() >= until)
			return left;
		usleep(5000);
	}
}

void jobs_free(struct jobs *js)
{
	if (!js)
		return;
	loop_source_free(js->src);
	close_keep_errno(js->efd);
	/* Jobs still listed have threads that did not end (jobs_stop() said
	   how many): their memory stays theirs. */
	pthread_mutex_destroy(&js->lock);
	free(js);
}

struct job *job_start(struct jobs *js, const struct job_ops *ops, void *data, const char *kind, const char *ns,
		      const char *what, struct ember_error *e)
{
	struct job *j = calloc(1, sizeof(*j));

	if (!j || !(j->ns = strdup(ns ? ns : "")) || !(j->what = strdup(what ? what : ""))) {
		if (j)
			job_free(j);
		err_set(e, ENOMEM, "out of memory");
		return NULL;
	}
	j->js = js;
	j->ops = ops;
	j->data = data;
	j->kind = kind;
	j->msgs_tail = &j->msgs;
	timestamp_now(j->started_at);
	j->cancel_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (j->cancel_fd < 0) {
		err_sys(e, errno, "eventfd");
		job_free(j);
		return NULL;
	}
	pthread_attr_t attr;
	sigset_t all, old;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, ops->stack ? ops->stack : JOB_STACK_DEFAULT);
	/* Signals are the loop's (signalfd): the thread takes none. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pthread_mutex_lock(&js->lock);
	j->id = js->next_id++;
	int pr = pthread_create(&j->thread, &attr, job_thread, j);
	if (pr == 0) {
		j->next = js->head;
		js->head = j;
		js->threads++;
	}
	pthread_mutex_unlock(&js->lock);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (pr != 0) {
		err_sys(e, pr, "start a %s job", kind);
		job_free(j);
		return NULL;
	}
	return j;
}

void job_slots_init(struct job_slots *s, unsigned n)
{
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cond, NULL);
	s->free = n ? n : 1;
}

void job_slots_done(struct job_slots *s)
{
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cond);
}

int job_slot_take(struct job_slots *s, struct job *j, struct ember_error *e)
{
	int r = 0;

	pthread_mutex_lock(&s->mu);
	while (!s->free) {
		/* A cancel does not signal the condition: look again now and then. */
		if (job_cancelled(j)) {
			r = err_set_name(e, EMBER_ERROR_CANCELED, ECANCELED, "cancelled while waiting for a slot");
			break;
		}
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 100 * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&s->cond, &s->mu, &until);
	}
	if (r == 0)
		s->free--;
	pthread_mutex_unlock(&s->mu);
	return r;
}

void job_slot_give(struct job_slots *s)
{
	pthread_mutex_lock(&s->mu);
	s->free++;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->mu);
}

void *job_data(const struct job *j)
{
	return j->data;
}

uint64_t job_id(const struct job *j)
{
	return j->id;
}

const char *job_ns(const struct job *j)
{
	return j->ns;
}

void job_cancel(struct job *j)
{
	uint64_t one = 1;

	if (atomic_exchange(&j->cancelled, 1))
		return;
	while (write(j->cancel_fd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
	if (j->ops->cancel)
		j->ops->cancel(j);
}

int job_cancelled(const struct job *j)
{
	return atomic_load(&((struct job *)j)->cancelled);
}

int job_cancel_fd(const struct job *j)
{
	return j->cancel_fd;
}

void job_post(struct job *j, json_t *msg)
{
	struct job_msg *m;

	if (!msg)
		return;
	if (!(m = calloc(1, sizeof(*m)))) {
		json_decref(msg);
		return;
	}
	m->msg = msg;
	pthread_mutex_lock(&j->js->lock);
	*j->msgs_tail = m;
	j->msgs_tail = &m->next;
	pthread_mutex_unlock(&j->js->lock);
	wake(j->js);
}

void job_progress(struct job *j, json_t *progress)
{
	pthread_mutex_lock(&j->js->lock);
	json_decref(j->progress);
	j->progress = progress;
	pthread_mutex_unlock(&j->js->lock);
}

json_t *jobs_list(struct jobs *js, const char *ns)
{
	json_t *list = json_array();

	pthread_mutex_lock(&js->lock);
	for (struct job *j = js->head; j && list; j = j->next) {
		if (ns && strcmp(ns, j->ns))
			continue;
		json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s}", "id", (json_int_t)j->id, "kind", j->kind,
				      "namespace", j->ns, "what", j->what, "started_at", j->started_at, "state",
				      j->finished ? "done" : atomic_load(&j->cancelled) ? "cancelling" : "running");
		if (o && j->progress)
			json_object_set(o, "progress", j->progress);
		json_array_append_new(list, o);
	}
	pthread_mutex_unlock(&js->lock);
	return list;
}

struct job *jobs_find(struct jobs *js, uint64_t id)
{
	struct job *found = NULL;

	pthread_mutex_lock(&js->lock);
	for (struct job *j = js->head; j && !found; j = j->next)
		if (j->id == id && !j->finished)
			found = j;
	pthread_mutex_unlock(&js->lock);
	return found;
}

unsigned jobs_running(struct jobs *js)
{
	pthread_mutex_lock(&js->lock);
	unsigned n = js->threads;
	pthread_mutex_unlock(&js->lock);
	return n;
}
