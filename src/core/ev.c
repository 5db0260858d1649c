/* SPDX-License-Identifier: BSD-2-Clause */
/* Per-worker epoll loop with a timer wheel and a lock-free mailbox. */
#include "core/ev.h"

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "core/tmr.h"

#define EV_BATCH 256
/* Jobs run per iteration: bounds the time one iteration spends on the
 * mailbox, so a flood of posts (or a job that re-posts itself) cannot
 * starve I/O and timers; the rest run on the next iteration without
 * sleeping. */
#define EV_JOB_BUDGET 1024
#define EV_WAKE_TAG UINT64_MAX
#define EV_CACHE_LINE 64

/* One fd registration. Owner: the loop. 'gen' changes on every add and
 * del, and is carried in the epoll event, so events queued for an earlier
 * registration of the same fd are recognised as stale and skipped. */
struct ev_fdrec {
    ev_io_fn *fn;
    void *arg; /* borrowed */
    uint32_t events;
    uint32_t gen;
    bool is_active;
};

struct ev_hook {
    ev_hook_fn *fn;
    void *arg; /* borrowed */
};

/*
 * Owner: the worker that runs it; every field but the mailbox head,
 * 'is_sleeping' and 'is_stop_requested' belongs to that thread. The
 * fields other threads write sit on their own cache lines.
 */
struct ev_loop {
    int epfd;
    int wakefd;
    struct ev_fdrec *fds; /* owned, indexed by fd */
    size_t fds_len;
    struct tmr_wheel *timers; /* owned */
    uint64_t now_ms;
    struct ev_hook *hooks; /* owned */
    size_t hooks_len;
    /* Vyukov's intrusive MPSC queue: producers exchange 'mb_head', the
     * consumer walks from 'mb_tail'; 'mb_stub' keeps the list non-empty so
     * a push is one exchange and one store. Jobs are borrowed while
     * queued. */
    struct ev_job *mb_tail;
    struct ev_job mb_stub;
    _Alignas(EV_CACHE_LINE) struct ev_job *_Atomic mb_head;
    /* Set by the consumer just before it may block in epoll_wait; a
     * producer that finds it set clears it and writes the eventfd, so a
     * busy loop costs posters no system call. */
    _Alignas(EV_CACHE_LINE) atomic_bool is_sleeping;
    atomic_bool is_stop_requested;
};

/* 0: not a worker (main or a helper thread); else worker id + 1, so the
 * main thread never shares a counter slot with worker 0. */
static _Thread_local unsigned thread_slot;

uint64_t ev_clock_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void ev_thread_set_worker(unsigned worker_id)
{
    thread_slot = worker_id + 1;
}

unsigned ev_thread_worker(void)
{
    return thread_slot ? thread_slot - 1 : 0;
}

unsigned ev_thread_slot(void)
{
    return thread_slot;
}

/* ---- mailbox ---- */

static void mb_push(struct ev_loop *loop, struct ev_job *job)
{
    atomic_store_explicit(&job->next, NULL, memory_order_relaxed);
    /* seq_cst: pairs with the consumer's store to is_sleeping followed by
     * its emptiness check (a Dekker handshake): either the consumer sees
     * this job, or the producer sees is_sleeping set. */
    struct ev_job *prev = atomic_exchange_explicit(&loop->mb_head, job, memory_order_seq_cst);
    atomic_store_explicit(&prev->next, job, memory_order_release);
}

static struct ev_job *mb_pop(struct ev_loop *loop)
{
    struct ev_job *tail = loop->mb_tail;
    struct ev_job *next = atomic_load_explicit(&tail->next, memory_order_acquire);
    if (tail == &loop->mb_stub) {
        if (!next)
            return NULL;
        loop->mb_tail = next;
        tail = next;
        next = atomic_load_explicit(&tail->next, memory_order_acquire);
    }
    if (next) {
        loop->mb_tail = next;
        return tail;
    }
    /* tail is the last job, unless a producer has exchanged the head but
     * not linked it yet; then come back on the next iteration. */
    if (tail != atomic_load_explicit(&loop->mb_head, memory_order_acquire))
        return NULL;
    mb_push(loop, &loop->mb_stub);
    next = atomic_load_explicit(&tail->next, memory_order_acquire);
    if (next) {
        loop->mb_tail = next;
        return tail;
    }
    return NULL;
}

