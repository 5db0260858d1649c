/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for RFC 3263 resolution against a real dnsmasq on loopback. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/ev.h"
#include "sip/uri.h"
#include "transport/dns.h"

static const char *const dnsmasq_paths[] = {"/usr/sbin/dnsmasq", "/usr/bin/dnsmasq",
                                            "/sbin/dnsmasq"};

/* Zone served by dnsmasq (everything under .test is local: NXDOMAIN otherwise). */
static const char *const records[] = {
    "--host-record=a.example.test,127.0.0.2",
    "--host-record=b.example.test,127.0.0.3",
    "--host-record=c.example.test,127.0.0.4,::4",
    "--host-record=multi.example.test,127.0.0.5",
    "--host-record=multi.example.test,127.0.0.6",
    /* naptr.test: NAPTR says TCP first, then UDP (RFC 3263 §4.1) */
    "--naptr-record=naptr.test,20,50,s,SIP+D2U,,_sip._udp.naptr.test",
    "--naptr-record=naptr.test,10,50,s,SIP+D2T,,_sip._tcp.naptr.test",
    "--naptr-record=naptr.test,5,50,s,SIP+D2X,,_sip._sctp.naptr.test",
    "--srv-host=_sip._tcp.naptr.test,b.example.test,5080,0,10",
    "--srv-host=_sip._udp.naptr.test,a.example.test,5070,0,10",
    /* srv.test: no NAPTR; two UDP priorities (listed worst first) and TCP */
    "--srv-host=_sip._udp.srv.test,c.example.test,5062,20,10",
    "--srv-host=_sip._udp.srv.test,multi.example.test,5061,10,10",
    "--srv-host=_sip._tcp.srv.test,a.example.test,5063,10,10",
    /* a.example.test has SRV too, which an explicit port must bypass */
    "--srv-host=_sip._udp.a.example.test,b.example.test,5099,0,0",
};

static struct {
    pid_t pid;
    uint16_t port;
    bool is_skipped;
    struct ev_loop *loop;
    struct dns_resolver *r;
} g;

struct result {
    bool has_run;
    unsigned calls;
    int err;
    size_t count;
    struct dns_target t[DNS_MAX_RESULTS];
};

