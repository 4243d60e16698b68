/* SPDX-License-Identifier: Apache-2.0 */
#ifndef EMBER_UTIL_LOOP_H
#define EMBER_UTIL_LOOP_H

/*
 * The daemon's single-threaded event loop: epoll over typed sources (io,
 * signals through a signalfd, timers through timerfds, deferred work).
 * Callbacks never block. A source may be freed at any time, also from
 * inside any callback: its memory lives until the end of the iteration, and
 * events already fetched for it are dropped.
 */

#include <signal.h>
#include <stdint.h>
#include <sys/signalfd.h>

#include <ember/error.h>

struct loop;
struct loop_source;

typedef void (*loop_io_fn)(struct loop_source *s, int fd, uint32_t events, void *userdata);
typedef void (*loop_signal_fn)(struct loop_source *s, const struct signalfd_siginfo *si,
			       void *userdata);
typedef void (*loop_timer_fn)(struct loop_source *s, void *userdata);
typedef void (*loop_defer_fn)(struct loop_source *s, void *userdata);

struct loop *loop_new(struct ember_error *e);
struct loop *loop_free(struct loop *loop);

/* Watch fd (not owned) for epoll events (EPOLLIN, EPOLLOUT ...). */
struct loop_source *loop_add_io(struct loop *loop, int fd, uint32_t events, loop_io_fn fn,
				void *userdata, const char *desc, struct ember_error *e);
int loop_io_set_events(struct loop_source *s, uint32_t events);

/* Block the signals in set and deliver them through fn. */
struct loop_source *loop_add_signals(struct loop *loop, const sigset_t *set, loop_signal_fn fn,
				     void *userdata, struct ember_error *e);

/* Fire after first_ms, then every interval_ms (0: once). */
struct loop_source *loop_add_timer(struct loop *loop, uint64_t first_ms, uint64_t interval_ms,
				   loop_timer_fn fn, void *userdata, const char *desc,
				   struct ember_error *e);

/* Work that runs once, after the current round of events, each time the
   source is armed with loop_defer_arm(). */
struct loop_source *loop_add_defer(struct loop *loop, loop_defer_fn fn, void *userdata,
				   const char *desc, struct ember_error *e);
void loop_defer_arm(struct loop_source *s);

/* Remove and free a source (NULL is fine); returns NULL. */
struct loop_source *loop_source_free(struct loop_source *s);

struct loop *loop_source_loop(const struct loop_source *s);

/* Run until loop_exit(); returns the exit code. */
int loop_run(struct loop *loop, struct ember_error *e);
void loop_exit(struct loop *loop, int code);

/* Monotonic milliseconds. */
uint64_t loop_now_ms(void);

#endif
