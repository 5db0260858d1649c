/* SPDX-License-Identifier: BSD-2-Clause */
/* The sipwarden configuration: option tables, listen URIs, path resolution. */
#include "conf.h"

#include "sip/uri.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CONF_MAX_HOST 253 /* RFC 1035 name length; also bounds an IP literal */

/* --- listen URIs ---------------------------------------------------------- */

static const char *const proto_names[] = {"udp", "tcp", NULL};

const char *conf_proto_name(enum conf_proto p)
{
    return (unsigned)p < SW_ARRAY_LEN(proto_names) - 1 ? proto_names[p] : "?";
}

/*
 * Parses "udp://IP:PORT" or "tcp://[IPv6]:PORT" into 'l'. Only IP literals:
 * sockets open before any resolver runs, and a name that resolves to several
 * addresses would make "which address do we bind" ambiguous. Returns NULL or
 * a static reason.
 */
static const char *listen_parse(struct conf_listen *l, const char *s, size_t len)
{
    const char *sep = memmem(s, len, "://", 3);
    char host[CONF_MAX_HOST + 1];
    struct slice scheme, rest, h, port;
    uint64_t portnum;
    const char *colon;
    bool is_v6 = false;

    if (sep == NULL)
        return "is not a listen URI (expected udp://IP:PORT or tcp://IP:PORT)";
    scheme = slice_make(s, (size_t)(sep - s));
    rest = slice_make(sep + 3, len - (size_t)(sep - s) - 3);
    if (slice_caseeq_cstr(scheme, "udp"))
        l->proto = CONF_PROTO_UDP;
    else if (slice_caseeq_cstr(scheme, "tcp"))
        l->proto = CONF_PROTO_TCP;
    else
        return "has an unsupported scheme (use udp:// or tcp://)";
    if (rest.len > 0 && rest.p[0] == '[') {
        const char *close = memchr(rest.p, ']', rest.len);
        if (close == NULL)
            return "has '[' without ']' around the IPv6 address";
        h = slice_make(rest.p + 1, (size_t)(close - rest.p - 1));
        is_v6 = true;
        rest = slice_make(close + 1, rest.len - (size_t)(close + 1 - rest.p));
        if (rest.len == 0 || rest.p[0] != ':')
            return "has no port (expected [IPv6]:PORT)";
        port = slice_make(rest.p + 1, rest.len - 1);
    } else {
        colon = memrchr(rest.p, ':', rest.len);
        if (colon == NULL)
            return "has no port (expected IP:PORT)";
        h = slice_make(rest.p, (size_t)(colon - rest.p));
        port = slice_make(colon + 1, rest.len - (size_t)(colon + 1 - rest.p));
        if (memchr(h.p, ':', h.len) != NULL)
            return "has an IPv6 address without brackets (write [::1]:5060)";
    }
    if (h.len == 0)
        return "has no IP address";
    if (h.len >= sizeof(host))
        return "has an address that is too long";
    memcpy(host, h.p, h.len);
    host[h.len] = '\0';
    if (port.len == 0 || slice_to_u64(&portnum, port, 65535) < 0 || portnum == 0)
        return "has a bad port (expected 1..65535)";
    memset(&l->addr, 0, sizeof(l->addr));
    if (is_v6) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&l->addr;
        if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
            return "has a bad IPv6 address";
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)portnum);
        l->addrlen = sizeof(*sin6);
    } else {
        struct sockaddr_in *sin = (struct sockaddr_in *)&l->addr;
        if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
            return "needs an IP address (host names are not resolved at start-up)";
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)portnum);
        l->addrlen = sizeof(*sin);
    }
    return NULL;
}

static bool listen_same(const struct conf_listen *a, const struct conf_listen *b)
{
    return a->proto == b->proto && a->addrlen == b->addrlen &&
           memcmp(&a->addr, &b->addr, a->addrlen) == 0;
}

static void listen_free(void *dst)
{
    struct conf_listens *ls = dst;

    for (size_t i = 0; i < ls->count; i++)
        free(ls->items[i].uri);
    free(ls->items);
    memset(ls, 0, sizeof(*ls));
}