static void on_result(const struct dns_target *t, size_t count, int err, void *arg)
{
    struct result *res = arg;

    res->has_run = true;
    res->calls++;
    res->err = err;
    res->count = count;
    memcpy(res->t, t, count * sizeof(*t));
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int timeout_mult(void)
{
    const char *s = getenv("SW_TEST_TIMEOUT_MULT");
    int m = s ? atoi(s) : 1;
    return m > 0 ? m : 1;
}

/* Runs the loop until res has a result (bounded). */
static bool wait_result(struct result *res)
{
    uint64_t end = now_ms() + 5000u * (unsigned)timeout_mult();

    while (!res->has_run && now_ms() < end)
        assert_true(ev_loop_run_once(g.loop, 20) >= 0);
    return res->has_run;
}

static uint16_t free_udp_port(void)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sin);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    uint16_t port = 0;

    if (fd >= 0 && bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
        port = ntohs(sin.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static struct dns_resolver *resolver_at(uint16_t port, bool use_ipv6, uint64_t timeout_ms)
{
    struct dns_config cfg;
    char server[32], err[256];
    char *items[1] = {server};
    struct dns_resolver *r;

    dns_config_defaults(&cfg);
    snprintf(server, sizeof(server), "127.0.0.1:%u", port);
    cfg.servers.items = items;
    cfg.servers.count = 1;
    cfg.use_ipv6 = use_ipv6;
    cfg.timeout_ms = timeout_ms;
    cfg.tries = 1;
    r = dns_resolver_new(g.loop, &cfg, err, sizeof(err));
    if (r == NULL)
        fail_msg("%s", err);
    return r;
}

static int resolve_uri(struct dns_resolver *r, const char *s, struct result *res)
{
    struct uri u;
    struct sip_err e;
    struct dns_query q;

    memset(res, 0, sizeof(*res));
    assert_int_equal(uri_parse(&u, slice_cstr(s), &e), SIP_PARSE_OK);
    assert_int_equal(dns_query_from_uri(&q, &u), 0);
    return dns_resolve_sip(r, &q, on_result, res, NULL);
}

static void resolve_ok(struct dns_resolver *r, const char *s, struct result *res)
{
    assert_int_equal(resolve_uri(r, s, res), 0);
    assert_true(wait_result(res));
    assert_int_equal(res->calls, 1);
    if (res->err != 0)
        fail_msg("%s: error %d", s, res->err);
}

static void assert_target(const struct dns_target *t, enum tp_proto proto, const char *addr)
{
    char buf[TP_ADDR_STRLEN];

    tp_addr_str(&t->addr, buf, sizeof(buf));
    assert_string_equal(buf, addr);
    assert_int_equal(t->proto, proto);
}

static int start_dnsmasq(void **state)
{
    const char *bin = NULL;
    char port_arg[32];
    const char *argv[64];
    size_t n = 0;

    (void)state;
    g.loop = ev_loop_new();
    assert_non_null(g.loop);
    for (size_t i = 0; i < sizeof(dnsmasq_paths) / sizeof(dnsmasq_paths[0]); i++)
        if (access(dnsmasq_paths[i], X_OK) == 0)
            bin = dnsmasq_paths[i];
    if (bin == NULL) {
        fprintf(stderr, "# dnsmasq is not installed (scripts/deps.sh installs dnsmasq-base): "
                        "DNS tests against a server are skipped\n");
        g.is_skipped = true;
        return 0;
    }
    g.port = free_udp_port();
    snprintf(port_arg, sizeof(port_arg), "--port=%u", g.port);
    argv[n++] = bin;
    argv[n++] = "-k";
    argv[n++] = "--conf-file=/dev/null";
    argv[n++] = "--no-resolv";
    argv[n++] = "--no-hosts";
    argv[n++] = "--pid-file=";
    argv[n++] = "--log-facility=/dev/null";
    argv[n++] = "--local=/test/";
    argv[n++] = port_arg;
    argv[n++] = "--listen-address=127.0.0.1";
    argv[n++] = "--bind-interfaces";
    for (size_t i = 0; i < sizeof(records) / sizeof(records[0]); i++)
        argv[n++] = records[i];
    argv[n] = NULL;
    g.pid = fork();
    assert_true(g.pid >= 0);
    if (g.pid == 0) {
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    /* Ready when it answers: resolve a plain A record until it works. */
    g.r = resolver_at(g.port, false, 200);
    for (int i = 0; i < 50 * timeout_mult(); i++) {
        struct result res;
        int status;
        assert_int_equal(resolve_uri(g.r, "sip:a.example.test:5060", &res), 0);
        if (wait_result(&res) && res.err == 0)
            return 0;
        if (waitpid(g.pid, &status, WNOHANG) == g.pid) {
            g.pid = 0;
            fail_msg("dnsmasq exited at start-up (status %d)", status);
        }
        usleep(100 * 1000);
    }
    fail_msg("dnsmasq did not answer on port %u", g.port);
    return -1;
}

static int stop_dnsmasq(void **state)
{
    (void)state;
    dns_resolver_free(g.r);
    if (g.pid > 0) {
        kill(g.pid, SIGTERM);
        waitpid(g.pid, NULL, 0);
    }
    ev_loop_free(g.loop);
    return 0;
}

#define NEED_DNSMASQ()                                                                             \
    do {                                                                                           \
        if (g.is_skipped)                                                                          \
            skip();                                                                                \
    } while (0)

static void test_dns_naptr_leads_to_srv_then_a_in_naptr_order(void **state)
{
    struct result res;

    (void)state;
    NEED_DNSMASQ();
    resolve_ok(g.r, "sip:naptr.test", &res);
    /* order 10 (SIP+D2T) before order 20 (SIP+D2U); SIP+D2X is unknown */
    assert_int_equal(res.count, 2);
    assert_target(&res.t[0], TP_TCP, "127.0.0.3:5080");
    assert_target(&res.t[1], TP_UDP, "127.0.0.2:5070");
    assert_false(res.t[0].is_tls);
}

static void test_dns_srv_sorted_by_priority_with_every_address(void **state)
{
    struct result res;

    (void)state;
    NEED_DNSMASQ();
    resolve_ok(g.r, "sip:srv.test", &res);
    /* no NAPTR: _sip._udp (priority 10 multi = 2 A records, then 20 c),
     * then _sip._tcp */
    assert_int_equal(res.count, 4);
    assert_int_equal(res.t[0].proto, TP_UDP);
    assert_int_equal(res.t[1].proto, TP_UDP);
    char a0[TP_ADDR_STRLEN], a1[TP_ADDR_STRLEN];
    tp_addr_str(&res.t[0].addr, a0, sizeof(a0));
    tp_addr_str(&res.t[1].addr, a1, sizeof(a1));
    assert_true((!strcmp(a0, "127.0.0.5:5061") && !strcmp(a1, "127.0.0.6:5061")) ||
                (!strcmp(a0, "127.0.0.6:5061") && !strcmp(a1, "127.0.0.5:5061")));
    assert_target(&res.t[2], TP_UDP, "127.0.0.4:5062");
    assert_target(&res.t[3], TP_TCP, "127.0.0.2:5063");
}

static void test_dns_aaaa_follow_a_of_the_same_host(void **state)
{
    struct dns_resolver *r;
    struct result res;

    (void)state;
    NEED_DNSMASQ();
    r = resolver_at(g.port, true, 1000);
    resolve_ok(r, "sip:c.example.test:7000;transport=tcp", &res);
    assert_int_equal(res.count, 2);
    assert_target(&res.t[0], TP_TCP, "127.0.0.4:7000");
    assert_target(&res.t[1], TP_TCP, "[::4]:7000");
    dns_resolver_free(r);
}

static void test_dns_transport_param_queries_only_its_srv(void **state)
{
    struct result res;

    (void)state;
    NEED_DNSMASQ();
    resolve_ok(g.r, "sip:srv.test;transport=tcp", &res);
    assert_int_equal(res.count, 1);
    assert_target(&res.t[0], TP_TCP, "127.0.0.2:5063");
}

static void test_dns_explicit_port_skips_srv(void **state)
{
    struct result res;

    (void)state;
    NEED_DNSMASQ();
    /* _sip._udp.a.example.test exists but RFC 3263 §4.2 says A only */
    resolve_ok(g.r, "sip:a.example.test:5090", &res);
    assert_int_equal(res.count, 1);
    assert_target(&res.t[0], TP_UDP, "127.0.0.2:5090");
}

static void test_dns_name_without_naptr_or_srv_uses_a_and_default_port(void **state)
{
    struct result res;

    (void)state;
    NEED_DNSMASQ();
    resolve_ok(g.r, "sip:b.example.test", &res);
    assert_int_equal(res.count, 1);
    assert_target(&res.t[0], TP_UDP, "127.0.0.3:5060");
    resolve_ok(g.r, "sips:b.example.test", &res);
    assert_int_equal(res.count, 1);
    assert_target(&res.t[0], TP_TCP, "127.0.0.3:5061");
    assert_true(res.t[0].is_tls);
}

static void test_dns_nxdomain_is_enoent(void **state)
{
    struct result res;

    (void)state;
    NEED_DNSMASQ();
    assert_int_equal(resolve_uri(g.r, "sip:nope.test", &res), 0);
    assert_true(wait_result(&res));
    assert_int_equal(res.err, -ENOENT);
    assert_int_equal(res.count, 0);
    assert_int_equal(resolve_uri(g.r, "sip:nope.test:5060", &res), 0);
    assert_true(wait_result(&res));
    assert_int_equal(res.err, -ENOENT);
}

static void test_dns_numeric_host_needs_no_server_and_answers_later(void **state)
{
    struct dns_resolver *r;
    struct result res;

    (void)state;
    /* a server nobody listens on: a lookup would fail */
    r = resolver_at(free_udp_port(), true, 100);
    assert_int_equal(resolve_uri(r, "sip:192.0.2.7", &res), 0);
    assert_false(res.has_run); /* never from inside dns_resolve_sip */
    assert_true(wait_result(&res));
    assert_int_equal(res.err, 0);
    assert_int_equal(res.count, 1);
    assert_target(&res.t[0], TP_UDP, "192.0.2.7:5060");
    assert_int_equal(resolve_uri(r, "sip:[2001:db8::1]:5070;transport=tcp", &res), 0);
    assert_true(wait_result(&res));
    assert_int_equal(res.count, 1);
    assert_target(&res.t[0], TP_TCP, "[2001:db8::1]:5070");
    dns_resolver_free(r);
}

static void test_dns_unanswered_server_times_out(void **state)
{
    struct dns_resolver *r;
    struct result res;

    (void)state;
    r = resolver_at(free_udp_port(), false, 100);
    assert_int_equal(resolve_uri(r, "sip:somewhere.test", &res), 0);
    assert_true(wait_result(&res));
    assert_int_equal(res.err, -ETIMEDOUT);
    assert_int_equal(dns_pending(r), 0);
    dns_resolver_free(r);
}

static void test_dns_cancelled_request_never_calls_back(void **state)
{
    struct dns_req *req;
    struct result res = {0}, other;
    struct uri u;
    struct sip_err e;
    struct dns_query q;

    (void)state;
    NEED_DNSMASQ();
    assert_int_equal(uri_parse(&u, slice_cstr("sip:srv.test"), &e), SIP_PARSE_OK);
    assert_int_equal(dns_query_from_uri(&q, &u), 0);
    assert_int_equal(dns_resolve_sip(g.r, &q, on_result, &res, &req), 0);
    dns_cancel(req);
    /* a later request completes, proving the loop ran past the cancelled one */
    resolve_ok(g.r, "sip:naptr.test", &other);
    for (int i = 0; i < 10; i++)
        assert_true(ev_loop_run_once(g.loop, 10) >= 0);
    assert_false(res.has_run);
    assert_int_equal(dns_pending(g.r), 0);
}

static void test_dns_pending_resolutions_are_bounded(void **state)
{
    struct dns_config cfg;
    struct dns_resolver *r;
    struct result a, b;
    char err[128];

    (void)state;
    dns_config_defaults(&cfg);
    cfg.max_pending = 1;
    r = dns_resolver_new(g.loop, &cfg, err, sizeof(err));
    assert_non_null(r);
    assert_int_equal(resolve_uri(r, "sip:192.0.2.1", &a), 0);
    assert_int_equal(resolve_uri(r, "sip:192.0.2.2", &b), -EAGAIN);
    assert_true(wait_result(&a));
    assert_int_equal(resolve_uri(r, "sip:192.0.2.2", &b), 0);
    dns_resolver_free(r); /* cancels b silently */
    assert_false(b.has_run);
}

static void test_dns_query_from_uri_rules(void **state)
{
    struct uri u;
    struct sip_err e;
    struct dns_query q;

    (void)state;
    assert_int_equal(uri_parse(&u, slice_cstr("sip:x@h.test;maddr=m.test;transport=TLS"), &e),
                     SIP_PARSE_OK);
    assert_int_equal(dns_query_from_uri(&q, &u), 0);
    assert_true(slice_eq(q.host, SLICE_LIT("m.test")));
    assert_true(q.has_transport && q.is_tls && q.transport == TP_TCP);
    assert_int_equal(uri_parse(&u, slice_cstr("sip:h.test;transport=sctp"), &e), SIP_PARSE_OK);
    assert_int_equal(dns_query_from_uri(&q, &u), -EPROTONOSUPPORT);
    assert_int_equal(uri_parse(&u, slice_cstr("tel:+15551234"), &e), SIP_PARSE_OK);
    assert_int_equal(dns_query_from_uri(&q, &u), -EINVAL);
}

static void test_dns_bad_server_address_is_an_error(void **state)
{
    struct dns_config cfg;
    char *items[1] = {"not-an-ip"};
    char err[256];

    (void)state;
    dns_config_defaults(&cfg);
    cfg.servers.items = items;
    cfg.servers.count = 1;
    assert_null(dns_resolver_new(g.loop, &cfg, err, sizeof(err)));
    assert_non_null(strstr(err, "not-an-ip"));
}

struct conf_with_dns {
    struct dns_config dns;
};

static const struct cfg_opt conf_opts[] = {
    CFG_SECTION("dns", struct conf_with_dns, dns, dns_opts, "DNS."),
    CFG_END,
};

static void test_dns_config_section_loads_and_checks_servers(void **state)
{
    struct conf_with_dns c;
    struct dns_config def;
    const char *ok = "dns:\n  servers: [\"127.0.0.1:5353\", \"[::1]\"]\n  timeout: 500ms\n";
    const char *bad = "dns:\n  servers: [ns.example.test]\n";
    char err[256];

    (void)state;
    assert_int_equal(cfg_load_buf(conf_opts, &c, "", 0, "c.yaml", err, sizeof(err)), 0);
    dns_config_defaults(&def);
    assert_int_equal(c.dns.timeout_ms, def.timeout_ms);
    assert_int_equal(c.dns.tries, def.tries);
    assert_int_equal(c.dns.max_results, def.max_results);
    assert_int_equal(c.dns.max_pending, def.max_pending);
    assert_int_equal(c.dns.use_ipv6, def.use_ipv6);
    cfg_free(conf_opts, &c);
    assert_int_equal(cfg_load_buf(conf_opts, &c, ok, strlen(ok), "c.yaml", err, sizeof(err)), 0);
    assert_int_equal(c.dns.servers.count, 2);
    assert_int_equal(c.dns.timeout_ms, 500);
    cfg_free(conf_opts, &c);
    assert_int_equal(cfg_load_buf(conf_opts, &c, bad, strlen(bad), "c.yaml", err, sizeof(err)),
                     -EINVAL);
    assert_string_equal(err, "c.yaml:2:13: dns.servers[0]: 'ns.example.test' is not a numeric "
                             "IP or IP:PORT ([IPv6]:PORT)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dns_naptr_leads_to_srv_then_a_in_naptr_order),
        cmocka_unit_test(test_dns_srv_sorted_by_priority_with_every_address),
        cmocka_unit_test(test_dns_aaaa_follow_a_of_the_same_host),
        cmocka_unit_test(test_dns_transport_param_queries_only_its_srv),
        cmocka_unit_test(test_dns_explicit_port_skips_srv),
        cmocka_unit_test(test_dns_name_without_naptr_or_srv_uses_a_and_default_port),
        cmocka_unit_test(test_dns_nxdomain_is_enoent),
        cmocka_unit_test(test_dns_numeric_host_needs_no_server_and_answers_later),
        cmocka_unit_test(test_dns_unanswered_server_times_out),
        cmocka_unit_test(test_dns_cancelled_request_never_calls_back),
        cmocka_unit_test(test_dns_pending_resolutions_are_bounded),
        cmocka_unit_test(test_dns_query_from_uri_rules),
        cmocka_unit_test(test_dns_bad_server_address_is_an_error),
        cmocka_unit_test(test_dns_config_section_loads_and_checks_servers),
    };
    return cmocka_run_group_tests(tests, start_dnsmasq, stop_dnsmasq);
}
