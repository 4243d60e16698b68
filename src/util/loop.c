/* SPDX-License-Identifier: Apache-2.0 */
#include "util/loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/err.h"

enum source_type { SOURCE_IO, SOURCE_SIGNAL, SOURCE_TIMER, SOURCE_DEFER };

struct loop_source {
	struct loop *loop;
	enum source_type type;
	int fd;        /* watched fd; owned for signal and timer sources */
	int dead;
	int armed;     /* defer: scheduled */
	const char *desc;
	void *userdata;
	union {
		loop_io_fn io;
		loop_signal_fn signal;
		loop_timer_fn timer;
		loop_defer_fn defer;
	} fn;
	sigset_t sigset;
	struct loop_source *next; /* all sources */
	struct loop_source *next_armed;
};

struct loop {
	int epfd;
	int exit_code;
	int exiting;
	struct loop_source *sources;
	struct loop_source *armed;
};

uint64_t loop_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct loop *loop_new(struct ember_error *e)
{
	struct loop *loop = calloc(1, sizeof(*loop));

	if (!loop) {
		err_set(e, ENOMEM, "out of memory");
		return NULL;
	}
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		err_sys(e, errno, "epoll_create1");
		free(loop);
		return NULL;
	}
	return loop;
}

static void source_destroy(struct loop_source *s)
{
	if (s->type == SOURCE_SIGNAL)
		sigprocmask(SIG_UNBLOCK, &s->sigset, NULL);
	if (s->type == SOURCE_SIGNAL || s->type == SOURCE_TIMER)
		close_keep_errno(s->fd);
	free(s);
}

/* Free the sources marked dead; called when no event for them is pending. */
static void reap_dead(struct loop *loop)
{
	struct loop_source **pp = &loop->sources;

	while (*pp) {
		struct loop_source *s = *pp;
		/* An armed defer is still on the armed list: keep it until run. */
		if (s->dead && !s->armed) {
			*pp = s->next;
			source_destroy(s);
		} else {
			pp = &s->next;
		}
	}
}

struct loop *loop_free(struct loop *loop)
{
	if (!loop)
		return NULL;
	for (struct loop_source *s = loop->sources; s; s = s->next)
		s->dead = 1, s->armed = 0;
	reap_dead(loop);
	close_keep_errno(loop->epfd);
	free(loop);
	return NULL;
}

static struct loop_source *source_new(struct loop *loop, enum source_type type, int fd,
				      uint32_t events, void *userdata, const char *desc,
				      struct ember_error *e)
{
	struct loop_source *s = calloc(1, sizeof(*s));

	if (!s) {
		err_set(e, ENOMEM, "out of memory");
		return NULL;
	}
	s->loop = loop;
	s->type = type;
	s->fd = fd;
	s->userdata = userdata;
	s->desc = desc;
	if (fd >= 0) {
		struct epoll_event ev = { .events = events, .data.ptr = s };
		if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			err_sys(e, errno, "watch %s", desc);
			free(s);
			return NULL;
		}
	}
	s->next = loop->sources;
	loop->sources = s;
	return s;
}

struct loop_source *loop_add_io(struct loop *loop, int fd, uint32_t events, loop_io_fn fn,
				void *userdata, const char *desc, struct ember_error *e)
{
	struct loop_source *s = source_new(loop, SOURCE_IO, fd, events, userdata, desc, e);

	if (s)
		s->fn.io = fn;
	return s;
}

int loop_io_set_events(struct loop_source *s, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = s };

	if (epoll_ctl(s->loop->epfd, EPOLL_CTL_MOD, s->fd, &ev) < 0)
		return -errno;
	return 0;
}

struct loop_source *loop_add_signals(struct loop *loop, const sigset_t *set, loop_signal_fn fn,
				     void *userdata, struct ember_error *e)
{
	if (sigprocmask(SIG_BLOCK, set, NULL) < 0) {
		err_sys(e, errno, "block signals");
		return NULL;
	}
	int fd = signalfd(-1, set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0) {
		err_sys(e, errno, "signalfd");
		sigprocmask(SIG_UNBLOCK, set, NULL);
		return NULL;
	}
	struct loop_source *s = source_new(loop, SOURCE_SIGNAL, fd, EPOLLIN, userdata, "signals", e);
	if (!s) {
		close(fd);
		sigprocmask(SIG_UNBLOCK, set, NULL);
		return NULL;
	}
	s->fn.signal = fn;
	s->sigset = *set;
	return s;
}

