/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for the event loop: I/O, timers, mailbox, hooks, stop. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/ev.h"
#include "core/tmr.h"
#include "core/util.h"

/* Generous wall-clock bound for "eventually": a deadline, not an assertion
 * about speed. */
#define DEADLINE_MS 30000

static void make_pipe(int p[2])
{
    assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
}

/* ---- I/O ---- */

struct io_rec {
    struct ev_loop *loop;
    int calls;
    uint32_t events;
    char data[16];
    ssize_t got;
    int other_fd; /* deleted by this callback when >= 0 */
    bool del_self;
};

static void io_read(int fd, uint32_t events, void *arg)
{
    struct io_rec *r = arg;
    r->calls++;
    r->events = events;
    r->got = read(fd, r->data, sizeof(r->data));
    if (r->other_fd >= 0)
        ev_io_del(r->loop, r->other_fd);
    if (r->del_self)
        ev_io_del(r->loop, fd);
}

static void test_ev_io_callback_runs_when_pipe_is_readable(void **state)
{
    (void)state;
    struct ev_loop *loop = ev_loop_new();
    assert_non_null(loop);
    int p[2];
    make_pipe(p);
    struct io_rec r = {.loop = loop, .other_fd = -1};
    assert_int_equal(ev_io_add(loop, p[0], EPOLLIN, io_read, &r), 0);
    assert_int_equal(ev_loop_run_once(loop, 0), 0);
    assert_int_equal(r.calls, 0);
    assert_int_equal(write(p[1], "hi", 2), 2);
    uint64_t end = ev_clock_now_ms() + DEADLINE_MS;
    while (r.calls == 0 && ev_clock_now_ms() < end)
        assert_int_equal(ev_loop_run_once(loop, 1000), 0);
    assert_int_equal(r.calls, 1);
    assert_true(r.events & EPOLLIN);
    assert_int_equal(r.got, 2);
    assert_memory_equal(r.data, "hi", 2);
    ev_io_del(loop, p[0]);
    close(p[0]);
    close(p[1]);
    ev_loop_free(loop);
}

static void test_ev_io_add_twice_fails_and_mod_unknown_fails(void **state)
{
    (void)state;
    struct ev_loop *loop = ev_loop_new();
    int p[2];
    make_pipe(p);
    struct io_rec r = {.loop = loop, .other_fd = -1};
    assert_int_equal(ev_io_add(loop, p[0], EPOLLIN, io_read, &r), 0);
    assert_int_equal(ev_io_add(loop, p[0], EPOLLIN, io_read, &r), -EEXIST);
    assert_int_equal(ev_io_mod(loop, p[1], EPOLLOUT), -ENOENT);
    assert_int_equal(ev_io_add(loop, -1, EPOLLIN, io_read, &r), -EINVAL);
    assert_int_equal(ev_io_mod(loop, p[0], EPOLLIN | EPOLLRDHUP), 0);
    ev_io_del(loop, p[0]);
    ev_io_del(loop, p[0]); /* harmless */
    close(p[0]);
    close(p[1]);
    ev_loop_free(loop);
}

static void test_ev_fd_table_grows_for_high_fds(void **state)
{
    (void)state;
    struct ev_loop *loop = ev_loop_new();
    int p[2];
    make_pipe(p);
    int high = fcntl(p[0], F_DUPFD_CLOEXEC, 900);
    assert_true(high >= 900);
    struct io_rec r = {.loop = loop, .other_fd = -1};
    assert_int_equal(ev_io_add(loop, high, EPOLLIN, io_read, &r), 0);
    assert_int_equal(write(p[1], "x", 1), 1);
    uint64_t end = ev_clock_now_ms() + DEADLINE_MS;
    while (r.calls == 0 && ev_clock_now_ms() < end)
        assert_int_equal(ev_loop_run_once(loop, 1000), 0);
    assert_int_equal(r.calls, 1);
    ev_io_del(loop, high);
    close(high);
    close(p[0]);
    close(p[1]);
    ev_loop_free(loop);
}