static int listen_parse_all(void *dst, struct cfg_node *node, struct cfg_ctx *ctx)
{
    struct conf_listens *ls = dst;
    size_t count = cfg_node_seq_count(node);

    if (!cfg_node_is_seq(node))
        return cfg_error(ctx, node, "expected a list of URIs such as udp://127.0.0.1:5060");
    if (count == 0)
        return cfg_error(ctx, node, "at least one listen address is required");
    ls->items = calloc(count, sizeof(*ls->items));
    if (ls->items == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < count; i++) {
        struct cfg_node *item = cfg_node_seq_at(node, i);
        struct conf_listen *l = &ls->items[i];
        size_t len;
        const char *s = cfg_node_str(item, &len);
        const char *why;

        if (s == NULL || cfg_node_is_null(item))
            return cfg_error(ctx, item, "expected a URI such as udp://127.0.0.1:5060");
        if ((why = listen_parse(l, s, len)) != NULL)
            return cfg_error(ctx, item, "'%.*s' %s", (int)SW_MIN(len, 80), s, why);
        for (size_t j = 0; j < i; j++)
            if (listen_same(&ls->items[j], l))
                return cfg_error(ctx, item, "'%.*s' repeats listen[%zu] '%s'", (int)SW_MIN(len, 80),
                                 s, j, ls->items[j].uri);
        l->uri = strndup(s, len);
        if (l->uri == NULL)
            return -ENOMEM;
        ls->count = i + 1;
    }
    return 0;
}

static bool listen_equal(const void *a, const void *b)
{
    const struct conf_listens *la = a, *lb = b;

    if (la->count != lb->count)
        return false;
    for (size_t i = 0; i < la->count; i++)
        if (!listen_same(&la->items[i], &lb->items[i]))
            return false;
    return true;
}

static const struct cfg_custom listen_type = {
    .type_name = "list of listen URIs",
    .parse = listen_parse_all,
    .free = listen_free,
    .equal = listen_equal,
};

/* --- string checks -------------------------------------------------------- */

/* The name goes verbatim into Server and User-Agent headers (RFC 3261 §20.35). */
static const char *check_server_name(const char *s, size_t len)
{
    if (len == 0)
        return "is empty";
    if (len > 128)
        return "is longer than 128 characters";
    if (s[0] == ' ' || s[len - 1] == ' ')
        return "starts or ends with a space";
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return "must be printable ASCII (it is sent in Server and User-Agent headers)";
    return NULL;
}

static const char *check_domain(const char *s, size_t len)
{
    char ip[64];
    struct in6_addr a6;
    size_t label = 0;

    if (len == 0)
        return "is empty";
    if (len > CONF_MAX_HOST)
        return "is longer than 253 characters";
    if (memchr(s, ':', len) != NULL) {
        if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
            s++;
            len -= 2;
        }
        if (len >= sizeof(ip))
            return "is not a valid IPv6 address";
        memcpy(ip, s, len);
        ip[len] = '\0';
        return inet_pton(AF_INET6, ip, &a6) == 1 ? NULL : "is not a valid IPv6 address";
    }
    /* RFC 1035 §2.3.1 host name; an IPv4 literal also fits this shape. */
    for (size_t i = 0; i <= len; i++) {
        if (i == len || s[i] == '.') {
            if (label == 0 || label > 63 || s[i - 1] == '-' || s[i - label] == '-')
                return "is not a host name or IP address";
            label = 0;
        } else if ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                   (s[i] >= '0' && s[i] <= '9') || s[i] == '-') {
            label++;
        } else {
            return "is not a host name or IP address";
        }
    }
    return NULL;
}

static bool has_prefix(const char *s, size_t len, const char *p)
{
    size_t plen = strlen(p);

    return len >= plen && strncasecmp(s, p, plen) == 0;
}

static const char *check_store(const char *s, size_t len)
{
    if (has_prefix(s, len, "sqlite:"))
        return len > 7 ? NULL : "needs a file after sqlite:";
    if (has_prefix(s, len, "redis://"))
        return len > 8 ? NULL : "needs host:port after redis://";
    if (len == 6 && has_prefix(s, len, "memory"))
        return NULL;
    return "is not a store (use sqlite:PATH, redis://HOST:PORT or memory)";
}

/* --- tables --------------------------------------------------------------- */

static const char *const log_level_names[] = {"error", "warn", "notice", "info", "debug", NULL};
static const char *const log_format_names[] = {"text", "json", NULL};

const char *conf_log_level_name(int level)
{
    return level >= 0 && level < (int)SW_ARRAY_LEN(log_level_names) - 1 ? log_level_names[level]
                                                                        : "?";
}