struct loop_source *loop_add_timer(struct loop *loop, uint64_t first_ms, uint64_t interval_ms,
				   loop_timer_fn fn, void *userdata, const char *desc,
				   struct ember_error *e)
{
	struct itimerspec its = {
		.it_value = { (time_t)(first_ms / 1000), (long)(first_ms % 1000) * 1000000 },
		.it_interval = { (time_t)(interval_ms / 1000), (long)(interval_ms % 1000) * 1000000 },
	};
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);

	if (fd < 0) {
		err_sys(e, errno, "timerfd_create");
		return NULL;
	}
	if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
		its.it_value.tv_nsec = 1; /* zero would disarm it */
	if (timerfd_settime(fd, 0, &its, NULL) < 0) {
		err_sys(e, errno, "timerfd_settime");
		close(fd);
		return NULL;
	}
	struct loop_source *s = source_new(loop, SOURCE_TIMER, fd, EPOLLIN, userdata, desc, e);
	if (!s) {
		close(fd);
		return NULL;
	}
	s->fn.timer = fn;
	return s;
}

struct loop_source *loop_add_defer(struct loop *loop, loop_defer_fn fn, void *userdata,
				   const char *desc, struct ember_error *e)
{
	struct loop_source *s = source_new(loop, SOURCE_DEFER, -1, 0, userdata, desc, e);

	if (s)
		s->fn.defer = fn;
	return s;
}

void loop_defer_arm(struct loop_source *s)
{
	if (s->armed || s->dead)
		return;
	s->armed = 1;
	s->next_armed = s->loop->armed;
	s->loop->armed = s;
}

struct loop_source *loop_source_free(struct loop_source *s)
{
	if (!s || s->dead)
		return NULL;
	if (s->fd >= 0)
		(void)epoll_ctl(s->loop->epfd, EPOLL_CTL_DEL, s->fd, NULL);
	s->dead = 1;
	return NULL;
}

struct loop *loop_source_loop(const struct loop_source *s)
{
	return s->loop;
}

void loop_exit(struct loop *loop, int code)
{
	loop->exiting = 1;
	loop->exit_code = code;
}

static void dispatch(struct loop_source *s, uint32_t events)
{
	if (s->dead)
		return;
	switch (s->type) {
	case SOURCE_IO:
		s->fn.io(s, s->fd, events, s->userdata);
		break;
	case SOURCE_SIGNAL: {
		struct signalfd_siginfo si;
		while (!s->dead && read(s->fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
			s->fn.signal(s, &si, s->userdata);
		break;
	}
	case SOURCE_TIMER: {
		uint64_t expirations;
		if (read(s->fd, &expirations, sizeof(expirations)) == (ssize_t)sizeof(expirations))
			s->fn.timer(s, s->userdata);
		break;
	}
	case SOURCE_DEFER:
		break;
	}
}

static void run_deferred(struct loop *loop)
{
	/* Deferred work may arm more; bound the rounds so a bug cannot spin. */
	for (int round = 0; loop->armed && round < 64; round++) {
		struct loop_source *list = loop->armed;
		loop->armed = NULL;
		while (list) {
			struct loop_source *s = list;
			list = s->next_armed;
			s->armed = 0;
			if (!s->dead)
				s->fn.defer(s, s->userdata);
		}
	}
}

int loop_run(struct loop *loop, struct ember_error *e)
{
	struct epoll_event events[32];

	while (!loop->exiting) {
		int timeout = loop->armed ? 0 : -1;
		int n = epoll_wait(loop->epfd, events, (int)ARRAY_SIZE(events), timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return err_sys(e, errno, "epoll_wait");
		}
		for (int i = 0; i < n; i++)
			dispatch(events[i].data.ptr, events[i].events);
		run_deferred(loop);
		reap_dead(loop);
	}
	return loop->exit_code;
}
