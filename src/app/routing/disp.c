/* SPDX-License-Identifier: BSD-2-Clause */
/* Dispatcher sets: selection algorithms, failover order, health, probes, counters. */
#include "app/routing/disp.h"

#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ev.h"
#include "core/htab.h"
#include "core/log.h"
#include "core/metric.h"
#include "core/tmr.h"

#define DISP_SLOTS METRIC_MAX_WORKERS /* selection state slots, by ev_thread_worker() */
#define DISP_CACHE_LINE 64
#define DISP_MAX_NAME 64
#define DISP_CLASSES 5 /* final response classes 2xx..6xx */

/* ---- configuration ---- */

static const char *const alg_names[] = {"round_robin",    "weighted",     "hash_callid",
                                        "hash_from_user", "least_loaded", NULL};

static const char *check_method(const char *s, size_t len)
{
    if (len == 0 || len > 32)
        return "is not a method name (1 to 32 letters)";
    for (size_t i = 0; i < len; i++)
        if (!(s[i] >= 'A' && s[i] <= 'Z'))
            return "is not a method name (upper-case letters, such as OPTIONS)";
    return NULL;
}

static void dests_free(void *dst)
{
    struct disp_dest_confs *l = dst;

    for (size_t i = 0; i < l->count; i++)
        free(l->items[i].uri_s);
    free(l->items);
    memset(l, 0, sizeof(*l));
}

/* Parses one "sip:host[:port][;transport=..][;weight=N]" destination. */
static int dest_parse(struct disp_dest_conf *d, struct cfg_node *item, struct cfg_ctx *ctx)
{
    size_t len;
    const char *s = cfg_node_str(item, &len);
    struct sip_err e;
    struct slice w;
    uint64_t weight = 1;

    if (s == NULL || cfg_node_is_null(item))
        return cfg_error(ctx, item, "expected a SIP URI such as sip:192.0.2.1:5060;weight=2");
    if (len > 256 || memchr(s, '\0', len) || memchr(s, '"', len) || memchr(s, '\\', len))
        return cfg_error(ctx, item, "is not a usable SIP URI (too long or has \" or \\)");
    if ((d->uri_s = strndup(s, len)) == NULL)
        return -ENOMEM;
    if (uri_parse(&d->uri, slice_make(d->uri_s, len), &e) != SIP_PARSE_OK ||
        (d->uri.scheme != URI_SIP && d->uri.scheme != URI_SIPS) || d->uri.host.len == 0)
        return cfg_error(ctx, item, "'%.*s' is not a sip: or sips: URI", (int)SW_MIN(len, 80), s);
    if (uri_param_find(d->uri.params, "weight", &w) &&
        (slice_to_u64(&weight, w, DISP_MAX_WEIGHT) < 0 || weight == 0))
        return cfg_error(ctx, item, "'%.*s': weight must be 1..%d", (int)SW_MIN(len, 80), s,
                         DISP_MAX_WEIGHT);
    d->weight = (unsigned)weight;
    return 0;
}

static int dests_parse(void *dst, struct cfg_node *node, struct cfg_ctx *ctx)
{
    struct disp_dest_confs *l = dst;
    size_t count = cfg_node_seq_count(node);
    int rc;

    if (!cfg_node_is_seq(node))
        return cfg_error(ctx, node, "expected a list of SIP URIs");
    if (count > DISP_MAX_DESTS)
        return cfg_error(ctx, node, "has %zu destinations, more than %d", count, DISP_MAX_DESTS);
    if (count == 0)
        return 0;
    if ((l->items = calloc(count, sizeof(*l->items))) == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < count; i++) {
        l->count = i + 1;
        if ((rc = dest_parse(&l->items[i], cfg_node_seq_at(node, i), ctx)) < 0)
            return rc;
    }
    return 0;
}

static const struct cfg_custom dests_type = {
    .type_name = "list of SIP URIs (;weight=N)",
    .parse = dests_parse,
    .free = dests_free,
};

