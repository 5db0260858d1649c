/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for the timer wheel, driven by a fake clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/tmr.h"
#include "core/util.h"

static uint64_t rng_state;

static uint64_t rnd(void)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

/* ---- randomised soak: many timers, stops, uneven clock steps ---- */

struct ent {
    struct tmr t;
    uint64_t deadline;
    uint32_t fired;
    bool is_stopped;
};

struct soak {
    struct tmr_wheel *w;
    struct ent *ents;
    uint64_t start_ms;
    uint64_t prev_target;
    uint64_t cur_target;
    size_t fired;
    size_t early;
    size_t late;
    size_t after_stop;
};

static struct soak soak;

static uint64_t effective_deadline(const struct ent *e)
{
    /* A deadline at the creation time itself fires at the first advance. */
    return SW_MAX(e->deadline, soak.start_ms + 1);
}

static void soak_fire(struct tmr *t, void *arg)
{
    struct ent *e = arg;
    (void)t;
    e->fired++;
    soak.fired++;
    if (e->is_stopped)
        soak.after_stop++;
    uint64_t eff = effective_deadline(e);
    if (eff > soak.cur_target || tmr_wheel_now_ms(soak.w) < e->deadline)
        soak.early++;
    if (eff <= soak.prev_target)
        soak.late++;
}

static struct ent *sort_base;

static int by_deadline(const void *a, const void *b)
{
    uint64_t da = sort_base[*(const uint32_t *)a].deadline;
    uint64_t db = sort_base[*(const uint32_t *)b].deadline;
    return da < db ? -1 : da > db;
}

static void stop_ent(struct ent *e)
{
    if (tmr_is_armed(&e->t)) {
        tmr_stop(&e->t);
        e->is_stopped = true;
    }
}

/* Arms n timers with delays in [0, max_delay), stops a third of them (half
 * before the run, half during it), advances in uneven steps of up to
 * max_step and checks: every remaining timer fires exactly once, never
 * before its deadline, no later than the step passing it; next_ms never
 * overestimates. */
static void run_soak(size_t n, uint64_t max_delay, uint64_t max_step, uint64_t seed)
{
    rng_state = seed;
    memset(&soak, 0, sizeof(soak));
    soak.start_ms = 1000000 + rnd() % 100000;
    soak.w = tmr_wheel_new(soak.start_ms);
    assert_non_null(soak.w);
    soak.ents = calloc(n, sizeof(*soak.ents));
    assert_non_null(soak.ents);
    uint32_t *order = malloc(n * sizeof(*order));
    assert_non_null(order);

    uint64_t last_deadline = 0;
    for (size_t i = 0; i < n; i++) {
        struct ent *e = &soak.ents[i];
        uint64_t delay = (i % 16 == 0) ? rnd() % 600 : rnd() % max_delay;
        tmr_init(&e->t, soak_fire, e);
        tmr_start(soak.w, &e->t, delay);
        e->deadline = soak.start_ms + delay;
        last_deadline = SW_MAX(last_deadline, e->deadline);
        order[i] = (uint32_t)i;
    }
    assert_int_equal(tmr_wheel_count(soak.w), n);
    sort_base = soak.ents;
    qsort(order, n, sizeof(*order), by_deadline);

    size_t armed = n;
    for (size_t i = 0; i < n; i += 6) {
        stop_ent(&soak.ents[i]);
        armed--;
    }
    assert_int_equal(tmr_wheel_count(soak.w), armed);

    uint64_t now = soak.start_ms;
    size_t k = 0, steps = 0;
    soak.prev_target = now;
    while (now <= last_deadline) {
        while (k < n && !tmr_is_armed(&soak.ents[order[k]].t))
            k++;
        int64_t next = tmr_wheel_next_ms(soak.w);
        if (k < n) {
            assert_true(next >= 0);
            assert_true(now + (uint64_t)next <= effective_deadline(&soak.ents[order[k]]));
        } else {
            assert_int_equal(next, -1);
        }

        uint64_t step;
        switch (rnd() % 3) {
        case 0:
            step = 1 + rnd() % 16;
            break;
        case 1:
            step = 1 + rnd() % 5000;
            break;
        default:
            step = 1 + rnd() % max_step;
            break;
        }
        now += step;
        soak.cur_target = now;
        tmr_wheel_advance(soak.w, now);
        soak.prev_target = now;
        if (++steps == 20) {
            for (size_t i = 3; i < n; i += 6)
                stop_ent(&soak.ents[i]);
        }
    }

    assert_int_equal(soak.early, 0);
    assert_int_equal(soak.late, 0);
    assert_int_equal(soak.after_stop, 0);
    assert_int_equal(tmr_wheel_count(soak.w), 0);
    assert_int_equal(tmr_wheel_next_ms(soak.w), -1);
    size_t expected = 0;
    for (size_t i = 0; i < n; i++) {
        struct ent *e = &soak.ents[i];
        assert_int_equal(e->fired, e->is_stopped ? 0 : 1);
        expected += !e->is_stopped;
    }
    assert_int_equal(soak.fired, expected);
    assert_true(expected < n - n / 4); /* about a third was stopped */
    tmr_wheel_free(soak.w);
    free(soak.ents);
    free(order);
}