static void test_ev_io_del_during_dispatch_skips_pending_event(void **state)
{
    (void)state;
    struct ev_loop *loop = ev_loop_new();
    int a[2], b[2];
    make_pipe(a);
    make_pipe(b);
    /* Both fds are ready in the same batch; whichever runs first deletes
     * the other, whose already-returned event must be skipped. */
    struct io_rec ra = {.loop = loop, .other_fd = b[0]};
    struct io_rec rb = {.loop = loop, .other_fd = a[0]};
    assert_int_equal(ev_io_add(loop, a[0], EPOLLIN, io_read, &ra), 0);
    assert_int_equal(ev_io_add(loop, b[0], EPOLLIN, io_read, &rb), 0);
    assert_int_equal(write(a[1], "1", 1), 1);
    assert_int_equal(write(b[1], "2", 1), 1);
    uint64_t end = ev_clock_now_ms() + DEADLINE_MS;
    while (ra.calls + rb.calls == 0 && ev_clock_now_ms() < end)
        assert_int_equal(ev_loop_run_once(loop, 1000), 0);
    assert_int_equal(ra.calls + rb.calls, 1);
    /* The survivor deletes itself from its own callback next time. */
    struct io_rec *survivor = ra.calls ? &ra : &rb;
    int fd = ra.calls ? a[0] : b[0];
    int wfd = ra.calls ? a[1] : b[1];
    survivor->other_fd = -1;
    survivor->del_self = true;
    assert_int_equal(write(wfd, "3", 1), 1);
    while (survivor->calls == 1 && ev_clock_now_ms() < end)
        assert_int_equal(ev_loop_run_once(loop, 1000), 0);
    assert_int_equal(survivor->calls, 2);
    assert_int_equal(write(wfd, "4", 1), 1);
    assert_int_equal(ev_loop_run_once(loop, 0), 0);
    assert_int_equal(survivor->calls, 2);
    /* And the fd can be registered again. */
    assert_int_equal(ev_io_add(loop, fd, EPOLLIN, io_read, survivor), 0);
    while (survivor->calls == 2 && ev_clock_now_ms() < end)
        assert_int_equal(ev_loop_run_once(loop, 1000), 0);
    assert_int_equal(survivor->calls, 3);
    ev_io_del(loop, fd);
    close(a[0]);
    close(a[1]);
    close(b[0]);
    close(b[1]);
    ev_loop_free(loop);
}

/* ---- mailbox ---- */

#define POSTERS 4
#define JOBS_PER_POSTER 10000

struct count_job {
    struct ev_job job;
    uint32_t id;
};

static uint8_t delivered[POSTERS * JOBS_PER_POSTER];
static size_t delivered_total;
static size_t wrong_thread;

static void count_job_run(struct ev_job *job)
{
    struct count_job *cj = SW_CONTAINER_OF(job, struct count_job, job);
    delivered[cj->id]++;
    delivered_total++;
    if (ev_thread_worker() != 7)
        wrong_thread++;
}

struct poster {
    pthread_t thread;
    struct ev_loop *loop;
    struct count_job *jobs;
};

static void *poster_main(void *arg)
{
    struct poster *p = arg;
    for (size_t i = 0; i < JOBS_PER_POSTER; i++)
        ev_post(p->loop, &p->jobs[i].job);
    return NULL;
}

static void test_ev_post_from_four_threads_delivers_each_job_once(void **state)
{
    (void)state;
    ev_thread_set_worker(7);
    struct ev_loop *loop = ev_loop_new();
    struct count_job *jobs = calloc(POSTERS * JOBS_PER_POSTER, sizeof(*jobs));
    struct poster posters[POSTERS];
    for (uint32_t i = 0; i < POSTERS * JOBS_PER_POSTER; i++) {
        jobs[i].id = i;
        jobs[i].job.fn = count_job_run;
    }
    memset(delivered, 0, sizeof(delivered));
    delivered_total = 0;
    wrong_thread = 0;
    for (int i = 0; i < POSTERS; i++) {
        posters[i] = (struct poster){.loop = loop, .jobs = jobs + i * JOBS_PER_POSTER};
        assert_int_equal(pthread_create(&posters[i].thread, NULL, poster_main, &posters[i]), 0);
    }
    /* Blocking waits (-1 would hang on a lost wake-up; the deadline turns
     * that into a failure). */
    uint64_t end = ev_clock_now_ms() + DEADLINE_MS;
    while (delivered_total < POSTERS * JOBS_PER_POSTER && ev_clock_now_ms() < end)
        assert_int_equal(ev_loop_run_once(loop, 5000), 0);
    for (int i = 0; i < POSTERS; i++)
        pthread_join(posters[i].thread, NULL);
    assert_int_equal(ev_loop_run_once(loop, 0), 0);
    assert_int_equal(delivered_total, POSTERS * JOBS_PER_POSTER);
    for (size_t i = 0; i < POSTERS * JOBS_PER_POSTER; i++)
        assert_int_equal(delivered[i], 1);
    assert_int_equal(wrong_thread, 0);
    ev_loop_free(loop);
    free(jobs);
    ev_thread_set_worker(0);
}