static const struct cfg_opt probe_opts[] = {
    CFG_BOOL("enabled", struct disp_probe_conf, is_enabled, "false", true,
             "Send a probe request to every destination of the set at each interval. Without "
             "probes, health follows what the proxy reports from real traffic."),
    CFG_DURATION("interval", struct disp_probe_conf, interval_ms, "5s", CFG_UNIT_S, 500,
                 3600 * 1000, true,
                 "Time between probe rounds. A probe's own timeout is the transaction "
                 "layer's (Timer F)."),
    CFG_UINT("failures", struct disp_probe_conf, failures, "3", 1, 100, true,
             "Consecutive failed probes (or failed requests) before a destination is down."),
    CFG_UINT("successes", struct disp_probe_conf, successes, "2", 1, 100, true,
             "Consecutive answered probes before a down destination is up again."),
    CFG_STRING("method", struct disp_probe_conf, method, "OPTIONS", check_method, true,
               "Method of the probe request."),
    CFG_END,
};

const struct cfg_opt disp_set_opts[] = {
    CFG_ENUM("algorithm", struct disp_set_conf, algorithm, "round_robin", alg_names, true,
             "round_robin: in turn; weighted: smooth weighted round robin by ;weight=; "
             "hash_callid / hash_from_user: rendezvous hashing of the Call-ID or From user, "
             "so a call sticks to one destination and a destination going down moves only its "
             "share; least_loaded: fewest requests in flight."),
    CFG_CUSTOM("destinations", struct disp_set_conf, destinations, NULL, &dests_type, true,
               "Next hops, tried in the algorithm's order, as SIP URIs; ;weight=N (1..1000, "
               "default 1) sets the share of weighted and hash algorithms."),
    CFG_SECTION("probe", struct disp_set_conf, probe, probe_opts, "Health probing of the set."),
    CFG_END,
};

int disp_set_conf_done(void *item, const char *name, struct cfg_node *node, struct cfg_ctx *ctx)
{
    struct disp_set_conf *c = item;

    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-' || *p == '.'))
            return cfg_error(ctx, node, "set name '%s' may use only letters, digits, _ - .", name);
    if (c->destinations.count == 0)
        return cfg_error(ctx, node, "needs at least one destination");
    return 0;
}

/* ---- runtime types ---- */

/* Per worker selection state (one writer: that worker). */
struct disp_slot {
    _Alignas(DISP_CACHE_LINE) _Atomic uint64_t rr; /* turns taken */
    int64_t *cw; /* owned; smooth WRR current weight per destination */
};

/* Owner: its set. Immutable but for the atomics. */
struct disp_dest {
    struct disp_set *set; /* borrowed: parent */
    char *uri_s;          /* owned */
    struct uri uri;       /* slices of uri_s */
    unsigned weight;
    uint64_t hkey; /* unkeyed hash of uri_s: rendezvous identity */
    _Atomic bool is_up;
    _Atomic unsigned fails, oks; /* consecutive outcomes */
    _Atomic unsigned inflight;
    metric_id m_req, m_resp[DISP_CLASSES], m_failover, m_inflight;
};

/* Owner: its struct disp. */
struct disp_set {
    struct disp *d; /* borrowed: parent */
    char *name;     /* owned */
    enum disp_alg alg;
    struct disp_probe_conf probe; /* method owned */
    struct disp_dest *dests;      /* owned array */
    size_t n;
    struct tmr probe_tmr; /* on the probing loop's wheel */
    struct disp_slot slots[DISP_SLOTS];
};

struct disp {
    struct disp_set *sets; /* owned array */
    size_t n;
    struct ev_loop *probe_loop; /* borrowed; NULL when not probing */
    disp_probe_fn *probe_fn;
    void *probe_arg; /* borrowed */
};

/* ---- metrics ---- */