static const struct cfg_opt server_opts[] = {
    CFG_STRING("name", struct conf_server, name, "sipwarden", check_server_name, true,
               "Product name sent in the Server header of responses and the User-Agent "
               "header of requests that sipwarden originates. Printable ASCII, at most 128 "
               "characters."),
    CFG_STRLIST("domains", struct conf_server, domains, NULL, check_domain, true,
                "Host names and IP addresses that mean \"this server\" in a Request-URI or "
                "Route, besides the listen addresses (which always count). A request for "
                "one of them is handled here; anything else is forwarded."),
    CFG_END,
};

static const struct cfg_opt log_opts[] = {
    CFG_ENUM("level", struct conf_log, level, "notice", log_level_names, true,
             "Least severe message written: error, warn, notice, info or debug. "
             "debug logs every message and is meant for troubleshooting, not production."),
    CFG_ENUM("format", struct conf_log, format, "text", log_format_names, true,
             "text: one human-readable line per event; json: one JSON object per line, "
             "for log shippers."),
    CFG_STRING("file", struct conf_log, file, "", NULL, true,
               "File the log is appended to; empty means standard error. A relative path "
               "is resolved against the directory of the configuration file."),
    CFG_END,
};

static const struct cfg_opt limits_opts[] = {
    CFG_SIZE("max_message_size", struct conf_limits, max_message_size, "64k", 1024, 1 << 20, false,
             "Largest SIP message accepted, headers and body together, on any transport. "
             "Larger messages are rejected and counted."),
    CFG_UINT("max_headers", struct conf_limits, max_headers, "128", 8, 1024, false,
             "Most header fields one message may carry. A message with more is rejected "
             "and counted."),
    CFG_UINT("max_via", struct conf_limits, max_via, "70", 1, 256, false,
             "Most Via entries one message may carry; a message with more is rejected. The "
             "default matches the default Max-Forwards of 70 (one Via per hop), so every "
             "message that can legally arrive is accepted (RFC 4475 §3.1.1.5 carries 34)."),
    CFG_END,
};

static const struct cfg_opt udp_opts[] = {
    CFG_UINT("batch", struct conf_udp, batch, "32", 1, 256, false,
             "Datagrams moved per recvmmsg/sendmmsg system call. Larger batches cost fewer "
             "system calls under load; 1 disables batching."),
    CFG_SIZE("rcvbuf", struct conf_udp, rcvbuf, "4M", 0, 256u << 20, false,
             "Socket receive buffer (SO_RCVBUF) of each UDP socket; 0 keeps the kernel "
             "default. The kernel caps it at net.core.rmem_max, so raise that sysctl too. "
             "A larger buffer absorbs bursts instead of dropping datagrams."),
    CFG_SIZE("sndbuf", struct conf_udp, sndbuf, "0", 0, 256u << 20, false,
             "Socket send buffer (SO_SNDBUF) of each UDP socket; 0 keeps the kernel "
             "default (capped by net.core.wmem_max)."),
    CFG_END,
};

static const struct cfg_opt tcp_opts[] = {
    CFG_UINT("max_connections", struct conf_tcp, max_connections, "4096", 1, 1000000, false,
             "Most TCP connections open at once, inbound and outbound together. New "
             "inbound connections beyond it are refused."),
    CFG_UINT("max_connections_per_source", struct conf_tcp, max_connections_per_source, "32", 1,
             65535, false,
             "Most inbound TCP connections from one source IP address, so that one peer "
             "cannot use up max_connections."),
    CFG_DURATION("idle_timeout", struct conf_tcp, idle_timeout_ms, "120s", CFG_UNIT_S, 1000,
                 3600 * 1000, false,
                 "A TCP connection that carries no data for this long is closed."),
    CFG_DURATION("connect_timeout", struct conf_tcp, connect_timeout_ms, "5s", CFG_UNIT_S, 100,
                 300 * 1000, false,
                 "How long an outbound TCP connect may take before the message that needed "
                 "it fails with a transport error."),
    CFG_END,
};

/* A proxy target until the route table lands: an IP-literal sip: URI, since
 * names would need DNS before the first request (RFC 3263 comes with the
 * routing layer). */