static void test_tmr_million_timers_fire_once_within_their_step(void **state)
{
    (void)state;
    /* Up to 6 h: exercises every wheel level. */
    run_soak(1000000, 6ull * 3600 * 1000, 400000, 0x9e3779b97f4a7c15ull);
}

static void test_tmr_fine_steps_through_many_cascades(void **state)
{
    (void)state;
    run_soak(50000, 300000, 3000, 777);
}

static void test_tmr_timers_beyond_wheel_span_go_through_overflow(void **state)
{
    (void)state;
    /* Up to 10 days, far beyond the 18.6 h the levels cover. */
    for (uint64_t seed = 1; seed <= 4; seed++)
        run_soak(20000, 10ull * 24 * 3600 * 1000, seed * 3600 * 1000, seed * 12345);
}

/* ---- behaviour of single timers ---- */

struct rec {
    struct tmr t;
    struct tmr_wheel *w;
    int id;
    int fired;
    uint64_t fired_at;
    struct tmr *victim;     /* stopped by this timer's callback */
    struct tmr *restart;    /* restarted by this timer's callback */
    uint64_t restart_delay; /* for restart, or for self when restart == t */
    int max_fires;
};

static int log_ids[64];
static size_t log_len;

static void rec_fire(struct tmr *t, void *arg)
{
    struct rec *r = arg;
    (void)t;
    r->fired++;
    r->fired_at = tmr_wheel_now_ms(r->w);
    if (log_len < SW_ARRAY_LEN(log_ids))
        log_ids[log_len++] = r->id;
    if (r->victim)
        tmr_stop(r->victim);
    if (r->restart && (r->max_fires == 0 || r->fired < r->max_fires))
        tmr_start(r->w, r->restart, r->restart_delay);
}

static void rec_init(struct rec *r, struct tmr_wheel *w, int id)
{
    memset(r, 0, sizeof(*r));
    r->w = w;
    r->id = id;
    tmr_init(&r->t, rec_fire, r);
}

static void test_tmr_fires_in_deadline_order_across_one_big_step(void **state)
{
    (void)state;
    struct tmr_wheel *w = tmr_wheel_new(0);
    struct rec r[6];
    const uint64_t delays[6] = {30, 10, 20, 10, 70000, 300};
    for (int i = 0; i < 6; i++) {
        rec_init(&r[i], w, i);
        tmr_start(w, &r[i].t, delays[i]);
    }
    log_len = 0;
    assert_int_equal(tmr_wheel_advance(w, 100000), 6);
    const int expect[6] = {1, 3, 2, 0, 5, 4};
    assert_int_equal(log_len, 6);
    for (int i = 0; i < 6; i++)
        assert_int_equal(log_ids[i], expect[i]);
    tmr_wheel_free(w);
}

static void test_tmr_callback_stops_timer_due_in_same_tick(void **state)
{
    (void)state;
    struct tmr_wheel *w = tmr_wheel_new(500);
    struct rec a, b;
    rec_init(&a, w, 1);
    rec_init(&b, w, 2);
    a.victim = &b.t;
    tmr_start(w, &a.t, 5);
    tmr_start(w, &b.t, 5);
    assert_int_equal(tmr_wheel_advance(w, 600), 1);
    assert_int_equal(a.fired, 1);
    assert_int_equal(b.fired, 0);
    assert_false(tmr_is_armed(&b.t));
    assert_int_equal(tmr_wheel_count(w), 0);
    tmr_wheel_free(w);
}

static void test_tmr_callback_stopping_itself_is_harmless(void **state)
{
    (void)state;
    struct tmr_wheel *w = tmr_wheel_new(0);
    struct rec a;
    rec_init(&a, w, 1);
    a.victim = &a.t;
    tmr_start(w, &a.t, 3);
    assert_int_equal(tmr_wheel_advance(w, 10), 1);
    assert_int_equal(tmr_wheel_count(w), 0);
    tmr_wheel_free(w);
}

