/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for the transport: real sockets on loopback, two workers. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/ev.h"
#include "core/htab.h"
#include "core/metric.h"
#include "transport/tp.h"

#define MAX_REC 512

struct rec {
    char call_id[64];
    unsigned worker;        /* tp_worker_id(w) */
    unsigned thread_worker; /* ev_thread_worker() in recv_fn */
    enum tp_proto proto;
    uint64_t conn_id;
    uint16_t remote_port;
    int rc;
    int send_rc; /* tp_send_response() result when replying */
    size_t body_len;
    struct tp_via_fix fix;
};

enum owner_mode { OWN_SELF, OWN_WORKER1 };

static struct ctx {
    pthread_mutex_t lock;
    struct rec recs[MAX_REC];
    unsigned nrec;
    atomic_uint owner_seen[2]; /* receiving worker, counted in owner_fn */
    enum owner_mode owner;
    bool reply; /* recv_fn answers with tp_send_response */
    atomic_uint init_calls, init_on_own_thread, fini_calls;
    atomic_uint errors;
    atomic_int last_error;
    /* shutdown test */
    atomic_bool hold, held, stop_called;
} ctx;

static struct tp *g_tp;

static int timeout_mult(void)
{
    const char *s = getenv("SW_TEST_TIMEOUT_MULT");
    int m = s ? atoi(s) : 1;
    return m > 0 ? m : 1;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static unsigned nrec(void)
{
    pthread_mutex_lock(&ctx.lock);
    unsigned n = ctx.nrec;
    pthread_mutex_unlock(&ctx.lock);
    return n;
}

/* Waits (bounded) until at least n messages were received. */
static bool wait_nrec(unsigned n)
{
    uint64_t end = now_ms() + 5000u * (unsigned)timeout_mult();
    while (now_ms() < end) {
        if (nrec() >= n)
            return true;
        sleep_ms(2);
    }
    return nrec() >= n;
}

static bool wait_metric(const char *name, uint64_t at_least)
{
    uint64_t end = now_ms() + 5000u * (unsigned)timeout_mult();
    metric_id id = metric_find(name);
    while (now_ms() < end) {
        if (metric_read(id) >= at_least)
            return true;
        sleep_ms(2);
    }
    return metric_read(id) >= at_least;
}

static uint64_t metric_val(const char *name)
{
    return metric_read(metric_find(name));
}

static const struct rec *find_rec(const char *call_id)
{
    for (unsigned i = 0; i < ctx.nrec; i++)
        if (strcmp(ctx.recs[i].call_id, call_id) == 0)
            return &ctx.recs[i];
    return NULL;
}

/* ---- the upper layer ---- */

/* Runs on worker threads: no cmocka asserts here (they longjmp), only
 * records that the test thread checks. */
static void test_recv(struct tp_worker *w, struct sipmsg *msg, int rc, const struct sip_err *err,
                      const struct tp_flow *flow, void *arg)
{
    int send_rc = 0;
    (void)err;
    (void)arg;
    if (ctx.reply && msg->is_request) {
        char resp[256];
        int n = snprintf(resp, sizeof(resp),
                         "SIP/2.0 200 OK\r\nCall-ID: %.*s\r\nContent-Length: 0\r\n\r\n",
                         SLICE_ARG(msg->call_id));
        send_rc = tp_send_response(w, msg, flow, resp, (size_t)n);
    }
    pthread_mutex_lock(&ctx.lock);
    if (ctx.nrec < MAX_REC) {
        struct rec *r = &ctx.recs[ctx.nrec++];
        memset(r, 0, sizeof(*r));
        snprintf(r->call_id, sizeof(r->call_id), "%.*s", SLICE_ARG(msg->call_id));
        r->worker = tp_worker_id(w);
        r->thread_worker = ev_thread_worker();
        r->proto = flow->proto;
        r->conn_id = flow->conn_id;
        r->remote_port = tp_addr_port(&flow->remote);
        r->rc = rc;
        r->body_len = msg->body.len;
        r->send_rc = send_rc;
        tp_via_fix(&r->fix, msg, flow);
    }
    pthread_mutex_unlock(&ctx.lock);
}

static unsigned test_owner(const struct sipmsg *msg, const struct tp_flow *flow, unsigned n,
                           void *arg)
{
    unsigned me = ev_thread_worker();
    (void)flow;
    (void)arg;
    (void)n;
    if (me < 2)
        atomic_fetch_add(&ctx.owner_seen[me], 1);
    if (atomic_load(&ctx.hold) && me == 0 && slice_eq(msg->call_id, SLICE_LIT("hold"))) {
        /* The first one keeps worker 0 here until the main thread stops
         * the transport, so this and the following hand-offs likely reach
         * worker 1 after its loop ended (they are then freed unrun). */
        if (!atomic_exchange(&ctx.held, true)) {
            uint64_t end = now_ms() + 5000;
            while (!atomic_load(&ctx.stop_called) && now_ms() < end)
                sleep_ms(1);
            sleep_ms(50);
        }
        return 1;
    }
    return ctx.owner == OWN_WORKER1 ? 1 : me;
}

static int test_worker_init(struct tp_worker *w, void *arg)
{
    (void)arg;
    atomic_fetch_add(&ctx.init_calls, 1);
    if (ev_thread_worker() == tp_worker_id(w))
        atomic_fetch_add(&ctx.init_on_own_thread, 1);
    return 0;
}

static void test_worker_fini(struct tp_worker *w, void *arg)
{
    (void)w;
    (void)arg;
    atomic_fetch_add(&ctx.fini_calls, 1);
}

static void test_error(struct tp_worker *w, const struct tp_flow *flow, int err, void *arg)
{
    (void)w;
    (void)flow;
    (void)arg;
    atomic_store(&ctx.last_error, err);
    atomic_fetch_add(&ctx.errors, 1);
}

static const struct tp_handlers handlers = {
    .recv = test_recv,
    .owner = test_owner,
    .worker_init = test_worker_init,
    .worker_fini = test_worker_fini,
    .error = test_error,
};

/* ---- set-up ---- */

static struct tp_listen listeners[2];

static void ctx_reset(void)
{
    pthread_mutex_lock(&ctx.lock);
    ctx.nrec = 0;
    pthread_mutex_unlock(&ctx.lock);
    atomic_store(&ctx.owner_seen[0], 0);
    atomic_store(&ctx.owner_seen[1], 0);
    ctx.owner = OWN_SELF;
    ctx.reply = false;
    atomic_store(&ctx.init_calls, 0);
    atomic_store(&ctx.init_on_own_thread, 0);
    atomic_store(&ctx.fini_calls, 0);
    atomic_store(&ctx.errors, 0);
    atomic_store(&ctx.last_error, 0);
    atomic_store(&ctx.hold, false);
    atomic_store(&ctx.held, false);
    atomic_store(&ctx.stop_called, false);
}

static void base_config(struct tp_config *cfg)
{
    tp_config_defaults(cfg);
    assert_int_equal(tp_addr_parse(&listeners[0].addr, SLICE_LIT("127.0.0.1:0"), 0), 0);
    listeners[0].proto = TP_UDP;
    assert_int_equal(tp_addr_parse(&listeners[1].addr, SLICE_LIT("127.0.0.1:0"), 0), 0);
    listeners[1].proto = TP_TCP;
    cfg->listeners = listeners;
    cfg->nlisteners = 2;
    cfg->nworkers = 2;
    cfg->udp_batch = 8;
}

static void start(const struct tp_config *cfg)
{
    char err[256];
    ctx_reset();
    g_tp = tp_new(cfg, &handlers, NULL, err, sizeof(err));
    if (g_tp == NULL)
        fail_msg("tp_new: %s", err);
    assert_int_equal(tp_start(g_tp), 0);
}

static int setup_default(void **state)
{
    struct tp_config cfg;
    (void)state;
    base_config(&cfg);
    start(&cfg);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tp_free(g_tp);
    g_tp = NULL;
    return 0;
}

static const struct tp_addr *udp_addr(void)
{
    return &tp_listener(g_tp, 0)->addr;
}

static const struct tp_addr *tcp_addr(void)
{
    return &tp_listener(g_tp, 1)->addr;
}

/* ---- client helpers ---- */

static int make_msg(char *buf, size_t len, const char *call_id, const char *via, const char *body)
{
    int n = snprintf(buf, len,
                     "OPTIONS sip:test@127.0.0.1 SIP/2.0\r\n"
                     "Via: %s\r\n"
                     "From: <sip:a@127.0.0.1>;tag=1\r\n"
                     "To: <sip:test@127.0.0.1>\r\n"
                     "Call-ID: %s\r\n"
                     "CSeq: 1 OPTIONS\r\n"
                     "Max-Forwards: 70\r\n"
                     "Content-Length: %zu\r\n"
                     "\r\n%s",
                     via ? via : "SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bK-1", call_id,
                     strlen(body), body);
    assert_true(n > 0 && (size_t)n < len);
    return n;
}

static int udp_client(struct tp_addr *local)
{
    struct tp_addr a;
    socklen_t alen = sizeof(a.u);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(tp_addr_parse(&a, SLICE_LIT("127.0.0.1:0"), 0), 0);
    assert_int_equal(bind(fd, &a.u.sa, a.len), 0);
    if (local) {
        assert_int_equal(getsockname(fd, &local->u.sa, &alen), 0);
        local->len = alen;
    }
    return fd;
}

static void udp_send_to(int fd, const struct tp_addr *to, const char *data, size_t len)
{
    assert_int_equal(sendto(fd, data, len, 0, &to->u.sa, to->len), (ssize_t)len);
}

static int tcp_client(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, &tcp_addr()->u.sa, tcp_addr()->len), 0);
    return fd;
}