static const char *check_target(const char *s, size_t len)
{
    struct uri u;
    struct sip_err err;
    struct slice q;
    uint64_t dummy;

    if (uri_parse(&u, slice_make(s, len), &err) != SIP_PARSE_OK || u.scheme != URI_SIP)
        return "is not a sip: URI such as sip:127.0.0.1:5070;transport=tcp";
    if (u.host_type != URI_HOST_IPV4 && u.host_type != URI_HOST_IPV6)
        return "needs an IP address as host (names are not resolved here yet)";
    if (u.transport.len != 0 && !slice_caseeq_cstr(u.transport, "udp") &&
        !slice_caseeq_cstr(u.transport, "tcp"))
        return "has a transport other than udp or tcp";
    if (uri_param_find(u.params, "q", &q)) {
        /* q-value (RFC 3261 §20.10): 0, 1, 0.x, 0.xx, 0.xxx or 1.000 */
        if (q.len == 0 || q.len > 5 || (q.p[0] != '0' && q.p[0] != '1') ||
            (q.len > 1 && q.p[1] != '.') ||
            (q.len > 2 && slice_to_u64(&dummy, slice_make(q.p + 2, q.len - 2), 999) != 0) ||
            (q.p[0] == '1' && q.len > 2 && dummy != 0))
            return "has a q other than 0..1 with at most 3 decimals";
    }
    return NULL;
}

static const char *const proxy_next_names[] = {"unavailable", "failure", NULL};

static const struct cfg_opt proxy_opts[] = {
    CFG_BOOL("record_route", struct conf_proxy, record_route, "true", true,
             "Add Record-Route to dialog-creating requests (INVITE, SUBSCRIBE, REFER, NOTIFY) "
             "so in-dialog requests come through the proxy (RFC 3261 §16.6 step 4). Two "
             "entries are added when the request leaves on another listener or transport."),
    CFG_BOOL("stateless", struct conf_proxy, stateless, "false", true,
             "Forward without transactions (RFC 3261 §16.11): no forking, no failover, no "
             "CANCEL handling of our own, responses relayed by Via. Cheaper, for simple "
             "relays."),
    CFG_STRLIST("default_target", struct conf_proxy, default_target, NULL, check_target, true,
                "Next hops for requests that no route matches, as sip:IP[:PORT] with optional "
                ";transport=udp|tcp and ;q=0..1. The Request-URI is kept (the targets act as "
                "outbound proxies). Equal q are tried in parallel, higher q first, the next "
                "group when one fails (see next). Empty: such requests get 404."),
    CFG_ENUM("next", struct conf_proxy, next, "unavailable", proxy_next_names, true,
             "When the next q-group of targets is tried: unavailable (after 408, 503 or a "
             "transport error: failover) or failure (after any non-2xx final but 6xx: "
             "serial forking)."),
    CFG_DURATION("timer_c", struct conf_proxy, timer_c_ms, "180s", CFG_UNIT_S, 1000, 3600 * 1000,
                 false,
                 "Timer C (RFC 3261 §16.8): an INVITE branch with no final response this long "
                 "after its last provisional is cancelled. The RFC asks for more than 3 "
                 "minutes."),
    CFG_UINT("max_branches", struct conf_proxy, max_branches, "16", 1, 64, false,
             "Most client transactions (forks and failovers together) one request may "
             "start."),
    CFG_END,
};

static const struct cfg_opt txn_opts[] = {
    CFG_DURATION("t1", struct conf_txn, t1_ms, "500ms", CFG_UNIT_MS, 10, 600000, false,
                 "T1, the round-trip estimate (RFC 3261 §17.1.1.1): first retransmission "
                 "interval on UDP; Timers B, F and H are 64*T1."),
    CFG_DURATION("t2", struct conf_txn, t2_ms, "4s", CFG_UNIT_MS, 10, 600000, false,
                 "T2, the cap of non-INVITE and response retransmission intervals; at least "
                 "T1."),
    CFG_DURATION("t4", struct conf_txn, t4_ms, "5s", CFG_UNIT_MS, 10, 600000, false,
                 "T4, how long a message may stay in the network (Timers I and K)."),
    CFG_UINT("max_transactions", struct conf_txn, max_transactions, "262144", 16, 10000000, false,
             "Live transactions per worker; a new request beyond it gets 503 with "
             "Retry-After. A proxied call holds about 4 transactions for 64*T1 (32 s) after "
             "its last response (RFC 3261 §17, RFC 6026), about 5 KB each today, so the "
             "default carries about 2,000 calls/s per worker in about 1.3 GB."),
    CFG_END,
};