/*
 * metric_register keeps the name pointer for the life of the process and
 * gives the same id to the same name, so names are interned here once and
 * never freed: a reload that builds the same set finds its counters again.
 */
static char **interned;
static size_t ninterned, interned_cap;

static metric_id metric_for(const char *name, const char *help)
{
    metric_id id = metric_find(name);
    char *copy;

    if (id != 0)
        return id;
    if (ninterned == interned_cap) {
        size_t cap = interned_cap ? interned_cap * 2 : 64;
        char **v = realloc(interned, cap * sizeof(*v));
        if (v == NULL)
            return 0;
        interned = v;
        interned_cap = cap;
    }
    if ((copy = strdup(name)) == NULL)
        return 0;
    interned[ninterned++] = copy;
    return metric_register(copy, help);
}

static void dest_metrics(struct disp_dest *d, const char *set)
{
    char name[384];
    const char *semi = strchr(d->uri_s, ';');
    int ulen = semi ? (int)(semi - d->uri_s) : (int)strlen(d->uri_s);

#define LBL "{set=%s,dest=%.*s"
    snprintf(name, sizeof(name), "disp_requests_total" LBL "}", set, ulen, d->uri_s);
    d->m_req = metric_for(name, "Requests sent to a dispatcher destination.");
    for (int c = 0; c < DISP_CLASSES; c++) {
        snprintf(name, sizeof(name), "disp_responses_total" LBL ",class=%dxx}", set, ulen, d->uri_s,
                 c + 2);
        d->m_resp[c] = metric_for(name, "Final responses from a dispatcher destination.");
    }
    snprintf(name, sizeof(name), "disp_failovers_total" LBL "}", set, ulen, d->uri_s);
    d->m_failover = metric_for(name, "Requests moved from this destination to the next one.");
    snprintf(name, sizeof(name), "disp_inflight" LBL "}", set, ulen, d->uri_s);
    d->m_inflight = metric_for(name, "Requests in flight to a destination (a gauge).");
#undef LBL
}

/* ---- building ---- */

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

static void set_fini(struct disp_set *s)
{
    tmr_stop(&s->probe_tmr);
    for (size_t i = 0; i < s->n; i++)
        free(s->dests[i].uri_s);
    for (size_t w = 0; w < DISP_SLOTS; w++)
        free(s->slots[w].cw);
    free(s->dests);
    free(s->probe.method);
    free(s->name);
}

static void on_probe_timer(struct tmr *t, void *arg);

static int set_init(struct disp_set *s, struct disp *d, const char *name,
                    const struct disp_set_conf *c)
{
    struct sip_err e;

    s->d = d;
    s->alg = (enum disp_alg)c->algorithm;
    s->probe = c->probe;
    s->probe.method = strdup(c->probe.method ? c->probe.method : "OPTIONS");
    s->name = strdup(name);
    s->n = c->destinations.count;
    s->dests = calloc(s->n ? s->n : 1, sizeof(*s->dests));
    if (s->probe.method == NULL || s->name == NULL || s->dests == NULL)
        return -ENOMEM;
    if (s->probe.failures == 0)
        s->probe.failures = 3;
    if (s->probe.successes == 0)
        s->probe.successes = 2;
    tmr_init(&s->probe_tmr, on_probe_timer, s);
    for (size_t w = 0; w < DISP_SLOTS; w++)
        if ((s->slots[w].cw = calloc(s->n ? s->n : 1, sizeof(int64_t))) == NULL)
            return -ENOMEM;
    for (size_t i = 0; i < s->n; i++) {
        const struct disp_dest_conf *dc = &c->destinations.items[i];
        struct disp_dest *dd = &s->dests[i];
        dd->set = s;
        dd->weight = dc->weight ? dc->weight : 1;
        if ((dd->uri_s = strdup(dc->uri_s)) == NULL)
            return -ENOMEM;
        if (uri_parse(&dd->uri, slice_cstr(dd->uri_s), &e) != SIP_PARSE_OK)
            return -EINVAL; /* checked at load */
        dd->hkey = fnv1a(dd->uri_s);
        atomic_init(&dd->is_up, true);
        dest_metrics(dd, s->name);
    }
    return 0;
}

