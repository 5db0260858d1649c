/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for dispatcher sets: algorithms, failover order, health, probes, config. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "app/routing/disp.h"
#include "core/ev.h"
#include "core/htab.h"
#include "core/metric.h"

struct tc {
    struct cfg_list dispatchers;
};

static const struct cfg_opt opts[] = {
    DISP_CFG_OPT(struct tc, dispatchers),
    CFG_END,
};

static struct tc g_conf;

/* Loads 'yaml' and builds the sets; the config is freed at once (disp
 * copies what it needs). */
static struct disp *build(const char *yaml)
{
    char err[256];
    struct disp *d;

    if (cfg_load_buf(opts, &g_conf, yaml, strlen(yaml), "d.yaml", err, sizeof(err)) != 0)
        fail_msg("%s", err);
    d = disp_new(&g_conf.dispatchers, err, sizeof(err));
    if (d == NULL)
        fail_msg("%s", err);
    cfg_free(opts, &g_conf);
    return d;
}

static void expect_error(const char *yaml, const char *want)
{
    char err[256];

    assert_int_equal(cfg_load_buf(opts, &g_conf, yaml, strlen(yaml), "d.yaml", err, sizeof(err)),
                     -EINVAL);
    if (strcmp(err, want) != 0)
        fail_msg("got '%s', want '%s'", err, want);
}

static struct sipmsg *msg_new(const char *call_id, const char *from_user)
{
    char buf[512];
    struct sip_limits lim = SIP_LIMITS_DEFAULT;
    struct sip_err e;
    struct sipmsg *m;
    int n = snprintf(buf, sizeof(buf),
                     "INVITE sip:bob@example.test SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n"
                     "From: <sip:%s@example.test>;tag=1\r\n"
                     "To: <sip:bob@example.test>\r\n"
                     "Call-ID: %s\r\n"
                     "CSeq: 1 INVITE\r\n"
                     "Max-Forwards: 70\r\n"
                     "Content-Length: 0\r\n\r\n",
                     from_user, call_id);

    m = sipmsg_new(buf, (size_t)n, &lim);
    assert_non_null(m);
    assert_int_equal(sipmsg_parse(m, &e), SIP_PARSE_OK);
    return m;
}

/* Index of the first pick for msg. */
static size_t first_pick(struct disp_set *s, const struct sipmsg *msg)
{
    struct disp_dest *out[DISP_MAX_DESTS];

    assert_true(disp_select(s, msg, out, DISP_MAX_DESTS) > 0);
    for (size_t i = 0; i < disp_set_size(s); i++)
        if (disp_set_dest(s, i) == out[0])
            return i;
    fail_msg("picked a destination not in the set");
    return 0;
}

/* The failover list as destination indexes, e.g. "2,0,1". */
static const char *order_str(struct disp_set *s, const struct sipmsg *msg, char *buf, size_t len)
{
    struct disp_dest *out[DISP_MAX_DESTS];
    size_t n = disp_select(s, msg, out, DISP_MAX_DESTS), used = 0;

    buf[0] = '\0';
    for (size_t k = 0; k < n; k++)
        for (size_t i = 0; i < disp_set_size(s); i++)
            if (disp_set_dest(s, i) == out[k])
                used += (size_t)snprintf(buf + used, len - used, "%s%zu", k ? "," : "", i);
    return buf;
}

static void set_down(struct disp_set *s, size_t i)
{
    for (int k = 0; k < 3; k++)
        disp_probe_result(s, disp_set_dest(s, i), false);
    assert_false(disp_dest_is_up(disp_set_dest(s, i)));
}

#define THREE                                                                                      \
    "    destinations: [\"sip:127.0.0.1:5070\", \"sip:127.0.0.1:5071\", \"sip:127.0.0.1:5072\"]\n"

static void test_disp_round_robin_takes_turns_and_fails_over_in_order(void **state)
{
    struct disp *d = build("dispatchers:\n  rr:\n" THREE);
    struct disp_set *s = disp_find(d, SLICE_LIT("rr"));
    char buf[64];

    (void)state;
    assert_non_null(s);
    assert_int_equal(disp_set_alg(s), DISP_ROUND_ROBIN);
    assert_string_equal(order_str(s, NULL, buf, sizeof(buf)), "0,1,2");
    assert_string_equal(order_str(s, NULL, buf, sizeof(buf)), "1,2,0");
    assert_string_equal(order_str(s, NULL, buf, sizeof(buf)), "2,0,1");
    assert_string_equal(order_str(s, NULL, buf, sizeof(buf)), "0,1,2");
    disp_free(d);
}