const struct cfg_opt conf_opts[] = {
    CFG_CUSTOM("listen", struct conf, listen, "[udp://127.0.0.1:5060, tcp://127.0.0.1:5060]",
               &listen_type, false,
               "Addresses to receive SIP on, as udp://IP:PORT or tcp://IP:PORT; an IPv6 "
               "address goes in brackets (udp://[::1]:5060). Use 0.0.0.0 or [::] for every "
               "interface. IP literals only: names are not resolved at start-up. Each "
               "entry must be unique."),
    CFG_UINT("workers", struct conf, workers, "0", 0, 64, false,
             "Worker threads, each with its own event loop and its own socket on every UDP "
             "listener. 0 starts one per online CPU."),
    CFG_SECTION("server", struct conf, server, server_opts, "Identity of this server."),
    CFG_SECTION("log", struct conf, log, log_opts, "Logging."),
    CFG_SECTION("limits", struct conf, limits, limits_opts,
                "Bounds on every received message. What breaks a limit is rejected and "
                "counted, never allowed to grow memory."),
    CFG_SECTION("udp", struct conf, udp, udp_opts, "UDP sockets."),
    CFG_SECTION("tcp", struct conf, tcp, tcp_opts, "TCP connections."),
    CFG_SECTION("proxy", struct conf, proxy, proxy_opts, "SIP proxy (RFC 3261 §16)."),
    CFG_SECTION("txn", struct conf, txn, txn_opts, "SIP transactions (RFC 3261 §17)."),
    CFG_SECTION("dns", struct conf, dns, dns_opts,
                "RFC 3263 resolution of next hops (NAPTR, SRV, A, AAAA) with c-ares."),
    ROUTE_CFG_OPTS(struct conf, routes, default_route),
    DISP_CFG_OPT(struct conf, dispatchers),
    CFG_STRING("store", struct conf, store, "sqlite:var/sipwarden.db", check_store, false,
               "Where registrations, bans and CDRs are kept: sqlite:PATH (an SQLite "
               "database in WAL mode; a relative PATH is resolved against the directory of "
               "the configuration file), redis://HOST:PORT (shared by several nodes) or "
               "memory (lost on restart; for tests)."),
    CFG_SECTION("store_options", struct conf, store_options, store_cfg_opts,
                "Location store tuning: max_aors, queue_depth, batch_max (writes per "
                "SQLite transaction), synchronous (full: durable against power loss)."),
    CFG_SECTION("registrar", struct conf, registrar, reg_cfg_opts,
                "Registrar (RFC 3261 §10.3) for the domains in server.domains."),
    CFG_SECTION("auth", struct conf, auth, auth_cfg_opts,
                "Digest authentication (RFC 7616, RFC 8760). Enabled when users is set: "
                "REGISTER from untrusted sources is challenged with 401, other initial "
                "requests with 407."),
    CFG_SECTION("security", struct conf, security, security_cfg_opts,
                "Edge protection: bans of sources that fail authentication, scanner "
                "User-Agents dropped, trusted networks (never challenged, never banned)."),
    CFG_END,
};

/* --- loading -------------------------------------------------------------- */

int conf_resolve_path(char **out, const char *base_dir, const char *path)
{
    char *r;

    if (base_dir == NULL || *base_dir == '\0' || path[0] == '\0' || path[0] == '/') {
        r = strdup(path);
    } else {
        size_t blen = strlen(base_dir);
        bool has_slash = base_dir[blen - 1] == '/';
        size_t plen = strlen(path);
        r = malloc(blen + 1 + plen + 1);
        if (r != NULL) {
            memcpy(r, base_dir, blen);
            if (!has_slash)
                r[blen++] = '/';
            memcpy(r + blen, path, plen + 1);
        }
    }
    if (r == NULL)
        return -ENOMEM;
    *out = r;
    return 0;
}

/* Rewrites *field (owned) to 'prefix' + the path after it, resolved. */
static int resolve_field(char **field, const char *prefix, const char *base_dir)
{
    size_t plen = strlen(prefix);
    char *resolved, *joined;

    if (strncmp(*field, prefix, plen) != 0)
        return 0;
    if (conf_resolve_path(&resolved, base_dir, *field + plen) < 0)
        return -ENOMEM;
    joined = malloc(plen + strlen(resolved) + 1);
    if (joined == NULL) {
        free(resolved);
        return -ENOMEM;
    }
    memcpy(joined, prefix, plen);
    memcpy(joined + plen, resolved, strlen(resolved) + 1);
    free(resolved);
    free(*field);
    *field = joined;
    return 0;
}