struct disp *disp_new(const struct cfg_list *sets, char *err, size_t errlen)
{
    struct disp *d = calloc(1, sizeof(*d));
    int rc = 0;

    if (d == NULL)
        goto oom;
    d->sets = calloc(sets->count ? sets->count : 1, sizeof(*d->sets));
    if (d->sets == NULL)
        goto oom;
    for (size_t i = 0; i < sets->count && rc == 0; i++) {
        d->n = i + 1;
        rc =
            set_init(&d->sets[i], d, sets->names[i], (const struct disp_set_conf *)sets->items + i);
    }
    if (rc == 0)
        return d;
    if (rc == -EINVAL) {
        snprintf(err, errlen, "dispatchers.%s: a destination does not parse",
                 sets->names[d->n - 1]);
        disp_free(d);
        return NULL;
    }
oom:
    snprintf(err, errlen, "dispatchers: out of memory");
    disp_free(d);
    return NULL;
}

void disp_free(struct disp *d)
{
    if (d == NULL)
        return;
    disp_probe_stop(d);
    for (size_t i = 0; i < d->n; i++)
        set_fini(&d->sets[i]);
    free(d->sets);
    free(d);
}

/* ---- accessors ---- */

struct disp_set *disp_find(const struct disp *d, struct slice name)
{
    for (size_t i = 0; i < d->n; i++)
        if (slice_eq(slice_cstr(d->sets[i].name), name))
            return &d->sets[i];
    return NULL;
}

size_t disp_set_count(const struct disp *d)
{
    return d->n;
}

struct disp_set *disp_set_at(const struct disp *d, size_t i)
{
    return i < d->n ? &d->sets[i] : NULL;
}

const char *disp_set_name(const struct disp_set *s)
{
    return s->name;
}

enum disp_alg disp_set_alg(const struct disp_set *s)
{
    return s->alg;
}

size_t disp_set_size(const struct disp_set *s)
{
    return s->n;
}

struct disp_dest *disp_set_dest(const struct disp_set *s, size_t i)
{
    return i < s->n ? &s->dests[i] : NULL;
}

const char *disp_dest_uri_str(const struct disp_dest *d)
{
    return d->uri_s;
}

const struct uri *disp_dest_uri(const struct disp_dest *d)
{
    return &d->uri;
}

unsigned disp_dest_weight(const struct disp_dest *d)
{
    return d->weight;
}

bool disp_dest_is_up(const struct disp_dest *d)
{
    return atomic_load_explicit(&d->is_up, memory_order_relaxed);
}

struct disp_set *disp_dest_set(const struct disp_dest *d)
{
    return d->set;
}

/* ---- selection ---- */

static struct disp_slot *my_slot(struct disp_set *s)
{
    return &s->slots[ev_thread_worker() % DISP_SLOTS];
}

/* Takes one turn of this worker's counter (single writer: no RMW needed). */
static uint64_t take_turn(struct disp_slot *sl)
{
    uint64_t t = atomic_load_explicit(&sl->rr, memory_order_relaxed);
    atomic_store_explicit(&sl->rr, t + 1, memory_order_relaxed);
    return t;
}

/* Sorts idx[0..n) by key descending, stable (n <= DISP_MAX_DESTS). */
static void sort_desc(uint16_t *idx, const double *key, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        uint16_t v = idx[i];
        size_t j = i;
        while (j > 0 && key[idx[j - 1]] < key[v]) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = v;
    }
}

/*
 * Smooth weighted round robin (nginx ngx_http_upstream_get_peer): every
 * candidate gains its weight, the largest current weight wins and pays
 * the total back. Deterministic: over any window of sum(weights) picks
 * each destination is chosen exactly weight times, evenly interleaved.
 */
