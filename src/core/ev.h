/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Event loop: one per worker thread, epoll based. Each iteration:
 *   epoll_wait (timeout = next timer) -> read the clock once -> dispatch
 *   I/O -> advance the timer wheel -> drain the mailbox (at most 1024 jobs;
 *   the rest next iteration, without sleeping) -> run before-sleep hooks
 *   (flush batched sendmmsg, etc.).
 * The clock is read after the wait (not before), so I/O handlers and the
 * timers they arm see the time their events arrived; timers armed during
 * an iteration count from that time (see tmr_wheel_set_now).
 * Everything except ev_post() and ev_loop_stop() must be called from the
 * loop's own thread.
 */
#ifndef SW_CORE_EV_H
#define SW_CORE_EV_H

#include "core/util.h"

#include <stdbool.h>
#include <stdint.h>

struct ev_loop;
struct tmr_wheel;

typedef void ev_io_fn(int fd, uint32_t events, void *arg);
typedef void ev_hook_fn(void *arg);

/* Cross-thread job. Embedded in whatever is handed over (e.g. a message
 * envelope); the poster gives up ownership until fn runs on the target
 * loop's thread, which then owns it. */
struct ev_job;
typedef void ev_job_fn(struct ev_job *job);
struct ev_job {
    struct ev_job *_Atomic next; /* private to ev.c (MPSC queue link) */
    ev_job_fn *fn;
};

/* Clock used by the loop: CLOCK_MONOTONIC in ms/us. */
uint64_t ev_clock_now_ms(void);

/* NULL on failure (errno set). */
struct ev_loop *ev_loop_new(void);
/* Closes the loop's own fds and frees it; registered fds are not closed,
 * armed timers are disarmed, jobs still queued are dropped unrun (stop
 * the posters first). */
void ev_loop_free(struct ev_loop *loop);

/* events: EPOLLIN/EPOLLOUT/... . One registration per fd (-EEXIST for a
 * second). -errno on failure; ev_io_mod gives -ENOENT for an unknown fd. */
int ev_io_add(struct ev_loop *loop, int fd, uint32_t events, ev_io_fn *fn,
              void *arg) warn_unused_result;
int ev_io_mod(struct ev_loop *loop, int fd, uint32_t events) warn_unused_result;
/* Safe to call from inside the fd's own callback and for fds whose events
 * are still pending in this iteration (they are then skipped). */
void ev_io_del(struct ev_loop *loop, int fd);

/* Runs until ev_loop_stop(). Returns 0, or -errno if epoll failed. */
int ev_loop_run(struct ev_loop *loop);
/* Runs one iteration waiting at most max_wait_ms (for tests). */
int ev_loop_run_once(struct ev_loop *loop, int max_wait_ms);
/* Thread-safe: makes ev_loop_run() return after the current iteration
 * (at once if it is called before ev_loop_run() starts). */
void ev_loop_stop(struct ev_loop *loop);

/* The time read at the start of this iteration. */
uint64_t ev_now_ms(const struct ev_loop *loop);
struct tmr_wheel *ev_timers(struct ev_loop *loop);

/* Called at the end of each iteration, in registration order. */
int ev_before_sleep_add(struct ev_loop *loop, ev_hook_fn *fn, void *arg) warn_unused_result;

/* Thread-safe, lock-free (MPSC queue + eventfd wake-up): queues job to run
 * on loop's thread. Used to hand a message to the worker that owns its
 * transaction or dialog without a lock on the message path. */
void ev_post(struct ev_loop *loop, struct ev_job *job);

/* Worker index of the calling thread (0 on the main thread), set by
 * ev_thread_set_worker(); used by per-worker counters and logging. */
void ev_thread_set_worker(unsigned worker_id);
unsigned ev_thread_worker(void);
/* 0 for a thread that is not a worker, worker id + 1 otherwise: a per-
 * thread slot index that the main thread never shares with worker 0. */
unsigned ev_thread_slot(void);

#endif