static int conf_finish(struct conf *c, const char *name, const char *base_dir, char *err,
                       size_t errlen)
{
    /* Cross references the loader cannot check item by item (a route
     * naming a dispatcher set that does not exist). */
    if (route_conf_check(&c->routes, &c->default_route, &c->dispatchers, err, errlen) != 0) {
        conf_free(c);
        return -EINVAL;
    }
    c->path = strdup(name);
    if (c->path == NULL || resolve_field(&c->log.file, "", base_dir) < 0 ||
        resolve_field(&c->store, "sqlite:", base_dir) < 0 ||
        (c->auth.users[0] != '\0' && resolve_field(&c->auth.users, "", base_dir) < 0)) {
        snprintf(err, errlen, "%s: out of memory", name);
        conf_free(c);
        return -ENOMEM;
    }
    return 0;
}

int conf_load_buf(struct conf *out, const char *yaml, size_t len, const char *name,
                  const char *base_dir, char *err, size_t errlen)
{
    struct conf c = {0};
    int rc;

    rc = cfg_load_buf(conf_opts, &c, yaml, len, name, err, errlen);
    if (rc < 0)
        return rc;
    if ((rc = conf_finish(&c, name, base_dir, err, errlen)) < 0)
        return rc;
    *out = c;
    return 0;
}

int conf_load(struct conf *out, const char *path, char *err, size_t errlen)
{
    struct conf c = {0};
    const char *slash = strrchr(path, '/');
    char *dir = NULL;
    int rc;

    rc = cfg_load_file(conf_opts, &c, path, err, errlen);
    if (rc < 0)
        return rc;
    /* "sipwarden.yaml" alone: paths stay relative to the working directory,
     * which is then the file's directory. */
    if (slash != NULL) {
        dir = strndup(path, slash == path ? 1 : (size_t)(slash - path));
        if (dir == NULL) {
            snprintf(err, errlen, "%s: out of memory", path);
            cfg_free(conf_opts, &c);
            return -ENOMEM;
        }
    }
    rc = conf_finish(&c, path, dir, err, errlen);
    free(dir);
    if (rc < 0)
        return rc;
    *out = c;
    return 0;
}

void conf_free(struct conf *c)
{
    cfg_free(conf_opts, c);
    free(c->path);
    c->path = NULL;
}

void conf_write_reference(FILE *f)
{
    fputs("# Configuration reference\n"
          "\n"
          "<!-- Generated from the option tables in src/conf.c; do not edit by hand.\n"
          "     Regenerate: SW_UPDATE_DOCS=1 build/<dir>/tests/unit/test_conf -->\n"
          "\n"
          "sipwarden reads one YAML file, given with `-c` (the shipped example is\n"
          "`etc/sipwarden.yaml`). Every option has a default, so an empty file is a\n"
          "valid configuration. Keys not listed here, values of the wrong type and\n"
          "values outside their bounds stop start-up with one line such as\n"
          "\n"
          "    etc/sipwarden.yaml:7:12: limits.max_headers: 5000 is above the maximum 1024\n"
          "\n"
          "and exit status 2, before any socket is opened.\n"
          "\n"
          "Value syntax:\n"
          "\n"
          "- **bool**: `true` or `false` (`yes`/`no`, `on`/`off` also work).\n"
          "- **size**: bytes, optionally with a suffix `k`, `M` or `G` (powers of 1024):\n"
          "  `65536`, `64k`, `4M`.\n"
          "- **duration**: a number with a unit `ms`, `s`, `m` or `h` (`500ms`, `30s`,\n"
          "  `2m`); a plain number is in the unit given in the type column.\n"
          "- **enum**: one of the listed words.\n"
          "- Relative file paths are resolved against the directory of the\n"
          "  configuration file, not the working directory.\n"
          "\n"
          "*reload* says whether a changed value takes effect on reload (SIGHUP);\n"
          "a change to any other option needs a restart.\n"
          "\n"
          "## Top level\n"
          "\n",
          f);
    cfg_write_reference(f, conf_opts, 2);
}