struct wake_job {
    struct ev_job job;
    atomic_int ran;
};

static void wake_job_run(struct ev_job *job)
{
    struct wake_job *wj = SW_CONTAINER_OF(job, struct wake_job, job);
    atomic_fetch_add(&wj->ran, 1);
}

struct stopper {
    struct ev_loop *loop;
    struct wake_job wj;
};

static void *stopper_main(void *arg)
{
    struct stopper *s = arg;
    /* First a job: proves a post wakes a loop blocked without timers. */
    ev_post(s->loop, &s->wj.job);
    uint64_t end = ev_clock_now_ms() + DEADLINE_MS;
    while (atomic_load(&s->wj.ran) == 0 && ev_clock_now_ms() < end)
        sched_yield();
    ev_loop_stop(s->loop);
    return NULL;
}

static void test_ev_loop_stop_from_another_thread_ends_run(void **state)
{
    (void)state;
    struct ev_loop *loop = ev_loop_new();
    struct stopper s = {.loop = loop};
    s.wj.job.fn = wake_job_run;
    atomic_init(&s.wj.ran, 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, stopper_main, &s), 0);
    /* No timers, no fds: only the posts and the stop can wake it. A lost
     * wake-up hangs here and the test harness timeout reports it. */
    assert_int_equal(ev_loop_run(loop), 0);
    pthread_join(th, NULL);
    assert_int_equal(atomic_load(&s.wj.ran), 1);

    /* A stop issued before run makes the next run return at once. */
    ev_loop_stop(loop);
    assert_int_equal(ev_loop_run(loop), 0);
    ev_loop_free(loop);
}

static struct ev_loop *self_loop;

static void self_repost_run(struct ev_job *job)
{
    struct count_job *cj = SW_CONTAINER_OF(job, struct count_job, job);
    delivered_total++;
    if (cj->id > 0) {
        cj->id--;
        ev_post(self_loop, job);
    }
}

static void test_ev_job_reposting_itself_does_not_starve_the_iteration(void **state)
{
    (void)state;
    self_loop = ev_loop_new();
    struct count_job cj = {.id = 5000};
    cj.job.fn = self_repost_run;
    delivered_total = 0;
    ev_post(self_loop, &cj.job);
    assert_int_equal(ev_loop_run_once(self_loop, 0), 0);
    /* One iteration runs a bounded number of jobs... */
    assert_true(delivered_total > 0 && delivered_total < 5001);
    /* ...and the loop does not sleep while jobs remain. */
    int iterations = 0;
    while (delivered_total < 5001) {
        assert_int_equal(ev_loop_run_once(self_loop, -1), 0);
        assert_true(++iterations < 100);
    }
    ev_loop_free(self_loop);
}

/* ---- timers and phases ---- */

static int order_log[16];
static size_t order_len;

static void note(int what)
{
    if (order_len < SW_ARRAY_LEN(order_log))
        order_log[order_len++] = what;
}

static void tmr_note(struct tmr *t, void *arg)
{
    (void)t;
    note((int)(intptr_t)arg);
}

static void test_ev_timers_fire_through_the_loop(void **state)
{
    (void)state;
    struct ev_loop *loop = ev_loop_new();
    struct tmr t;
    tmr_init(&t, tmr_note, (void *)(intptr_t)42);
    order_len = 0;
    assert_int_equal(ev_loop_run_once(loop, 0), 0);
    uint64_t start = ev_now_ms(loop);
    tmr_start(ev_timers(loop), &t, 20);
    uint64_t end = ev_clock_now_ms() + DEADLINE_MS;
    /* Blocking run: the epoll timeout comes from the timer wheel. */
    while (order_len == 0 && ev_clock_now_ms() < end)
        assert_int_equal(ev_loop_run_once(loop, -1), 0);
    assert_int_equal(order_len, 1);
    assert_int_equal(order_log[0], 42);
    assert_true(ev_now_ms(loop) >= start + 20);
    ev_loop_free(loop);
}