/* Consumer side only. A half-linked push counts as non-empty. */
static bool mb_is_empty(struct ev_loop *loop)
{
    return loop->mb_tail == &loop->mb_stub &&
           atomic_load_explicit(&loop->mb_head, memory_order_seq_cst) == &loop->mb_stub;
}

static void wake(struct ev_loop *loop)
{
    uint64_t one = 1;
    /* EAGAIN means the counter is already non-zero: the loop will wake. */
    while (write(loop->wakefd, &one, sizeof(one)) < 0 && errno == EINTR)
        ;
}

static void drain_wakefd(struct ev_loop *loop)
{
    uint64_t v;
    while (read(loop->wakefd, &v, sizeof(v)) < 0 && errno == EINTR)
        ;
}

void ev_post(struct ev_loop *loop, struct ev_job *job)
{
    mb_push(loop, job);
    if (atomic_load_explicit(&loop->is_sleeping, memory_order_seq_cst) &&
        atomic_exchange_explicit(&loop->is_sleeping, false, memory_order_seq_cst))
        wake(loop);
}

static void run_jobs(struct ev_loop *loop)
{
    for (unsigned i = 0; i < EV_JOB_BUDGET; i++) {
        struct ev_job *job = mb_pop(loop);
        if (!job)
            return;
        job->fn(job); /* job now belongs to fn; do not touch it after */
    }
}

/* ---- loop ---- */

struct ev_loop *ev_loop_new(void)
{
    size_t size = (sizeof(struct ev_loop) + EV_CACHE_LINE - 1) & ~(size_t)(EV_CACHE_LINE - 1);
    struct ev_loop *loop = aligned_alloc(EV_CACHE_LINE, size);
    if (!loop)
        return NULL;
    memset(loop, 0, sizeof(*loop));
    loop->epfd = -1;
    loop->wakefd = -1;
    atomic_init(&loop->mb_stub.next, NULL);
    atomic_init(&loop->mb_head, &loop->mb_stub);
    loop->mb_tail = &loop->mb_stub;
    atomic_init(&loop->is_sleeping, false);
    atomic_init(&loop->is_stop_requested, false);

    loop->now_ms = ev_clock_now_ms();
    loop->timers = tmr_wheel_new(loop->now_ms);
    if (!loop->timers)
        goto fail;
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0)
        goto fail;
    loop->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (loop->wakefd < 0)
        goto fail;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EV_WAKE_TAG};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->wakefd, &ev) < 0)
        goto fail;
    return loop;

fail:;
    int err = errno;
    ev_loop_free(loop);
    errno = err;
    return NULL;
}

void ev_loop_free(struct ev_loop *loop)
{
    if (!loop)
        return;
    if (loop->epfd >= 0)
        close(loop->epfd);
    if (loop->wakefd >= 0)
        close(loop->wakefd);
    tmr_wheel_free(loop->timers);
    free(loop->fds);
    free(loop->hooks);
    free(loop);
}

static int fds_grow(struct ev_loop *loop, int fd)
{
    size_t need = (size_t)fd + 1;
    if (need <= loop->fds_len)
        return 0;
    size_t len = loop->fds_len ? loop->fds_len : 64;
    while (len < need)
        len *= 2;
    struct ev_fdrec *p = realloc(loop->fds, len * sizeof(*p));
    if (!p)
        return -ENOMEM;
    memset(p + loop->fds_len, 0, (len - loop->fds_len) * sizeof(*p));
    loop->fds = p;
    loop->fds_len = len;
    return 0;
}

static uint64_t event_tag(int fd, uint32_t gen)
{
    return (uint64_t)gen << 32 | (uint32_t)fd;
}

int ev_io_add(struct ev_loop *loop, int fd, uint32_t events, ev_io_fn *fn, void *arg)
{
    if (fd < 0 || !fn)
        return -EINVAL;
    int err = fds_grow(loop, fd);
    if (err)
        return err;
    struct ev_fdrec *r = &loop->fds[fd];
    if (r->is_active)
        return -EEXIST;
    uint32_t gen = r->gen + 1;
    struct epoll_event ev = {.events = events, .data.u64 = event_tag(fd, gen)};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
        return -errno;
    r->gen = gen;
    r->fn = fn;
    r->arg = arg;
    r->events = events;
    r->is_active = true;
    return 0;
}