static void test_disp_weighted_split_is_exact_and_smooth(void **state)
{
    struct disp *d =
        build("dispatchers:\n  w:\n    algorithm: weighted\n"
              "    destinations: [\"sip:10.0.0.1;weight=5\", \"sip:10.0.0.2;weight=3\","
              " \"sip:10.0.0.3;weight=2\"]\n");
    struct disp_set *s = disp_find(d, SLICE_LIT("w"));
    unsigned count[3] = {0}, first10[3] = {0};

    (void)state;
    for (int i = 0; i < 1000; i++) {
        size_t k = first_pick(s, NULL);
        count[k]++;
        if (i < 10)
            first10[k]++;
    }
    /* smooth WRR: exact over every window of sum(weights) = 10 picks */
    assert_int_equal(count[0], 500);
    assert_int_equal(count[1], 300);
    assert_int_equal(count[2], 200);
    assert_int_equal(first10[0], 5);
    assert_int_equal(first10[1], 3);
    assert_int_equal(first10[2], 2);
    assert_int_equal(disp_dest_weight(disp_set_dest(s, 0)), 5);
    disp_free(d);
}

static void test_disp_weighted_failover_goes_to_heaviest_next(void **state)
{
    struct disp *d =
        build("dispatchers:\n  w:\n    algorithm: weighted\n"
              "    destinations: [\"sip:10.0.0.1;weight=1\", \"sip:10.0.0.2;weight=3\","
              " \"sip:10.0.0.3;weight=2\"]\n");
    struct disp_set *s = disp_find(d, SLICE_LIT("w"));
    char buf[64];

    (void)state;
    /* first pick of smooth WRR with 1,3,2 is the heaviest: 1 */
    assert_string_equal(order_str(s, NULL, buf, sizeof(buf)), "1,2,0");
    /* second: 2 (cw 2,0,4 -> 2 wins), then 1 before 0 */
    assert_string_equal(order_str(s, NULL, buf, sizeof(buf)), "2,1,0");
    disp_free(d);
}

static void test_disp_hash_callid_same_call_same_destination(void **state)
{
    struct disp *d = build("dispatchers:\n  h:\n    algorithm: hash_callid\n" THREE);
    struct disp_set *s = disp_find(d, SLICE_LIT("h"));
    unsigned hits[3] = {0};
    char id[32];

    (void)state;
    for (int i = 0; i < 300; i++) {
        snprintf(id, sizeof(id), "call-%d@test", i);
        struct sipmsg *m = msg_new(id, "alice");
        size_t k = first_pick(s, m);
        for (int r = 0; r < 3; r++)
            assert_int_equal(first_pick(s, m), k);
        hits[k]++;
        sipmsg_unref(m);
    }
    for (int k = 0; k < 3; k++)
        assert_true(hits[k] > 50); /* ~100 each */
    disp_free(d);
}

static void test_disp_hash_moves_only_the_down_destinations_share(void **state)
{
    struct disp *d = build("dispatchers:\n  h:\n    algorithm: hash_callid\n" THREE);
    struct disp_set *s = disp_find(d, SLICE_LIT("h"));
    size_t before[200];
    char id[32];

    (void)state;
    for (int i = 0; i < 200; i++) {
        snprintf(id, sizeof(id), "c%d", i);
        struct sipmsg *m = msg_new(id, "alice");
        before[i] = first_pick(s, m);
        sipmsg_unref(m);
    }
    set_down(s, 1);
    for (int i = 0; i < 200; i++) {
        snprintf(id, sizeof(id), "c%d", i);
        struct sipmsg *m = msg_new(id, "alice");
        size_t now = first_pick(s, m);
        if (before[i] != 1)
            assert_int_equal(now, before[i]);
        else
            assert_true(now != 1);
        sipmsg_unref(m);
    }
    disp_free(d);
}

static void test_disp_hash_from_user_keys_on_the_from_user(void **state)
{
    struct disp *d = build("dispatchers:\n  h:\n    algorithm: hash_from_user\n" THREE);
    struct disp_set *s = disp_find(d, SLICE_LIT("h"));
    struct sipmsg *a = msg_new("one", "alice"), *b = msg_new("two", "alice");
    bool has_moved = false;

    (void)state;
    assert_int_equal(first_pick(s, a), first_pick(s, b));
    for (int i = 0; i < 20 && !has_moved; i++) {
        char user[16];
        snprintf(user, sizeof(user), "u%d", i);
        struct sipmsg *c = msg_new("one", user);
        has_moved = first_pick(s, c) != first_pick(s, a);
        sipmsg_unref(c);
    }
    assert_true(has_moved);
    sipmsg_unref(a);
    sipmsg_unref(b);
    disp_free(d);
}