static void write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        assert_true(n > 0);
        p += n;
        len -= (size_t)n;
    }
}

/* Reads until 'needle' is seen, EOF, or the deadline. Returns bytes read
 * (into buf, NUL-terminated), or -1 on EOF/reset before anything. */
static ssize_t read_until(int fd, char *buf, size_t cap, const char *needle, int timeout_ms)
{
    uint64_t end = now_ms() + (uint64_t)timeout_ms * (unsigned)timeout_mult();
    size_t got = 0;
    buf[0] = '\0';
    while (now_ms() < end && got + 1 < cap) {
        struct pollfd pfd = {fd, POLLIN, 0};
        if (poll(&pfd, 1, 10) <= 0)
            continue;
        ssize_t n = recv(fd, buf + got, cap - 1 - got, MSG_DONTWAIT);
        if (n <= 0)
            return got ? (ssize_t)got : -1;
        got += (size_t)n;
        buf[got] = '\0';
        if (needle && strstr(buf, needle))
            break;
    }
    return (ssize_t)got;
}

/* True when the peer closed fd (EOF or reset) within the deadline. */
static bool wait_closed(int fd, int timeout_ms)
{
    uint64_t end = now_ms() + (uint64_t)timeout_ms * (unsigned)timeout_mult();
    char tmp[512];
    while (now_ms() < end) {
        struct pollfd pfd = {fd, POLLIN, 0};
        if (poll(&pfd, 1, 10) <= 0)
            continue;
        ssize_t n = recv(fd, tmp, sizeof(tmp), MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
            return true;
    }
    return false;
}

static bool is_open_now(int fd)
{
    struct pollfd pfd = {fd, POLLIN, 0};
    return poll(&pfd, 1, 0) == 0;
}

/* ---- addresses ---- */

static void test_addr_parse_print_compare(void **state)
{
    struct tp_addr a, b;
    char s[TP_ADDR_STRLEN];
    (void)state;

    assert_int_equal(tp_addr_parse(&a, SLICE_LIT("192.0.2.1:5062"), 5060), 0);
    assert_string_equal(tp_addr_str(&a, s, sizeof(s)), "192.0.2.1:5062");
    assert_int_equal(tp_addr_parse(&b, SLICE_LIT("192.0.2.1"), 5062), 0);
    assert_true(tp_addr_eq(&a, &b));
    tp_addr_set_port(&b, 1);
    assert_false(tp_addr_eq(&a, &b));
    assert_true(tp_addr_ip_eq(&a, &b));

    assert_int_equal(tp_addr_parse(&a, SLICE_LIT("[2001:db8::1]:5070"), 5060), 0);
    assert_int_equal(tp_addr_family(&a), AF_INET6);
    assert_string_equal(tp_addr_str(&a, s, sizeof(s)), "[2001:db8::1]:5070");
    assert_string_equal(tp_addr_ip_str(&a, s, sizeof(s)), "2001:db8::1");
    assert_int_equal(tp_addr_parse(&b, SLICE_LIT("2001:db8::1"), 5070), 0);
    assert_true(tp_addr_eq(&a, &b));
    assert_int_equal(tp_addr_from_ip(&b, SLICE_LIT("[2001:db8::1]"), 5070), 0);
    assert_true(tp_addr_eq(&a, &b));
    assert_int_equal(tp_addr_parse(&a, SLICE_LIT("::"), 0), 0);
    assert_true(tp_addr_is_any(&a));

    assert_int_equal(tp_addr_parse(&a, SLICE_LIT("example.com:5060"), 0), -EINVAL);
    assert_int_equal(tp_addr_parse(&a, SLICE_LIT("1.2.3.4:99999"), 0), -EINVAL);
    assert_int_equal(tp_addr_parse(&a, SLICE_LIT("[::1"), 0), -EINVAL);
    assert_int_equal(tp_addr_parse(&a, SLICE_LIT("[::1]x"), 0), -EINVAL);
    assert_int_equal(tp_addr_parse(&a, SLICE_LIT(""), 0), -EINVAL);
    assert_int_equal(tp_addr_from_ip(&a, SLICE_LIT("[1.2.3.4]"), 0), -EINVAL);
}

static void test_new_reports_bind_error(void **state)
{
    struct tp_config cfg;
    struct tp_listen l;
    char err[256];
    (void)state;
    tp_config_defaults(&cfg);
    assert_int_equal(tp_addr_parse(&l.addr, SLICE_LIT("192.0.2.77:5060"), 0), 0);
    l.proto = TP_UDP;
    cfg.listeners = &l;
    cfg.nlisteners = 1;
    assert_null(tp_new(&cfg, &handlers, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "bind"));
    cfg.nworkers = 0;
    assert_null(tp_new(&cfg, &handlers, NULL, err, sizeof(err)));
}

/* ---- UDP ---- */

static void test_udp_datagram_is_delivered_with_flow(void **state)
{
    char msg[1024];
    struct tp_addr me;
    int fd = udp_client(&me);
    (void)state;

    assert_int_equal(atomic_load(&ctx.init_calls), 2);
    assert_int_equal(atomic_load(&ctx.init_on_own_thread), 2);
    assert_int_not_equal(tp_addr_port(udp_addr()), 0);
    int n = make_msg(msg, sizeof(msg), "udp-1", NULL, "hello");
    udp_send_to(fd, udp_addr(), msg, (size_t)n);
    assert_true(wait_nrec(1));
    const struct rec *r = find_rec("udp-1");
    assert_non_null(r);
    assert_int_equal(r->proto, TP_UDP);
    assert_int_equal(r->remote_port, tp_addr_port(&me));
    assert_int_equal(r->rc, SIP_PARSE_OK);
    assert_int_equal(r->body_len, 5);
    assert_int_equal(r->conn_id, 0);
    close(fd);
}

static void test_udp_keepalive_and_garbage_are_dropped(void **state)
{
    char msg[1024];
    int fd = udp_client(NULL);
    uint64_t ka = metric_val("sip_rx_keepalives_total{transport=\"udp\"}");
    uint64_t bad = metric_val("sip_rx_dropped_bad_total{transport=\"udp\"}");
    (void)state;

    udp_send_to(fd, udp_addr(), "\r\n\r\n", 4);
    udp_send_to(fd, udp_addr(), "\r\n", 2);
    udp_send_to(fd, udp_addr(), "\x01\x02garbage", 9);
    int n = make_msg(msg, sizeof(msg), "udp-after", NULL, "");
    udp_send_to(fd, udp_addr(), msg, (size_t)n);
    assert_true(wait_nrec(1));
    assert_true(wait_metric("sip_rx_keepalives_total{transport=\"udp\"}", ka + 2));
    assert_true(wait_metric("sip_rx_dropped_bad_total{transport=\"udp\"}", bad + 1));
    assert_int_equal(nrec(), 1);
    assert_non_null(find_rec("udp-after"));
    close(fd);
}

static void test_udp_handoff_runs_recv_on_owner_worker(void **state)
{
    char msg[1024];
    int fds[64];
    unsigned sent = 0;
    uint64_t handoffs = metric_val("sip_handoffs_total");
    (void)state;

    ctx.owner = OWN_WORKER1;
    /* Different source ports spread over both workers' sockets. */
    for (unsigned i = 0; i < 64; i++) {
        char cid[32];
        snprintf(cid, sizeof(cid), "ho-%u", i);
        fds[i] = udp_client(NULL);
        int n = make_msg(msg, sizeof(msg), cid, NULL, "");
        udp_send_to(fds[i], udp_addr(), msg, (size_t)n);
        sent++;
        if (i >= 16 && atomic_load(&ctx.owner_seen[0]) > 0 && atomic_load(&ctx.owner_seen[1]) > 0)
            break;
    }
    assert_true(wait_nrec(sent));
    assert_true(atomic_load(&ctx.owner_seen[0]) > 0);
    assert_true(atomic_load(&ctx.owner_seen[1]) > 0);
    unsigned wrong = 0;
    pthread_mutex_lock(&ctx.lock);
    for (unsigned i = 0; i < ctx.nrec; i++)
        if (ctx.recs[i].worker != 1 || ctx.recs[i].thread_worker != 1)
            wrong++;
    pthread_mutex_unlock(&ctx.lock);
    assert_int_equal(wrong, 0);
    assert_true(metric_val("sip_handoffs_total") >= handoffs + atomic_load(&ctx.owner_seen[0]));
    for (unsigned i = 0; i < sent; i++)
        close(fds[i]);
}

static void test_udp_response_goes_to_rport_source(void **state)
{
    char msg[1024], buf[1024];
    struct tp_addr me;
    int fd = udp_client(&me);
    (void)state;

    ctx.reply = true;
    /* sent-by is elsewhere; rport asks for the source port (RFC 3581). */
    int n = make_msg(msg, sizeof(msg), "rport-1",
                     "SIP/2.0/UDP 192.0.2.1:5099;rport;branch=z9hG4bK-r", "");
    udp_send_to(fd, udp_addr(), msg, (size_t)n);
    assert_true(read_until(fd, buf, sizeof(buf), "rport-1", 5000) > 0);
    assert_non_null(strstr(buf, "SIP/2.0 200 OK"));
    assert_true(wait_nrec(1));
    const struct rec *r = find_rec("rport-1");
    assert_non_null(r);
    assert_int_equal(r->send_rc, 0);
    assert_true(r->fix.add_received);
    assert_string_equal(r->fix.received, "127.0.0.1");
    assert_true(r->fix.add_rport);
    assert_int_equal(r->fix.rport, tp_addr_port(&me));
    close(fd);
}

static void test_udp_response_without_rport_goes_to_sent_by_port(void **state)
{
    char msg[1024], buf[1024], via[128];
    struct tp_addr other;
    int fd = udp_client(NULL);
    int ofd = udp_client(&other);
    (void)state;

    ctx.reply = true;
    snprintf(via, sizeof(via), "SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bK-s",
             (unsigned)tp_addr_port(&other));
    int n = make_msg(msg, sizeof(msg), "sentby-1", via, "");
    udp_send_to(fd, udp_addr(), msg, (size_t)n);
    assert_true(read_until(ofd, buf, sizeof(buf), "sentby-1", 5000) > 0);
    assert_true(wait_nrec(1));
    const struct rec *r = find_rec("sentby-1");
    assert_false(r->fix.add_received);
    assert_false(r->fix.add_rport);
    close(fd);
    close(ofd);
}

static void test_udp_ipv6_listener_replies(void **state)
{
    struct tp_config cfg;
    struct tp_listen l6;
    struct tp_addr me;
    socklen_t alen = sizeof(me.u);
    char msg[1024], buf[1024];
    (void)state;

    int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_int_equal(tp_addr_parse(&me, SLICE_LIT("[::1]:0"), 0), 0);
    if (fd < 0 || bind(fd, &me.u.sa, me.len) < 0) {
        if (fd >= 0)
            close(fd);
        skip(); /* no IPv6 loopback here */
    }
    assert_int_equal(getsockname(fd, &me.u.sa, &alen), 0);
    me.len = alen;
    tp_config_defaults(&cfg);
    l6.proto = TP_UDP;
    assert_int_equal(tp_addr_parse(&l6.addr, SLICE_LIT("[::1]:0"), 0), 0);
    cfg.listeners = &l6;
    cfg.nlisteners = 1;
    cfg.nworkers = 2;
    start(&cfg);
    ctx.reply = true;
    assert_int_equal(tp_listener_find(g_tp, TP_UDP, AF_INET6), 0);
    assert_int_equal(tp_listener_find(g_tp, TP_TCP, AF_INET6), -ENOENT);
    int n = make_msg(msg, sizeof(msg), "v6-1", "SIP/2.0/UDP [::1]:9;rport;branch=z9hG4bK-6", "");
    udp_send_to(fd, &tp_listener(g_tp, 0)->addr, msg, (size_t)n);
    assert_true(read_until(fd, buf, sizeof(buf), "v6-1", 5000) > 0);
    assert_true(wait_nrec(1));
    const struct rec *r = find_rec("v6-1");
    assert_non_null(r);
    assert_int_equal(r->remote_port, tp_addr_port(&me));
    assert_string_equal(r->fix.received, "::1");
    assert_true(r->fix.add_received); /* rport present: always (RFC 3581 §4) */
    close(fd);
}

/* ---- TCP ---- */

static void test_tcp_message_split_across_three_writes(void **state)
{
    char msg[1024];
    int fd = tcp_client();
    (void)state;

    int n = make_msg(msg, sizeof(msg), "split-1", "SIP/2.0/TCP 127.0.0.1:5099;branch=z9hG4bK-t",
                     "body-bytes");
    write_all(fd, msg, 10);
    sleep_ms(20);
    write_all(fd, msg + 10, (size_t)n / 2);
    sleep_ms(20);
    write_all(fd, msg + 10 + n / 2, (size_t)n - 10 - (size_t)n / 2);
    assert_true(wait_nrec(1));
    const struct rec *r = find_rec("split-1");
    assert_non_null(r);
    assert_int_equal(r->proto, TP_TCP);
    assert_int_equal(r->body_len, 10);
    assert_int_not_equal(r->conn_id, 0);
    assert_true(tp_conn_worker(r->conn_id) < 2);
    close(fd);
}

static void test_tcp_two_messages_in_one_write_and_keepalives(void **state)
{
    char buf[4096], msg[1024];
    size_t len = 0;
    int fd = tcp_client();
    (void)state;

    /* keep-alive, message, keep-alive, message in one write */
    memcpy(buf, "\r\n", 2);
    len = 2;
    len += (size_t)make_msg(buf + len, sizeof(buf) - len, "two-a", NULL, "x");
    memcpy(buf + len, "\r\n", 2);
    len += 2;
    len += (size_t)make_msg(buf + len, sizeof(buf) - len, "two-b", NULL, "yy");
    write_all(fd, buf, len);
    assert_true(wait_nrec(2));
    assert_string_equal(ctx.recs[0].call_id, "two-a");
    assert_string_equal(ctx.recs[1].call_id, "two-b");
    assert_int_equal(ctx.recs[1].body_len, 2);

    /* RFC 5626 §3.5.1: CRLFCRLF ping gets a CRLF pong */
    write_all(fd, "\r\n\r\n", 4);
    ssize_t got = read_until(fd, msg, sizeof(msg), "\r\n", 5000);
    assert_int_equal(got, 2);
    assert_string_equal(msg, "\r\n");
    assert_true(is_open_now(fd));
    close(fd);
}

static void test_tcp_response_on_same_connection_across_workers(void **state)
{
    char msg[1024], buf[1024];
    int fds[16];
    unsigned used = 0;
    bool saw_w0 = false;
    (void)state;

    ctx.owner = OWN_WORKER1;
    ctx.reply = true;
    for (unsigned i = 0; i < 16; i++) {
        char cid[32];
        snprintf(cid, sizeof(cid), "tcp-resp-%u", i);
        fds[i] = tcp_client();
        used++;
        int n = make_msg(msg, sizeof(msg), cid, "SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bK-c", "");
        write_all(fds[i], msg, (size_t)n);
        assert_true(read_until(fds[i], buf, sizeof(buf), cid, 5000) > 0);
        assert_non_null(strstr(buf, cid));
        assert_true(wait_nrec(i + 1));
        pthread_mutex_lock(&ctx.lock);
        struct rec r = *find_rec(cid);
        pthread_mutex_unlock(&ctx.lock);
        assert_int_equal(r.thread_worker, 1);
        assert_int_equal(r.send_rc, 0);
        if (tp_conn_worker(r.conn_id) == 0)
            saw_w0 = true;
        if (saw_w0 && i >= 2)
            break;
    }
    /* at least one reply went through a send job to worker 0 */
    assert_true(saw_w0);
    for (unsigned i = 0; i < used; i++)
        close(fds[i]);
}

static void test_tcp_garbage_without_content_length_closes(void **state)
{
    const char *bad = "OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/TCP 1.2.3.4\r\nCall-ID: g\r\n\r\n";
    uint64_t fe = metric_val("tcp_frame_errors_total");
    int fd = tcp_client();
    (void)state;

    write_all(fd, bad, strlen(bad));
    assert_true(wait_closed(fd, 5000));
    assert_true(metric_val("tcp_frame_errors_total") > fe);
    close(fd);

    /* Endless header garbage: closed long before 10 MB are written. */
    fd = tcp_client();
    char chunk[65536];
    memset(chunk, 'A', sizeof(chunk));
    size_t total = 0;
    bool failed = false;
    uint64_t end = now_ms() + 10000u * (unsigned)timeout_mult();
    while (total < 10u * 1024 * 1024 && now_ms() < end) {
        struct pollfd pfd = {fd, POLLOUT, 0};
        if (poll(&pfd, 1, 50) <= 0)
            continue;
        ssize_t n = send(fd, chunk, sizeof(chunk), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            continue;
        if (n <= 0) {
            failed = true;
            break;
        }
        total += (size_t)n;
    }
    assert_true(failed);
    assert_int_equal(nrec(), 0);
    close(fd);
}

static void test_tcp_per_source_limit_closes_extra_connection(void **state)
{
    struct tp_config cfg;
    int fds[4];
    unsigned closed = 0;
    (void)state;

    base_config(&cfg);
    cfg.tcp_max_per_source = 3;
    start(&cfg);
    uint64_t acc = metric_val("tcp_accepted_total");
    uint64_t ref = metric_val("tcp_refused_source_total");
    for (int i = 0; i < 4; i++)
        fds[i] = tcp_client();
    assert_true(wait_metric("tcp_accepted_total", acc + 3));
    assert_true(wait_metric("tcp_refused_source_total", ref + 1));
    for (int i = 0; i < 4; i++)
        if (wait_closed(fds[i], 100))
            closed++;
    assert_int_equal(closed, 1);
    assert_int_equal(metric_val("tcp_accepted_total"), acc + 3);
    assert_int_equal(tp_tcp_open_count(g_tp), 3);
    /* closing one frees its slot for a new connection */
    for (int i = 0; i < 4; i++)
        close(fds[i]);
    uint64_t end = now_ms() + 5000;
    while (tp_tcp_open_count(g_tp) != 0 && now_ms() < end)
        sleep_ms(2);
    assert_int_equal(tp_tcp_open_count(g_tp), 0);
    fds[0] = tcp_client();
    assert_true(wait_metric("tcp_accepted_total", acc + 4));
    assert_false(wait_closed(fds[0], 50));
    close(fds[0]);
}

static void test_tcp_idle_connection_is_closed(void **state)
{
    struct tp_config cfg;
    (void)state;

    base_config(&cfg);
    cfg.tcp_idle_timeout_ms = 200;
    start(&cfg);
    uint64_t idle = metric_val("tcp_idle_closed_total");
    int fd = tcp_client();
    write_all(fd, "\r\n", 2); /* activity does not keep it forever */
    assert_true(wait_closed(fd, 5000));
    assert_true(metric_val("tcp_idle_closed_total") > idle);
    close(fd);
}

/* ---- outbound TCP (driven from a worker through a posted job) ---- */

struct call_job {
    struct ev_job job;
    struct tp_worker *w;
    struct tp_flow flow;
    const char *data;
    atomic_int rc;
    atomic_bool done;
};

static void call_job_run(struct ev_job *j)
{
    struct call_job *cj = SW_CONTAINER_OF(j, struct call_job, job);
    atomic_store(&cj->rc, tp_send(cj->w, &cj->flow, cj->data, strlen(cj->data)));
    atomic_store(&cj->done, true);
}

static int send_from_worker(unsigned wi, const struct tp_flow *flow, const char *data)
{
    struct call_job cj = {.job.fn = call_job_run, .flow = *flow, .data = data};
    uint64_t end = now_ms() + 5000;
    cj.w = tp_worker_get(g_tp, wi);
    atomic_init(&cj.rc, 1);
    atomic_init(&cj.done, false);
    ev_post(tp_worker_loop(cj.w), &cj.job);
    while (!atomic_load(&cj.done) && now_ms() < end)
        sleep_ms(1);
    assert_true(atomic_load(&cj.done));
    return atomic_load(&cj.rc);
}

static void test_tcp_outbound_reuses_connection_and_reports_failure(void **state)
{
    struct tp_flow flow;
    struct tp_addr peer;
    socklen_t alen = sizeof(peer.u);
    char buf[256];
    (void)state;

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_int_equal(tp_addr_parse(&peer, SLICE_LIT("127.0.0.1:0"), 0), 0);
    assert_int_equal(bind(lfd, &peer.u.sa, peer.len), 0);
    assert_int_equal(listen(lfd, 8), 0);
    assert_int_equal(getsockname(lfd, &peer.u.sa, &alen), 0);
    peer.len = alen;

    memset(&flow, 0, sizeof(flow));
    flow.proto = TP_TCP;
    flow.listener = 1;
    flow.remote = peer;
    assert_int_equal(send_from_worker(0, &flow, "first;"), 0);
    int cfd = accept(lfd, NULL, NULL);
    assert_true(cfd >= 0);
    assert_int_equal(send_from_worker(0, &flow, "second;"), 0);
    assert_true(read_until(cfd, buf, sizeof(buf), "second;", 5000) > 0);
    assert_string_equal(buf, "first;second;");
    /* no second connection */
    struct pollfd pfd = {lfd, POLLIN, 0};
    assert_int_equal(poll(&pfd, 1, 50), 0);
    close(cfd);
    close(lfd);

    /* Nothing listens there now: the queued data is reported lost. */
    assert_int_equal(send_from_worker(1, &flow, "lost"), 0);
    uint64_t end = now_ms() + 5000;
    while (atomic_load(&ctx.errors) == 0 && now_ms() < end)
        sleep_ms(2);
    assert_int_equal(atomic_load(&ctx.errors), 1);
    assert_int_equal(atomic_load(&ctx.last_error), -ECONNREFUSED);
}

/* ---- shutdown ---- */

static void test_shutdown_with_jobs_queued_leaks_nothing(void **state)
{
    char msg[1024];
    int fds[64];
    unsigned used = 0;
    (void)state;

    atomic_store(&ctx.hold, true);
    for (unsigned i = 0; i < 64 && !atomic_load(&ctx.held); i++) {
        fds[used++] = udp_client(NULL);
        int n = make_msg(msg, sizeof(msg), "hold", NULL, "");
        udp_send_to(fds[used - 1], udp_addr(), msg, (size_t)n);
        sleep_ms(2);
    }
    uint64_t end = now_ms() + 5000;
    while (!atomic_load(&ctx.held) && now_ms() < end)
        sleep_ms(2);
    assert_true(atomic_load(&ctx.held));
    /* more traffic for worker 0 to hand over while stopping */
    for (unsigned i = 0; i < used; i++) {
        int n = make_msg(msg, sizeof(msg), "hold", NULL, "");
        udp_send_to(fds[i], udp_addr(), msg, (size_t)n);
    }
    uint64_t discarded = metric_val("sip_handoffs_discarded_total");
    atomic_store(&ctx.stop_called, true);
    tp_stop(g_tp);
    /* Usually > 0; which jobs are still queued is up to the scheduler, so
     * this is reported, not asserted. ASan checks that none leaked. */
    print_message("hand-offs freed unrun at shutdown: %llu\n",
                  (unsigned long long)(metric_val("sip_handoffs_discarded_total") - discarded));
    assert_int_equal(atomic_load(&ctx.fini_calls), 2);
    tp_free(g_tp);
    g_tp = NULL;
    for (unsigned i = 0; i < used; i++)
        close(fds[i]);
}

static int group_setup(void **state)
{
    (void)state;
    htab_seed_random();
    pthread_mutex_init(&ctx.lock, NULL);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addr_parse_print_compare),
        cmocka_unit_test(test_new_reports_bind_error),
        cmocka_unit_test_setup_teardown(test_udp_datagram_is_delivered_with_flow, setup_default,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_udp_keepalive_and_garbage_are_dropped, setup_default,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_udp_handoff_runs_recv_on_owner_worker, setup_default,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_udp_response_goes_to_rport_source, setup_default,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_udp_response_without_rport_goes_to_sent_by_port,
                                        setup_default, teardown),
        cmocka_unit_test_teardown(test_udp_ipv6_listener_replies, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_message_split_across_three_writes, setup_default,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tcp_two_messages_in_one_write_and_keepalives,
                                        setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_response_on_same_connection_across_workers,
                                        setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_garbage_without_content_length_closes,
                                        setup_default, teardown),
        cmocka_unit_test_teardown(test_tcp_per_source_limit_closes_extra_connection, teardown),
        cmocka_unit_test_teardown(test_tcp_idle_connection_is_closed, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_outbound_reuses_connection_and_reports_failure,
                                        setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_shutdown_with_jobs_queued_leaks_nothing, setup_default,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
