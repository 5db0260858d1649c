/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for per-worker counters. */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/ev.h"
#include "core/log.h"
#include "core/metric.h"

static void test_metric_register_is_idempotent_and_findable(void **state)
{
    (void)state;
    size_t before = metric_count();
    metric_id a = metric_register("test_reg_total", "a test counter");
    metric_id b = metric_register("test_reg_other_total", NULL);
    assert_int_not_equal(a, 0);
    assert_int_not_equal(b, 0);
    assert_int_not_equal(a, b);
    assert_int_equal(metric_register("test_reg_total", "again"), a);
    assert_int_equal(metric_count(), before + 2);
    assert_int_equal(metric_find("test_reg_total"), a);
    assert_int_equal(metric_find("no_such_counter"), 0);
    assert_string_equal(metric_name(a), "test_reg_total");
    assert_string_equal(metric_help(a), "a test counter");
    assert_string_equal(metric_help(b), "");
    assert_null(metric_name((metric_id)(metric_count() + 1)));
}

static void test_metric_dummy_id_zero_absorbs_writes(void **state)
{
    (void)state;
    metric_inc(0);
    metric_add(0, 5);
    metric_add(METRIC_MAX + 3, 1); /* out of range: ignored */
    assert_int_equal(metric_read(METRIC_MAX + 3), 0);
    assert_non_null(metric_name(0));
}

#define THREADS 4
#define ADDS 100000

static metric_id mt_id;

static void *adder_main(void *arg)
{
    ev_thread_set_worker((unsigned)(uintptr_t)arg);
    for (int i = 0; i < ADDS; i++)
        metric_inc(mt_id);
    metric_add(mt_id, 10);
    return NULL;
}

static void test_metric_sums_across_four_worker_threads(void **state)
{
    (void)state;
    mt_id = metric_register("test_mt_total", "");
    metric_add(mt_id, 7); /* main thread, worker 0 */
    pthread_t th[THREADS];
    for (uintptr_t i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, adder_main, (void *)(i + 1)), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(metric_read(mt_id), 7 + THREADS * (ADDS + 10));
}

static void test_metric_dump_writes_counters_through_the_log(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
    metric_id id = metric_register("test_dump_total", "");
    metric_add(id, 12345);
    log_configure(LOG_LVL_NOTICE, LOG_FMT_TEXT, p[1]);
    metric_dump_log();
    log_configure(LOG_LVL_NOTICE, LOG_FMT_TEXT, 2);
    char buf[65536];
    ssize_t n = read(p[0], buf, sizeof(buf) - 1);
    assert_true(n > 0);
    buf[n] = '\0';
    assert_non_null(strstr(buf, " NOTICE [metric] test_dump_total 12345\n"));
    close(p[0]);
    close(p[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metric_register_is_idempotent_and_findable),
        cmocka_unit_test(test_metric_dummy_id_zero_absorbs_writes),
        cmocka_unit_test(test_metric_sums_across_four_worker_threads),
        cmocka_unit_test(test_metric_dump_writes_counters_through_the_log),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