static uint16_t swrr_pick(struct disp_set *s, const uint16_t *cand, size_t n)
{
    int64_t *cw = my_slot(s)->cw, total = 0;
    uint16_t best = cand[0];

    for (size_t k = 0; k < n; k++) {
        uint16_t i = cand[k];
        cw[i] += s->dests[i].weight;
        total += s->dests[i].weight;
        if (cw[i] > cw[best])
            best = i;
    }
    cw[best] -= total;
    return best;
}

static uint64_t mix64(uint64_t x)
{
    /* splitmix64 finaliser: spreads (key ^ destination) over 64 bits */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static struct slice hash_key(const struct disp_set *s, const struct sipmsg *msg)
{
    if (msg == NULL)
        return SLICE_NULL;
    return s->alg == DISP_HASH_CALLID ? msg->call_id : msg->from.uri.user;
}

/*
 * Orders cand[0..n) for one request. Only candidates are considered: the
 * live destinations, or all of them when every one is down.
 */
static void order(struct disp_set *s, const struct sipmsg *msg, uint16_t *cand, size_t n,
                  bool is_main)
{
    double key[DISP_MAX_DESTS];
    uint64_t turn;

    if (n == 0)
        return;
    switch (s->alg) {
    case DISP_ROUND_ROBIN: {
        uint16_t tmp[DISP_MAX_DESTS];
        size_t start = is_main ? take_turn(my_slot(s)) % n : 0;
        for (size_t k = 0; k < n; k++)
            tmp[k] = cand[(start + k) % n];
        memcpy(cand, tmp, n * sizeof(*cand));
        break;
    }
    case DISP_WEIGHTED: {
        /* first the smooth WRR pick, then by weight (heaviest first) */
        uint16_t first = is_main ? swrr_pick(s, cand, n) : cand[0];
        for (size_t k = 0; k < n; k++)
            key[cand[k]] =
                is_main && cand[k] == first ? INFINITY : (double)s->dests[cand[k]].weight;
        sort_desc(cand, key, n);
        break;
    }
    case DISP_HASH_CALLID:
    case DISP_HASH_FROM_USER: {
        /*
         * Weighted rendezvous hashing (HRW): each destination scores
         * -weight / ln(u), u uniform from hash(key, destination); sorted by
         * score, the whole failover order is stable per key, and removing
         * one destination moves only the keys it had won.
         */
        struct slice k = hash_key(s, msg);
        uint64_t h = htab_hash(k.p ? k.p : "", k.len);
        for (size_t i = 0; i < n; i++) {
            const struct disp_dest *d = &s->dests[cand[i]];
            double u = ((double)(mix64(h ^ d->hkey) >> 11) + 0.5) / 9007199254740992.0;
            key[cand[i]] = -(double)d->weight / log(u);
        }
        sort_desc(cand, key, n);
        break;
    }
    case DISP_LEAST_LOADED:
        /* fewest in flight first; ties rotate so equal loads spread */
        turn = is_main ? take_turn(my_slot(s)) : 0;
        for (size_t i = 0; i < n; i++) {
            unsigned load = atomic_load_explicit(&s->dests[cand[i]].inflight, memory_order_relaxed);
            key[cand[i]] = -(double)load * DISP_MAX_DESTS - (double)((i + n - turn % n) % n);
        }
        sort_desc(cand, key, n);
        break;
    }
}

size_t disp_select(struct disp_set *s, const struct sipmsg *msg, struct disp_dest **out, size_t cap)
{
    uint16_t live[DISP_MAX_DESTS], dead[DISP_MAX_DESTS];
    size_t nlive = 0, ndead = 0, n = 0;

    if (cap == 0 || s->n == 0)
        return 0;
    for (size_t i = 0; i < s->n; i++) {
        if (disp_dest_is_up(&s->dests[i]))
            live[nlive++] = (uint16_t)i;
        else
            dead[ndead++] = (uint16_t)i;
    }
    if (nlive == 0) {
        /* all down: the algorithm runs over all of them (see disp.h) */
        order(s, msg, dead, ndead, true);
    } else {
        order(s, msg, live, nlive, true);
        order(s, msg, dead, ndead, false);
    }
    for (size_t k = 0; k < nlive && n < cap; k++)
        out[n++] = &s->dests[live[k]];
    for (size_t k = 0; k < ndead && n < cap; k++)
        out[n++] = &s->dests[dead[k]];
    return n;
}

/* ---- counters ---- */

void disp_inflight_inc(struct disp_dest *d)
{
    atomic_fetch_add_explicit(&d->inflight, 1, memory_order_relaxed);
    metric_add(d->m_inflight, 1);
}

void disp_inflight_dec(struct disp_dest *d)
{
    unsigned v = atomic_load_explicit(&d->inflight, memory_order_relaxed);

    /* never below zero, even if a caller decrements twice */
    while (v > 0 && !atomic_compare_exchange_weak_explicit(
                        &d->inflight, &v, v - 1, memory_order_relaxed, memory_order_relaxed))
        ;
    if (v > 0)
        metric_add(d->m_inflight, (uint64_t)-1); /* summed modulo 2^64: a gauge */
}

unsigned disp_dest_inflight(const struct disp_dest *d)
{
    return atomic_load_explicit(&d->inflight, memory_order_relaxed);
}

void disp_count_request(struct disp_dest *d)
{
    metric_inc(d->m_req);
}

void disp_count_response(struct disp_dest *d, unsigned status)
{
    if (status >= 200 && status < 700)
        metric_inc(d->m_resp[status / 100 - 2]);
}

void disp_count_failover(struct disp_dest *d)
{
    metric_inc(d->m_failover);
}

/* ---- health ---- */

void disp_probe_result(struct disp_set *s, struct disp_dest *d, bool is_ok)
{
    unsigned n;
    bool was = !is_ok;

    if (is_ok) {
        atomic_store_explicit(&d->fails, 0, memory_order_relaxed);
        n = atomic_fetch_add_explicit(&d->oks, 1, memory_order_relaxed) + 1;
        if (n >= s->probe.successes && atomic_compare_exchange_strong(&d->is_up, &was, true))
            LOG_NOTICE("dispatcher", "%s: %s is up again after %u successful probes", s->name,
                       d->uri_s, n);
    } else {
        atomic_store_explicit(&d->oks, 0, memory_order_relaxed);
        n = atomic_fetch_add_explicit(&d->fails, 1, memory_order_relaxed) + 1;
        if (n >= s->probe.failures && atomic_compare_exchange_strong(&d->is_up, &was, false))
            LOG_WARN("dispatcher", "%s: %s is down after %u consecutive failures", s->name,
                     d->uri_s, n);
    }
}

static void on_probe_timer(struct tmr *t, void *arg)
{
    struct disp_set *s = arg;
    struct disp *d = s->d;

    for (size_t i = 0; i < s->n; i++)
        d->probe_fn(s, &s->dests[i], s->probe.method, d->probe_arg);
    tmr_start(ev_timers(d->probe_loop), t, s->probe.interval_ms);
}

int disp_probe_start(struct disp *d, struct ev_loop *loop, disp_probe_fn *fn, void *arg)
{
    if (d->probe_loop != NULL)
        return -EALREADY;
    d->probe_loop = loop;
    d->probe_fn = fn;
    d->probe_arg = arg;
    for (size_t i = 0; i < d->n; i++)
        if (d->sets[i].probe.is_enabled)
            tmr_start(ev_timers(loop), &d->sets[i].probe_tmr, 0);
    return 0;
}

void disp_probe_stop(struct disp *d)
{
    for (size_t i = 0; i < d->n; i++)
        tmr_stop(&d->sets[i].probe_tmr);
    d->probe_loop = NULL;
}
