/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for the route table: match kinds, order, actions, config errors. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "app/routing/route.h"
#include "core/htab.h"

struct tc {
    struct cfg_list dispatchers;
    struct cfg_list routes;
    struct route_conf def;
};

static const struct cfg_opt opts[] = {
    DISP_CFG_OPT(struct tc, dispatchers),
    ROUTE_CFG_OPTS(struct tc, routes, def),
    CFG_END,
};

/* A loaded config with its dispatcher sets and route table. */
struct fixture {
    struct tc conf;
    struct disp *disp;
    struct route_table *t;
    struct sipmsg *msgs[16];
    size_t nmsgs;
};

static struct fixture fx;

static int load_yaml(const char *yaml, char *err, size_t errlen)
{
    return cfg_load_buf(opts, &fx.conf, yaml, strlen(yaml), "r.yaml", err, errlen);
}

/* Builds disp + table from the loaded fx.conf; returns NULL and err on failure. */
static struct route_table *build_table(char *err, size_t errlen)
{
    fx.disp = disp_new(&fx.conf.dispatchers, err, errlen);
    assert_non_null(fx.disp);
    fx.t = route_table_new(&fx.conf.routes, &fx.conf.def, fx.disp, err, errlen);
    return fx.t;
}

static void load_ok(const char *yaml)
{
    char err[256];

    if (load_yaml(yaml, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    if (build_table(err, sizeof(err)) == NULL)
        fail_msg("%s", err);
}

static void load_file_ok(const char *name)
{
    char path[512], err[256];

    snprintf(path, sizeof(path), "%s/routing/%s", SW_TEST_DATA, name);
    if (cfg_load_file(opts, &fx.conf, path, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    if (build_table(err, sizeof(err)) == NULL)
        fail_msg("%s", err);
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < fx.nmsgs; i++)
        sipmsg_unref(fx.msgs[i]);
    route_table_free(fx.t);
    disp_free(fx.disp);
    cfg_free(opts, &fx.conf);
    memset(&fx, 0, sizeof(fx));
    return 0;
}

/* A request "METHOD ruri" from From user 'from' (freed at teardown). */
static struct sipmsg *req(const char *method, const char *ruri, const char *from)
{
    char buf[512];
    struct sip_limits lim = SIP_LIMITS_DEFAULT;
    struct sip_err e;
    struct sipmsg *m;
    int n = snprintf(buf, sizeof(buf),
                     "%s %s SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n"
                     "From: <sip:%s@example.test>;tag=1\r\n"
                     "To: <sip:bob@example.test>\r\n"
                     "Call-ID: c1\r\n"
                     "CSeq: 1 %s\r\n"
                     "Max-Forwards: 70\r\n"
                     "Content-Length: 0\r\n\r\n",
                     method, ruri, from, method);

    m = sipmsg_new(buf, (size_t)n, &lim);
    assert_non_null(m);
    assert_int_equal(sipmsg_parse(m, &e), SIP_PARSE_OK);
    assert_true(fx.nmsgs < 16);
    fx.msgs[fx.nmsgs++] = m;
    return m;
}

/* A UDP flow from 'src' on listener 'listener' bound to 'local'. */
static struct tp_flow flow(const char *src, unsigned listener, const char *local)
{
    struct tp_flow f = {.proto = TP_UDP, .listener = listener};

    assert_int_equal(tp_addr_parse(&f.remote, slice_cstr(src), 5060), 0);
    assert_int_equal(tp_addr_parse(&f.local, slice_cstr(local), 5060), 0);
    return f;
}

static uint32_t route_of(const struct sipmsg *m, const struct tp_flow *f)
{
    return route_lookup(fx.t, m, f)->index;
}

static void test_route_fixture_each_match_kind_picks_its_route(void **state)
{
    struct tp_flow lan = flow("10.1.1.1:5060", 0, "127.0.0.1:5060");
    struct tp_flow trunk = flow("192.0.2.77:5060", 1, "127.0.0.1:5061");
    struct tp_flow trunk6 = flow("[2001:db8::5]:5060", 1, "127.0.0.1:5061");
    struct tp_flow other = flow("10.1.1.1:5060", 2, "127.0.0.1:5062");

    (void)state;
    load_file_ok("routes.yaml");
    assert_int_equal(route_count(fx.t), 6);
    assert_int_equal(route_conf_check(&fx.conf.routes, &fx.conf.def, &fx.conf.dispatchers, NULL, 0),
                     0);
    /* source + listener (both must hold) */
    assert_int_equal(route_of(req("INVITE", "sip:x@y.test", "a"), &trunk), 0);
    assert_int_equal(route_of(req("INVITE", "sip:x@y.test", "a"), &trunk6), 0);
    /* method */
    assert_int_equal(route_of(req("REGISTER", "sip:y.test", "a"), &lan), 1);
    /* method + ruri_user */
    assert_int_equal(route_of(req("INVITE", "sip:+15551234567@y.test", "a"), &lan), 2);
    assert_int_equal(route_of(req("INVITE", "sip:15551234567@y.test", "a"), &lan), 2);
    /* from_user */
    assert_int_equal(route_of(req("INVITE", "sip:5551234@y.test", "spammer"), &lan), 3);
    /* ruri_host, case-insensitive */
    assert_int_equal(route_of(req("INVITE", "sip:bob@EXAMPLE.test", "a"), &lan), 4);
    /* listener by address */
    assert_int_equal(route_of(req("INVITE", "sip:bob@y.test", "a"), &other), 5);
    /* nothing: the default */
    assert_int_equal(route_of(req("INVITE", "sip:bob@y.test", "a"), &lan), ROUTE_DEFAULT_INDEX);
}

static void test_route_actions_carry_targets_and_flags(void **state)
{
    struct tp_flow lan = flow("10.1.1.1:5060", 0, "127.0.0.1:5060");
    struct tp_flow trunk = flow("192.0.2.77:5060", 1, "127.0.0.1:5061");
    struct tp_flow other = flow("10.1.1.1:5060", 2, "127.0.0.1:5062");
    const struct route_action *a;

    (void)state;
    load_file_ok("routes.yaml");
    a = route_lookup(fx.t, req("INVITE", "sip:x@y.test", "a"), &trunk);
    assert_int_equal(a->kind, ROUTE_FORWARD);
    assert_string_equal(a->target, "sip:pbx.example.test:5080;transport=tcp");
    assert_true(slice_eq(a->target_uri.host, SLICE_LIT("pbx.example.test")));
    assert_int_equal(a->target_uri.port, 5080);
    assert_true(slice_eq(a->target_uri.transport, SLICE_LIT("tcp")));
    assert_false(a->do_record_route);
    assert_false(a->is_stateless);
    a = route_lookup(fx.t, req("REGISTER", "sip:y.test", "a"), &lan);
    assert_int_equal(a->kind, ROUTE_LOCATION);
    assert_true(a->do_record_route);
    a = route_lookup(fx.t, req("INVITE", "sip:+15551234567@y.test", "a"), &lan);
    assert_int_equal(a->kind, ROUTE_DISPATCH);
    assert_ptr_equal(a->set, disp_find(fx.disp, SLICE_LIT("carriers")));
    a = route_lookup(fx.t, req("INVITE", "sip:1@y.test", "spam"), &lan);
    assert_int_equal(a->kind, ROUTE_REPLY);
    assert_int_equal(a->reply_code, 403);
    assert_string_equal(a->reply_reason, "Go away");
    a = route_lookup(fx.t, req("INVITE", "sip:bob@y.test", "a"), &other);
    assert_true(a->is_stateless);
    a = route_lookup(fx.t, req("INVITE", "sip:bob@y.test", "a"), &lan);
    assert_int_equal(a->kind, ROUTE_REPLY);
    assert_int_equal(a->reply_code, 480);
    assert_string_equal(a->reply_reason, "Temporarily Unavailable");
}

static void test_route_first_match_wins(void **state)
{
    struct tp_flow lan = flow("10.0.0.1:5060", 0, "127.0.0.1:5060");

    (void)state;
    load_ok("routes:\n"
            "  - match: { method: [INVITE] }\n    to: \"sip:first.test\"\n"
            "  - match: { method: [INVITE, BYE] }\n    to: \"sip:second.test\"\n"
            "  - to: \"sip:catchall.test\"\n");
    assert_int_equal(route_of(req("INVITE", "sip:a@b.test", "u"), &lan), 0);
    assert_int_equal(route_of(req("BYE", "sip:a@b.test", "u"), &lan), 1);
    assert_int_equal(route_of(req("OPTIONS", "sip:a@b.test", "u"), &lan), 2);
}

static void test_route_methods_are_case_sensitive(void **state)
{
    struct tp_flow lan = flow("10.0.0.1:5060", 0, "127.0.0.1:5060");

    (void)state;
    load_ok("routes:\n  - match: { method: [INVITE] }\n    to: location\n");
    assert_int_equal(route_of(req("invite", "sip:a@b.test", "u"), &lan), ROUTE_DEFAULT_INDEX);
}

static void test_route_default_is_404_unless_configured(void **state)
{
    struct tp_flow lan = flow("10.0.0.1:5060", 0, "127.0.0.1:5060");
    const struct route_action *a;

    (void)state;
    load_ok("routes: []\n");
    a = route_lookup(fx.t, req("INVITE", "sip:a@b.test", "u"), &lan);
    assert_int_equal(a->kind, ROUTE_REPLY);
    assert_int_equal(a->reply_code, 404);
    assert_string_equal(a->reply_reason, "Not Found");
    assert_int_equal(a->index, ROUTE_DEFAULT_INDEX);
}

static void test_route_default_may_forward_to_a_dispatcher(void **state)
{
    struct tp_flow lan = flow("10.0.0.1:5060", 0, "127.0.0.1:5060");
    const struct route_action *a;

    (void)state;
    load_ok("dispatchers:\n  gw: { destinations: [\"sip:10.0.0.5\"] }\n"
            "default_route: { to: \"dispatcher:gw\", stateless: true }\n");
    a = route_lookup(fx.t, req("INVITE", "sip:a@b.test", "u"), &lan);
    assert_int_equal(a->kind, ROUTE_DISPATCH);
    assert_string_equal(disp_set_name(a->set), "gw");
    assert_true(a->is_stateless);
}

static void test_route_source_cidrs_v4_v6_and_mapped(void **state)
{
    struct tp_flow in = flow("10.20.30.40:5060", 0, "127.0.0.1:5060");
    struct tp_flow out = flow("10.21.0.1:5060", 0, "127.0.0.1:5060");
    struct tp_flow mapped = flow("[::ffff:10.20.1.1]:5060", 0, "[::]:5060");
    struct tp_flow v6 = flow("[fd00::1]:5060", 0, "[::]:5060");
    struct tp_flow one = flow("198.51.100.7:5060", 0, "127.0.0.1:5060");

    (void)state;
    load_ok("routes:\n  - match: { source: [10.20.0.0/16, \"fd00::/8\", 198.51.100.7] }\n"
            "    to: location\n");
    assert_int_equal(route_of(req("INVITE", "sip:a@b.test", "u"), &in), 0);
    assert_int_equal(route_of(req("INVITE", "sip:a@b.test", "u"), &out), ROUTE_DEFAULT_INDEX);
    assert_int_equal(route_of(req("INVITE", "sip:a@b.test", "u"), &mapped), 0);
    assert_int_equal(route_of(req("INVITE", "sip:a@b.test", "u"), &v6), 0);
    assert_int_equal(route_of(req("INVITE", "sip:a@b.test", "u"), &one), 0);
}

static void test_route_all_conditions_must_hold(void **state)
{
    struct tp_flow lan = flow("10.0.0.1:5060", 0, "127.0.0.1:5060");

    (void)state;
    load_ok("routes:\n  - match: { method: [INVITE], ruri_user: \"^1\", from_user: \"^a\" }\n"
            "    to: location\n");
    assert_int_equal(route_of(req("INVITE", "sip:123@b.test", "alice"), &lan), 0);
    assert_int_equal(route_of(req("INVITE", "sip:123@b.test", "bob"), &lan), ROUTE_DEFAULT_INDEX);
    assert_int_equal(route_of(req("INVITE", "sip:223@b.test", "alice"), &lan), ROUTE_DEFAULT_INDEX);
    assert_int_equal(route_of(req("MESSAGE", "sip:123@b.test", "alice"), &lan),
                     ROUTE_DEFAULT_INDEX);
}

static void test_route_bad_regex_is_reported_with_file_and_line(void **state)
{
    char path[512], err[512];

    (void)state;
    snprintf(path, sizeof(path), "%s/routing/bad_regex.yaml", SW_TEST_DATA);
    assert_int_equal(cfg_load_file(opts, &fx.conf, path, err, sizeof(err)), -EINVAL);
    if (strstr(err, "bad_regex.yaml:5:18: routes[1].match.ruri_user: '^(12' is not a POSIX "
                    "extended regular expression: ") == NULL)
        fail_msg("got '%s'", err);
}

static void test_route_unknown_dispatcher_is_reported_with_file_and_line(void **state)
{
    char path[512], err[512];

    (void)state;
    snprintf(path, sizeof(path), "%s/routing/unknown_dispatcher.yaml", SW_TEST_DATA);
    assert_int_equal(cfg_load_file(opts, &fx.conf, path, err, sizeof(err)), 0);
    assert_int_equal(
        route_conf_check(&fx.conf.routes, &fx.conf.def, &fx.conf.dispatchers, err, sizeof(err)),
        -EINVAL);
    assert_non_null(strstr(err, "unknown_dispatcher.yaml:7:9: routes[1].to: unknown dispatcher "
                                "'b' (not in dispatchers:)"));
    err[0] = '\0';
    assert_null(build_table(err, sizeof(err)));
    assert_non_null(strstr(err, "unknown_dispatcher.yaml:7:9: routes[1].to: unknown dispatcher "
                                "'b' (not in dispatchers:)"));
}

static void expect_error(const char *yaml, const char *want)
{
    char err[512];

    assert_int_equal(load_yaml(yaml, err, sizeof(err)), -EINVAL);
    if (strcmp(err, want) != 0)
        fail_msg("got '%s', want '%s'", err, want);
}

static void test_route_config_errors_point_at_the_value(void **state)
{
    (void)state;
    expect_error("routes:\n  - match: { method: [INVITE] }\n",
                 "r.yaml:2:5: routes[0]: needs to: or reply: { code: ... }");
    expect_error("routes:\n  - to: location\n    reply: { code: 404 }\n",
                 "r.yaml:2:5: routes[0]: give either to: or reply:, not both");
    expect_error("routes:\n  - to: \"http://x\"\n",
                 "r.yaml:2:9: routes[0].to: 'http://x' is not sip:URI, sips:URI, "
                 "dispatcher:NAME or location");
    expect_error("routes:\n  - to: \"sip:x;transport=sctp\"\n",
                 "r.yaml:2:9: routes[0].to: 'sip:x;transport=sctp': transport must be udp, tcp "
                 "or tls");
    expect_error("routes:\n  - match: { source: [10.0.0.0/33] }\n    to: location\n",
                 "r.yaml:2:23: routes[0].match.source[0]: '10.0.0.0/33' has a bad prefix length");
    expect_error("routes:\n  - match: { source: [host.test] }\n    to: location\n",
                 "r.yaml:2:23: routes[0].match.source[0]: 'host.test' is not an IP address or "
                 "CIDR (10.0.0.0/8, 2001:db8::/32)");
    expect_error("routes:\n  - match: { listener: \"sctp://1.2.3.4:5\" }\n    to: location\n",
                 "r.yaml:2:24: routes[0].match.listener: 'sctp://1.2.3.4:5' is not a listener "
                 "index (0, 1, ...) or udp://IP:PORT");
    expect_error("routes:\n  - match: { method: [\"IN VITE\"] }\n    to: location\n",
                 "r.yaml:2:23: routes[0].match.method[0]: 'IN VITE' is not a method name (RFC "
                 "3261 token)");
    expect_error("routes:\n  - reply: { code: 200 }\n",
                 "r.yaml:2:20: routes[0].reply.code: 200 is below the minimum 300");
    expect_error("routes:\n  - match: { ruri_hots: x }\n    to: location\n",
                 "r.yaml:2:14: routes[0].match.ruri_hots: unknown option (did you mean "
                 "'ruri_host'?)");
}

static void test_route_default_with_to_and_reply_is_refused(void **state)
{
    char err[256];

    (void)state;
    assert_int_equal(
        load_yaml("default_route: { to: location, reply: { code: 404 } }\n", err, sizeof(err)), 0);
    assert_int_equal(
        route_conf_check(&fx.conf.routes, &fx.conf.def, &fx.conf.dispatchers, err, sizeof(err)),
        -EINVAL);
    assert_string_equal(err, "r.yaml:1:22: default_route.to: give either to: or reply:, not both");
    assert_null(build_table(err, sizeof(err)));
    assert_string_equal(err, "r.yaml:1:22: default_route.to: give either to: or reply:, not both");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_route_fixture_each_match_kind_picks_its_route, teardown),
        cmocka_unit_test_teardown(test_route_actions_carry_targets_and_flags, teardown),
        cmocka_unit_test_teardown(test_route_first_match_wins, teardown),
        cmocka_unit_test_teardown(test_route_methods_are_case_sensitive, teardown),
        cmocka_unit_test_teardown(test_route_default_is_404_unless_configured, teardown),
        cmocka_unit_test_teardown(test_route_default_may_forward_to_a_dispatcher, teardown),
        cmocka_unit_test_teardown(test_route_source_cidrs_v4_v6_and_mapped, teardown),
        cmocka_unit_test_teardown(test_route_all_conditions_must_hold, teardown),
        cmocka_unit_test_teardown(test_route_bad_regex_is_reported_with_file_and_line, teardown),
        cmocka_unit_test_teardown(test_route_unknown_dispatcher_is_reported_with_file_and_line,
                                  teardown),
        cmocka_unit_test_teardown(test_route_config_errors_point_at_the_value, teardown),
        cmocka_unit_test_teardown(test_route_default_with_to_and_reply_is_refused, teardown),
    };

    htab_seed_random();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