static void test_disp_down_destination_skipped_then_back_after_successes(void **state)
{
    struct disp *d =
        build("dispatchers:\n  rr:\n" THREE "    probe: { failures: 3, successes: 2 }\n");
    struct disp_set *s = disp_find(d, SLICE_LIT("rr"));
    struct disp_dest *d1 = disp_set_dest(s, 1);
    char buf[64];

    (void)state;
    disp_probe_result(s, d1, false);
    disp_probe_result(s, d1, false);
    assert_true(disp_dest_is_up(d1));
    disp_probe_result(s, d1, true); /* resets the failure streak */
    disp_probe_result(s, d1, false);
    disp_probe_result(s, d1, false);
    assert_true(disp_dest_is_up(d1));
    disp_probe_result(s, d1, false);
    assert_false(disp_dest_is_up(d1));
    /* live ones take turns; the down one is last in every list */
    assert_string_equal(order_str(s, NULL, buf, sizeof(buf)), "0,2,1");
    assert_string_equal(order_str(s, NULL, buf, sizeof(buf)), "2,0,1");
    disp_probe_result(s, d1, true);
    assert_false(disp_dest_is_up(d1));
    disp_probe_result(s, d1, true);
    assert_true(disp_dest_is_up(d1));
    assert_int_equal(strlen(order_str(s, NULL, buf, sizeof(buf))), 5);
    disp_free(d);
}

static void test_disp_all_down_still_returns_every_destination(void **state)
{
    struct disp *d = build("dispatchers:\n  rr:\n" THREE);
    struct disp_set *s = disp_find(d, SLICE_LIT("rr"));
    char buf[64];

    (void)state;
    for (size_t i = 0; i < 3; i++)
        set_down(s, i);
    assert_string_equal(order_str(s, NULL, buf, sizeof(buf)), "0,1,2");
    assert_string_equal(order_str(s, NULL, buf, sizeof(buf)), "1,2,0");
    disp_free(d);
}

static void test_disp_select_respects_cap(void **state)
{
    struct disp *d = build("dispatchers:\n  rr:\n" THREE);
    struct disp_set *s = disp_find(d, SLICE_LIT("rr"));
    struct disp_dest *out[2];

    (void)state;
    assert_int_equal(disp_select(s, NULL, out, 2), 2);
    assert_int_equal(disp_select(s, NULL, out, 0), 0);
    disp_free(d);
}

static void test_disp_least_loaded_prefers_fewest_in_flight(void **state)
{
    struct disp *d = build("dispatchers:\n  ll:\n    algorithm: least_loaded\n" THREE);
    struct disp_set *s = disp_find(d, SLICE_LIT("ll"));
    struct disp_dest *d0 = disp_set_dest(s, 0), *d1 = disp_set_dest(s, 1);
    char buf[64];

    (void)state;
    disp_inflight_inc(d0);
    disp_inflight_inc(d0);
    disp_inflight_inc(d1);
    assert_string_equal(order_str(s, NULL, buf, sizeof(buf)), "2,1,0");
    disp_inflight_inc(disp_set_dest(s, 2));
    disp_inflight_inc(disp_set_dest(s, 2));
    disp_inflight_inc(disp_set_dest(s, 2));
    assert_string_equal(order_str(s, NULL, buf, sizeof(buf)), "1,0,2");
    disp_inflight_dec(d0);
    disp_inflight_dec(d0);
    disp_inflight_dec(d0); /* extra: stays at 0 */
    assert_int_equal(disp_dest_inflight(d0), 0);
    assert_int_equal(first_pick(s, NULL), 0);
    disp_free(d);
}

static void test_disp_counters_are_metrics_per_destination(void **state)
{
    struct disp *d = build("dispatchers:\n  gw:\n"
                           "    destinations: [\"sip:127.0.0.1:5070;weight=2\"]\n");
    struct disp_dest *x = disp_set_dest(disp_find(d, SLICE_LIT("gw")), 0);
    metric_id req = metric_find("disp_requests_total{set=gw,dest=sip:127.0.0.1:5070}");
    metric_id r5 = metric_find("disp_responses_total{set=gw,dest=sip:127.0.0.1:5070,class=5xx}");
    metric_id fo = metric_find("disp_failovers_total{set=gw,dest=sip:127.0.0.1:5070}");
    metric_id inf = metric_find("disp_inflight{set=gw,dest=sip:127.0.0.1:5070}");

    (void)state;
    assert_true(req && r5 && fo && inf);
    disp_count_request(x);
    disp_count_request(x);
    disp_count_response(x, 503);
    disp_count_response(x, 100); /* provisional: not counted */
    disp_count_failover(x);
    disp_inflight_inc(x);
    disp_inflight_inc(x);
    disp_inflight_dec(x);
    assert_int_equal(metric_read(req), 2);
    assert_int_equal(metric_read(r5), 1);
    assert_int_equal(metric_read(fo), 1);
    assert_int_equal(metric_read(inf), 1);
    disp_free(d);
    /* a reload with the same set finds the same counters */
    d = build("dispatchers:\n  gw:\n    destinations: [\"sip:127.0.0.1:5070\"]\n");
    assert_int_equal(metric_find("disp_requests_total{set=gw,dest=sip:127.0.0.1:5070}"), req);
    disp_free(d);
}