static void test_ev_loop_free_disarms_timers(void **state)
{
    (void)state;
    struct ev_loop *loop = ev_loop_new();
    struct tmr t;
    tmr_init(&t, tmr_note, NULL);
    tmr_start(ev_timers(loop), &t, 100000);
    ev_loop_free(loop);
    assert_false(tmr_is_armed(&t));
}

static void hook_note(void *arg)
{
    note((int)(intptr_t)arg);
}

static void io_note(int fd, uint32_t events, void *arg)
{
    char buf[8];
    (void)events;
    (void)read(fd, buf, sizeof(buf));
    note((int)(intptr_t)arg);
}

static void job_note(struct ev_job *job)
{
    (void)job;
    note(3);
}

static void test_ev_iteration_runs_io_timers_jobs_then_hooks_in_order(void **state)
{
    (void)state;
    struct ev_loop *loop = ev_loop_new();
    int p[2];
    make_pipe(p);
    assert_int_equal(ev_io_add(loop, p[0], EPOLLIN, io_note, (void *)(intptr_t)1), 0);
    assert_int_equal(ev_before_sleep_add(loop, hook_note, (void *)(intptr_t)4), 0);
    assert_int_equal(ev_before_sleep_add(loop, hook_note, (void *)(intptr_t)5), 0);
    assert_int_equal(ev_before_sleep_add(loop, hook_note, (void *)(intptr_t)6), 0);
    assert_int_equal(ev_loop_run_once(loop, 0), 0);

    struct tmr t;
    tmr_init(&t, tmr_note, (void *)(intptr_t)2);
    tmr_start(ev_timers(loop), &t, 1);
    /* Let the clock pass the deadline (a deadline loop, not a sleep). */
    uint64_t due = ev_now_ms(loop) + 2;
    while (ev_clock_now_ms() < due)
        ;
    struct ev_job job = {.fn = job_note};
    ev_post(loop, &job);
    assert_int_equal(write(p[1], "x", 1), 1);
    order_len = 0;
    assert_int_equal(ev_loop_run_once(loop, 1000), 0);
    assert_int_equal(order_len, 6);
    for (int i = 0; i < 6; i++)
        assert_int_equal(order_log[i], i + 1);
    ev_io_del(loop, p[0]);
    close(p[0]);
    close(p[1]);
    ev_loop_free(loop);
}

/* ---- thread identity ---- */

static void *worker_id_main(void *arg)
{
    unsigned *out = arg;
    out[0] = ev_thread_worker();
    ev_thread_set_worker(3);
    out[1] = ev_thread_worker();
    return NULL;
}

static void test_ev_thread_worker_is_per_thread(void **state)
{
    (void)state;
    ev_thread_set_worker(0);
    unsigned seen[2] = {99, 99};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, worker_id_main, seen), 0);
    pthread_join(th, NULL);
    assert_int_equal(seen[0], 0);
    assert_int_equal(seen[1], 3);
    assert_int_equal(ev_thread_worker(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ev_io_callback_runs_when_pipe_is_readable),
        cmocka_unit_test(test_ev_io_add_twice_fails_and_mod_unknown_fails),
        cmocka_unit_test(test_ev_fd_table_grows_for_high_fds),
        cmocka_unit_test(test_ev_io_del_during_dispatch_skips_pending_event),
        cmocka_unit_test(test_ev_post_from_four_threads_delivers_each_job_once),
        cmocka_unit_test(test_ev_loop_stop_from_another_thread_ends_run),
        cmocka_unit_test(test_ev_job_reposting_itself_does_not_starve_the_iteration),
        cmocka_unit_test(test_ev_timers_fire_through_the_loop),
        cmocka_unit_test(test_ev_loop_free_disarms_timers),
        cmocka_unit_test(test_ev_iteration_runs_io_timers_jobs_then_hooks_in_order),
        cmocka_unit_test(test_ev_thread_worker_is_per_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