static void test_tmr_callback_restarts_itself_periodically(void **state)
{
    (void)state;
    struct tmr_wheel *w = tmr_wheel_new(0);
    struct rec a;
    rec_init(&a, w, 1);
    a.restart = &a.t;
    a.restart_delay = 7;
    a.max_fires = 10;
    tmr_start(w, &a.t, 7);
    for (uint64_t now = 1; now <= 200; now++) {
        int before = a.fired;
        tmr_wheel_advance(w, now);
        if (a.fired != before)
            assert_int_equal(a.fired_at, (uint64_t)a.fired * 7);
    }
    assert_int_equal(a.fired, 10);
    assert_false(tmr_is_armed(&a.t));
    tmr_wheel_free(w);
}

static void test_tmr_callback_restart_with_zero_delay_does_not_spin(void **state)
{
    (void)state;
    struct tmr_wheel *w = tmr_wheel_new(0);
    struct rec a;
    rec_init(&a, w, 1);
    a.restart = &a.t;
    a.restart_delay = 0;
    tmr_start(w, &a.t, 10);
    assert_int_equal(tmr_wheel_advance(w, 10), 1);
    assert_true(tmr_is_armed(&a.t));
    assert_int_equal(tmr_wheel_advance(w, 10), 0);
    assert_int_equal(tmr_wheel_advance(w, 11), 1);
    tmr_wheel_free(w);
}

static void test_tmr_callback_postpones_timer_due_next(void **state)
{
    (void)state;
    struct tmr_wheel *w = tmr_wheel_new(0);
    struct rec a, b;
    rec_init(&a, w, 1);
    rec_init(&b, w, 2);
    a.restart = &b.t;
    a.restart_delay = 50;
    tmr_start(w, &a.t, 20);
    tmr_start(w, &b.t, 20);
    assert_int_equal(tmr_wheel_advance(w, 25), 1);
    assert_int_equal(b.fired, 0);
    assert_true(tmr_is_armed(&b.t));
    assert_int_equal(tmr_wheel_next_ms(w), 50);
    assert_int_equal(tmr_wheel_advance(w, 74), 0);
    assert_int_equal(tmr_wheel_advance(w, 75), 1);
    assert_int_equal(b.fired_at, 75);
    tmr_wheel_free(w);
}

static void test_tmr_callback_starts_new_timer_due_within_same_advance(void **state)
{
    (void)state;
    struct tmr_wheel *w = tmr_wheel_new(0);
    struct rec a, b;
    rec_init(&a, w, 1);
    rec_init(&b, w, 2);
    a.restart = &b.t;
    a.restart_delay = 5; /* measured from the wheel clock, 1000 */
    tmr_start(w, &a.t, 10);
    assert_int_equal(tmr_wheel_advance(w, 1000), 1);
    assert_int_equal(tmr_wheel_advance(w, 1004), 0);
    assert_int_equal(tmr_wheel_advance(w, 1005), 1);
    tmr_wheel_free(w);
}

static void test_tmr_next_ms_reports_earliest_deadline(void **state)
{
    (void)state;
    struct tmr_wheel *w = tmr_wheel_new(1000);
    struct rec a, far;
    rec_init(&a, w, 1);
    rec_init(&far, w, 2);
    assert_int_equal(tmr_wheel_next_ms(w), -1);
    tmr_start(w, &a.t, 50);
    assert_int_equal(tmr_wheel_next_ms(w), 50);
    tmr_wheel_advance(w, 1020);
    assert_int_equal(tmr_wheel_next_ms(w), 30);
    tmr_wheel_set_now(w, 1100);
    assert_int_equal(tmr_wheel_next_ms(w), 0);
    assert_int_equal(tmr_wheel_advance(w, 1100), 1);
    assert_int_equal(tmr_wheel_next_ms(w), -1);

    /* A far timer: next_ms may underestimate but never overshoots, and
     * following it reaches the deadline in a few wake-ups. */
    const uint64_t delay = 5ull * 3600 * 1000 + 12345;
    tmr_start(w, &far.t, delay);
    uint64_t deadline = 1100 + delay;
    int wakeups = 0;
    while (!far.fired) {
        int64_t n = tmr_wheel_next_ms(w);
        assert_true(n >= 0);
        uint64_t now = tmr_wheel_now_ms(w);
        assert_true(now + (uint64_t)n <= deadline);
        tmr_wheel_advance(w, now + (n ? (uint64_t)n : 1));
        assert_true(++wakeups < 20);
    }
    assert_int_equal(far.fired_at, deadline);
    tmr_stop(&far.t);
    tmr_wheel_free(w);
}