struct probe_rec {
    unsigned calls;
    char method[16];
    struct disp_dest *seen[4];
};

static void probe_fn(struct disp_set *s, struct disp_dest *dest, const char *method, void *arg)
{
    struct probe_rec *r = arg;

    (void)s;
    if (r->calls < 4)
        r->seen[r->calls] = dest;
    r->calls++;
    snprintf(r->method, sizeof(r->method), "%s", method);
}

static void test_disp_probes_every_destination_of_enabled_sets(void **state)
{
    struct disp *d = build("dispatchers:\n"
                           "  on:\n" THREE "    probe: { enabled: true, interval: 1s }\n"
                           "  off:\n    destinations: [\"sip:10.0.0.9\"]\n");
    struct ev_loop *loop = ev_loop_new();
    struct probe_rec rec = {0};
    struct disp_set *s = disp_find(d, SLICE_LIT("on"));

    (void)state;
    assert_non_null(loop);
    assert_int_equal(disp_probe_start(d, loop, probe_fn, &rec), 0);
    assert_int_equal(disp_probe_start(d, loop, probe_fn, &rec), -EALREADY);
    for (int i = 0; i < 100 && rec.calls < 3; i++)
        assert_true(ev_loop_run_once(loop, 10) >= 0);
    assert_int_equal(rec.calls, 3); /* the "off" set is not probed */
    assert_string_equal(rec.method, "OPTIONS");
    assert_ptr_equal(rec.seen[0], disp_set_dest(s, 0));
    assert_ptr_equal(rec.seen[2], disp_set_dest(s, 2));
    disp_probe_stop(d);
    disp_free(d);
    ev_loop_free(loop);
}

static void test_disp_config_errors_point_at_the_file(void **state)
{
    (void)state;
    expect_error("dispatchers:\n  gw:\n    destinations: [\"http://x\"]\n",
                 "d.yaml:3:20: dispatchers.gw.destinations[0]: 'http://x' is not a sip: or sips: "
                 "URI");
    expect_error("dispatchers:\n  gw:\n    destinations: [\"sip:a.test;weight=0\"]\n",
                 "d.yaml:3:20: dispatchers.gw.destinations[0]: 'sip:a.test;weight=0': weight "
                 "must be 1..1000");
    expect_error("dispatchers:\n  gw:\n    algorithm: random\n    destinations: [\"sip:a\"]\n",
                 "d.yaml:3:16: dispatchers.gw.algorithm: 'random' is not one of: round_robin, "
                 "weighted, hash_callid, hash_from_user, least_loaded");
    expect_error("dispatchers:\n  gw:\n    probe: { enabled: true }\n",
                 "d.yaml:3:5: dispatchers.gw: needs at least one destination");
    expect_error("dispatchers:\n  \"g w\":\n    destinations: [\"sip:a\"]\n",
                 "d.yaml:3:5: dispatchers.g w: set name 'g w' may use only letters, digits, _ - .");
    expect_error("dispatchers:\n  gw:\n    destinations: [\"sip:a\"]\n    probe: { method: opt }\n",
                 "d.yaml:4:22: dispatchers.gw.probe.method: 'opt' is not a method name "
                 "(upper-case letters, such as OPTIONS)");
}

int main(void)
{
    static const uint8_t key[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_disp_round_robin_takes_turns_and_fails_over_in_order),
        cmocka_unit_test(test_disp_weighted_split_is_exact_and_smooth),
        cmocka_unit_test(test_disp_weighted_failover_goes_to_heaviest_next),
        cmocka_unit_test(test_disp_hash_callid_same_call_same_destination),
        cmocka_unit_test(test_disp_hash_moves_only_the_down_destinations_share),
        cmocka_unit_test(test_disp_hash_from_user_keys_on_the_from_user),
        cmocka_unit_test(test_disp_down_destination_skipped_then_back_after_successes),
        cmocka_unit_test(test_disp_all_down_still_returns_every_destination),
        cmocka_unit_test(test_disp_select_respects_cap),
        cmocka_unit_test(test_disp_least_loaded_prefers_fewest_in_flight),
        cmocka_unit_test(test_disp_counters_are_metrics_per_destination),
        cmocka_unit_test(test_disp_probes_every_destination_of_enabled_sets),
        cmocka_unit_test(test_disp_config_errors_point_at_the_file),
    };

    htab_seed_fixed(key);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