int ev_io_mod(struct ev_loop *loop, int fd, uint32_t events)
{
    if (fd < 0 || (size_t)fd >= loop->fds_len || !loop->fds[fd].is_active)
        return -ENOENT;
    struct ev_fdrec *r = &loop->fds[fd];
    struct epoll_event ev = {.events = events, .data.u64 = event_tag(fd, r->gen)};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
        return -errno;
    r->events = events;
    return 0;
}

void ev_io_del(struct ev_loop *loop, int fd)
{
    if (fd < 0 || (size_t)fd >= loop->fds_len || !loop->fds[fd].is_active)
        return;
    struct ev_fdrec *r = &loop->fds[fd];
    /* Fails with EBADF when the caller closed fd first, which already
     * removed it from the epoll set; nothing to do then. */
    (void)epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
    r->is_active = false;
    r->gen++;
    r->fn = NULL;
    r->arg = NULL;
}

static void dispatch(struct ev_loop *loop, const struct epoll_event *evs, int n)
{
    for (int i = 0; i < n; i++) {
        uint64_t tag = evs[i].data.u64;
        if (tag == EV_WAKE_TAG) {
            drain_wakefd(loop);
            continue;
        }
        int fd = (int)(uint32_t)tag;
        /* Looked up afresh for every event: an earlier callback in this
         * batch may have deleted (or replaced) this registration. */
        if ((size_t)fd >= loop->fds_len)
            continue;
        struct ev_fdrec *r = &loop->fds[fd];
        if (!r->is_active || r->gen != (uint32_t)(tag >> 32))
            continue;
        r->fn(fd, evs[i].events, r->arg);
    }
}

static int wait_timeout(struct ev_loop *loop, int max_wait_ms)
{
    int64_t next = tmr_wheel_next_ms(loop->timers);
    int timeout = next < 0 ? -1 : (int)SW_MIN(next, (int64_t)INT_MAX);
    if (max_wait_ms >= 0 && (timeout < 0 || timeout > max_wait_ms))
        timeout = max_wait_ms;
    if (atomic_load_explicit(&loop->is_stop_requested, memory_order_relaxed))
        timeout = 0;
    if (timeout == 0)
        return 0;
    atomic_store_explicit(&loop->is_sleeping, true, memory_order_seq_cst);
    if (!mb_is_empty(loop))
        timeout = 0;
    return timeout;
}

int ev_loop_run_once(struct ev_loop *loop, int max_wait_ms)
{
    struct epoll_event evs[EV_BATCH];
    int timeout = wait_timeout(loop, max_wait_ms);
    int n = epoll_wait(loop->epfd, evs, EV_BATCH, timeout);
    int err = errno;
    atomic_store_explicit(&loop->is_sleeping, false, memory_order_relaxed);
    if (n < 0) {
        if (err != EINTR)
            return -err;
        n = 0;
    }

    /* The one clock read of the iteration, after the wait so that I/O
     * handlers and timers armed by them see the time events arrived. */
    loop->now_ms = ev_clock_now_ms();
    tmr_wheel_set_now(loop->timers, loop->now_ms);

    dispatch(loop, evs, n);
    tmr_wheel_advance(loop->timers, loop->now_ms);
    run_jobs(loop);
    for (size_t i = 0; i < loop->hooks_len; i++)
        loop->hooks[i].fn(loop->hooks[i].arg);
    return 0;
}

int ev_loop_run(struct ev_loop *loop)
{
    int err = 0;
    while (!atomic_load_explicit(&loop->is_stop_requested, memory_order_acquire)) {
        err = ev_loop_run_once(loop, -1);
        if (err)
            break;
    }
    atomic_store_explicit(&loop->is_stop_requested, false, memory_order_relaxed);
    return err;
}

void ev_loop_stop(struct ev_loop *loop)
{
    atomic_store_explicit(&loop->is_stop_requested, true, memory_order_seq_cst);
    wake(loop);
}

uint64_t ev_now_ms(const struct ev_loop *loop)
{
    return loop->now_ms;
}

struct tmr_wheel *ev_timers(struct ev_loop *loop)
{
    return loop->timers;
}

int ev_before_sleep_add(struct ev_loop *loop, ev_hook_fn *fn, void *arg)
{
    struct ev_hook *p = realloc(loop->hooks, (loop->hooks_len + 1) * sizeof(*p));
    if (!p)
        return -ENOMEM;
    p[loop->hooks_len++] = (struct ev_hook){fn, arg};
    loop->hooks = p;
    return 0;
}