static void test_tmr_start_twice_rearms_and_stop_is_idempotent(void **state)
{
    (void)state;
    struct tmr_wheel *w = tmr_wheel_new(0);
    struct rec a;
    rec_init(&a, w, 1);
    assert_false(tmr_is_armed(&a.t));
    tmr_stop(&a.t);
    tmr_start(w, &a.t, 10);
    tmr_start(w, &a.t, 40);
    assert_int_equal(tmr_wheel_count(w), 1);
    assert_int_equal(tmr_wheel_advance(w, 39), 0);
    assert_int_equal(tmr_wheel_advance(w, 40), 1);
    tmr_stop(&a.t);
    tmr_stop(&a.t);
    assert_int_equal(tmr_wheel_count(w), 0);
    tmr_wheel_free(w);
}

static void test_tmr_clock_never_goes_backwards(void **state)
{
    (void)state;
    struct tmr_wheel *w = tmr_wheel_new(100);
    struct rec a;
    rec_init(&a, w, 1);
    tmr_wheel_advance(w, 200);
    tmr_wheel_advance(w, 150);
    assert_int_equal(tmr_wheel_now_ms(w), 200);
    tmr_start(w, &a.t, 10);
    assert_int_equal(tmr_wheel_advance(w, 209), 0);
    assert_int_equal(tmr_wheel_advance(w, 210), 1);
    tmr_wheel_free(w);
}

static void test_tmr_set_now_moves_start_base_without_firing(void **state)
{
    (void)state;
    struct tmr_wheel *w = tmr_wheel_new(0);
    struct rec a, b;
    rec_init(&a, w, 1);
    rec_init(&b, w, 2);
    tmr_start(w, &a.t, 10);
    tmr_wheel_set_now(w, 5000);
    assert_int_equal(a.fired, 0);
    tmr_start(w, &b.t, 100); /* due at 5100, not 100 */
    assert_int_equal(tmr_wheel_advance(w, 5000), 1);
    assert_int_equal(a.fired, 1);
    assert_int_equal(tmr_wheel_advance(w, 5099), 0);
    assert_int_equal(tmr_wheel_advance(w, 5100), 1);
    tmr_wheel_free(w);
}

static void test_tmr_huge_delay_saturates_and_never_fires(void **state)
{
    (void)state;
    struct tmr_wheel *w = tmr_wheel_new(7);
    struct rec a;
    rec_init(&a, w, 1);
    tmr_start(w, &a.t, UINT64_MAX);
    assert_int_equal(tmr_wheel_advance(w, 1ull << 40), 0);
    assert_true(tmr_is_armed(&a.t));
    assert_true(tmr_wheel_next_ms(w) > 0);
    tmr_wheel_free(w);
    assert_false(tmr_is_armed(&a.t));
}

static void test_tmr_wheel_free_disarms_armed_timers(void **state)
{
    (void)state;
    struct tmr_wheel *w = tmr_wheel_new(0);
    struct rec r[3];
    const uint64_t delays[3] = {1, 1000, 1ull << 30};
    for (int i = 0; i < 3; i++) {
        rec_init(&r[i], w, i);
        tmr_start(w, &r[i].t, delays[i]);
    }
    tmr_wheel_free(w);
    for (int i = 0; i < 3; i++) {
        assert_false(tmr_is_armed(&r[i].t));
        assert_int_equal(r[i].fired, 0);
        tmr_stop(&r[i].t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tmr_million_timers_fire_once_within_their_step),
        cmocka_unit_test(test_tmr_fine_steps_through_many_cascades),
        cmocka_unit_test(test_tmr_timers_beyond_wheel_span_go_through_overflow),
        cmocka_unit_test(test_tmr_fires_in_deadline_order_across_one_big_step),
        cmocka_unit_test(test_tmr_callback_stops_timer_due_in_same_tick),
        cmocka_unit_test(test_tmr_callback_stopping_itself_is_harmless),
        cmocka_unit_test(test_tmr_callback_restarts_itself_periodically),
        cmocka_unit_test(test_tmr_callback_restart_with_zero_delay_does_not_spin),
        cmocka_unit_test(test_tmr_callback_postpones_timer_due_next),
        cmocka_unit_test(test_tmr_callback_starts_new_timer_due_within_same_advance),
        cmocka_unit_test(test_tmr_next_ms_reports_earliest_deadline),
        cmocka_unit_test(test_tmr_start_twice_rearms_and_stop_is_idempotent),
        cmocka_unit_test(test_tmr_clock_never_goes_backwards),
        cmocka_unit_test(test_tmr_set_now_moves_start_base_without_firing),
        cmocka_unit_test(test_tmr_huge_delay_saturates_and_never_fires),
        cmocka_unit_test(test_tmr_wheel_free_disarms_armed_timers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
