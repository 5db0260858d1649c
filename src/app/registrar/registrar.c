/* SPDX-License-Identifier: BSD-2-Clause */
/* REGISTER processing (RFC 3261 §10.3, RFC 3327 §5.3) on top of the store. */
#include "app/registrar/registrar.h"

#include "app/registrar/reg_int.h"
#include "core/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Contacts one REGISTER may carry, whatever max_contacts says: bounds the
 * work and memory of one request. */
#define REG_MAX_REQ_CONTACTS 64
#define REG_KEY_CAP 512

static const char *const policy_names[] = {"replace_oldest", "reject", NULL};

static const struct cfg_opt keepalive_opts[] = {
    CFG_BOOL("enabled", struct reg_keepalive, enabled, "false", false,
             "send OPTIONS to contacts behind NAT (Contact differs from the REGISTER's source "
             "or is a private address), to their source address over UDP, so the NAT binding "
             "stays open"),
    CFG_DURATION("interval", struct reg_keepalive, interval_ms, "30s", CFG_UNIT_S, 1000, 3600000,
                 false, "time between two keepalives to one contact"),
    CFG_UINT("max_inflight", struct reg_keepalive, max_inflight, "1000", 1, 100000, false,
             "keepalives awaiting an answer; contacts over it are skipped until the next round"),
    CFG_UINT("max_failures", struct reg_keepalive, max_failures, "0", 0, 1000, false,
             "keepalives in a row without an answer (408) or with a transport error (503) "
             "after which the binding is removed; 0: never, only logged and counted"),
    CFG_END,
};

const struct cfg_opt reg_cfg_opts[] = {
    CFG_UINT("min_expires", struct reg_config, min_expires, "60", 0, 86400, true,
             "shortest registration accepted; shorter ones get 423 with Min-Expires"),
    CFG_UINT("max_expires", struct reg_config, max_expires, "3600", 1, 604800, true,
             "longest registration granted; longer requests are lowered to it"),
    CFG_UINT("default_expires", struct reg_config, default_expires, "3600", 1, 604800, true,
             "registration time when the request names none"),
    CFG_UINT("max_contacts", struct reg_config, max_contacts, "10", 1, 1000, true,
             "bindings one address of record may hold"),
    CFG_ENUM("max_contacts_policy", struct reg_config, max_contacts_policy, "replace_oldest",
             policy_names, true, "over max_contacts: drop the oldest binding, or answer 403"),
    CFG_SECTION("keepalive", struct reg_config, keepalive, keepalive_opts,
                "NAT keepalive towards registered contacts"),
    CFG_END,
};

void reg_config_defaults(struct reg_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->min_expires = 60;
    cfg->max_expires = 3600;
    cfg->default_expires = 3600;
    cfg->max_contacts = 10;
    cfg->max_contacts_policy = REG_REPLACE_OLDEST;
    cfg->keepalive.interval_ms = 30000;
    cfg->keepalive.max_inflight = 1000;
}

static int64_t wall_clock(void *arg)
{
    (void)arg;
    return (int64_t)time(NULL);
}

struct registrar *reg_new(const struct reg_config *cfg, struct store *store)
{
    if (cfg->min_expires > cfg->max_expires || cfg->default_expires > cfg->max_expires ||
        cfg->max_contacts == 0 || store == NULL)
        return NULL;
    struct registrar *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return NULL;
    r->cfg = *cfg;
    r->store = store;
    r->clock = wall_clock;
    return r;
}

void reg_free(struct registrar *r)
{
    if (r != NULL)
        reg_keepalive_stop(r);
    free(r);
}

void reg_set_auth(struct registrar *r, reg_auth_fn *fn, void *arg)
{
    r->auth = fn;
    r->auth_arg = arg;
}

void reg_set_clock(struct registrar *r, reg_clock_fn *fn, void *arg)
{
    r->clock = fn ? fn : wall_clock;
    r->clock_arg = arg;
}

int64_t reg_now(const struct registrar *r)
{
    return r->clock(r->clock_arg);
}

size_t reg_purge(struct registrar *r)
{
    return store_purge(r->store, reg_now(r));
}

static int reply(struct txn *st, unsigned code, const char *reason, const struct slice *extra,
                 unsigned nextra)
{
    struct sipmsg_reply_opts o = {.extra = extra, .extra_count = nextra};
    int rc = txn_server_reply(st, code, slice_cstr(reason), &o);
    return rc == -ESRCH ? 0 : rc; /* a txn that ended meanwhile needs nothing */
}

/* ---- the 200 (§10.3 step 8) ---- */

/* Waiting for the store. Owner: the pending store_apply (its done arg);
 * thread: the worker owning st. */
struct reg_wait {
    struct registrar *r; /* borrowed */
    struct txn *st;      /* ref */
    char *path;          /* owned: Path values to echo (RFC 3327 §5.3), or NULL */
};

static void wait_free(struct reg_wait *w)
{
    txn_unref(w->st);
    free(w->path);
    free(w);
}

static int date_line(char *out, size_t cap, int64_t now)
{
    struct tm tm;
    time_t t = (time_t)now;
    if (gmtime_r(&t, &tm) == NULL)
        return -EINVAL;
    /* RFC 3261 §20.17: rfc1123-date, always GMT. */
    return strftime(out, cap, "Date: %a, %d %b %Y %H:%M:%S GMT", &tm) > 0 ? 0 : -EMSGSIZE;
}

static int send_ok(struct reg_wait *w, const struct store_binding *b, size_t n)
{
    int64_t now = reg_now(w->r);
    size_t total = 128 + (w->path ? strlen(w->path) + 16 : 0);
    for (size_t i = 0; i < n; i++)
        total += strlen(b[i].contact) + 64;
    char *text = malloc(total);
    struct slice *lines = calloc(n + 2, sizeof(*lines));
    int rc = -ENOMEM;
    if (text == NULL || lines == NULL)
        goto out;
    size_t off = 0;
    unsigned nl = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t left = b[i].expires_at - now;
        int l;
        if (b[i].q < STORE_Q_MAX)
            l = snprintf(text + off, total - off, "Contact: <%s>;expires=%lld;q=0.%03u",
                         b[i].contact, (long long)(left > 0 ? left : 0), (unsigned)b[i].q);
        else
            l = snprintf(text + off, total - off, "Contact: <%s>;expires=%lld", b[i].contact,
                         (long long)(left > 0 ? left : 0));
        lines[nl++] = slice_make(text + off, (size_t)l);
        off += (size_t)l + 1;
    }
    if (date_line(text + off, total - off, now) == 0) {
        lines[nl] = slice_cstr(text + off);
        off += lines[nl++].len + 1;
    }
    if (w->path != NULL) {
        int l = snprintf(text + off, total - off, "Path: %s", w->path);
        lines[nl++] = slice_make(text + off, (size_t)l);
    }
    rc = reply(w->st, 200, "OK", lines, nl);
out:
    if (rc == -ENOMEM)
        rc = reply(w->st, 500, "Server Internal Error", NULL, 0);
    free(text);
    free(lines);
    return rc;
}

/* The store's completion, on the worker that owns st (ev_post). */
static void on_stored(void *arg, int rc, const struct store_binding *b, size_t n)
{
    struct reg_wait *w = arg;
    int src;
    static const struct slice retry = SLICE_LIT("Retry-After: 5");
    switch (rc) {
    case 0:
        src = send_ok(w, b, n);
        break;
    case -ESTALE:
        /* §10.3 steps 6/7: same Call-ID, CSeq not higher: the update is
         * aborted and the request fails; the closing paragraph of §10.3
         * names 500 for a failed update. */
        src = reply(w->st, 500, "Out of Order CSeq", NULL, 0);
        break;
    case -EDQUOT:
        src = reply(w->st, 403, "Too Many Contacts", NULL, 0);
        break;
    case -ENOSPC:
        src = reply(w->st, 503, "Location Table Full", &retry, 1);
        break;
    default:
        src = reply(w->st, 500, "Location Store Failure", NULL, 0);
        break;
    }
    if (src < 0)
        LOG_RL(LOG_LVL_WARN, "registrar", "REGISTER reply failed: %s", strerror(-src));
    wait_free(w);
}

/* ---- request checks ---- */

static bool has_option(const struct sipmsg *req, enum hdr_id id, const char *name)
{
    for (const struct sip_hdr *h = sipmsg_hdr_first(req, id); h; h = sipmsg_hdr_next(req, h)) {
        struct slice rest = h->value, item;
        while (hdr_list_next(&rest, &item))
            if (slice_caseeq_cstr(item, name))
                return true;
    }
    return false;
}

/* §10.3 step 2 (§8.2.2.3): the only extension we implement is "path". */
static bool requires_unknown(const struct sipmsg *req, struct slice *what)
{
    for (const struct sip_hdr *h = sipmsg_hdr_first(req, HDR_REQUIRE); h;
         h = sipmsg_hdr_next(req, h)) {
        struct slice rest = h->value, item;
        while (hdr_list_next(&rest, &item))
            if (!slice_caseeq_cstr(item, "path")) {
                *what = item;
                return true;
            }
    }
    return false;
}

/* Path values joined with ", " (owned), NULL if none; -ENOMEM in *rc. */
static char *join_path(const struct sipmsg *req, int *rc)
{
    size_t total = 0;
    *rc = 0;
    for (const struct sip_hdr *h = sipmsg_hdr_first(req, HDR_PATH); h; h = sipmsg_hdr_next(req, h))
        total += h->value.len + 2;
    if (total == 0)
        return NULL;
    char *p = malloc(total + 1);
    if (p == NULL) {
        *rc = -ENOMEM;
        return NULL;
    }
    size_t off = 0;
    for (const struct sip_hdr *h = sipmsg_hdr_first(req, HDR_PATH); h;
         h = sipmsg_hdr_next(req, h)) {
        if (off > 0) {
            memcpy(p + off, ", ", 2);
            off += 2;
        }
        memcpy(p + off, h->value.p, h->value.len);
        off += h->value.len;
    }
    p[off] = '\0';
    return p;
}

static char *dup_slice(struct slice s)
{
    char *p = malloc(s.len + 1);
    if (p != NULL) {
        memcpy(p, s.p, s.len);
        p[s.len] = '\0';
    }
    return p;
}

/* Everything one REGISTER asks for, parsed; strings owned (freed by
 * req_fini). Owner: reg_handle's stack frame (heap for size). */
struct reg_req {
    struct store_change c[REG_MAX_REQ_CONTACTS];
    size_t n;
    char *strs[REG_MAX_REQ_CONTACTS * 3 + 2]; /* owned */
    size_t nstrs;
    bool is_star;
};

static void req_fini(struct reg_req *q)
{
    for (size_t i = 0; i < q->nstrs; i++)
        free(q->strs[i]);
}

static char *keep(struct reg_req *q, char *s)
{
    if (s != NULL)
        q->strs[q->nstrs++] = s;
    return s;
}

static int parse_delta(uint32_t *out, struct slice s)
{
    uint64_t v;
    if (slice_to_u64(&v, slice_trim(s), UINT64_MAX) < 0)
        return -EINVAL;
    /* §20.19: delta-seconds; values beyond 2^32-1 mean "a long time". */
    *out = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
    return 0;
}

/* Result of parsing: 0, or the code to answer with (*why its reason). */
static unsigned parse_contacts(struct registrar *r, struct reg_req *q, const struct sipmsg *req,
                               const struct tp_flow *flow, const char *path, uint32_t *min_needed,
                               const char **why)
{
    bool has_hexp = false;
    uint32_t hexp = 0;
    const struct sip_hdr *he = sipmsg_hdr_first(req, HDR_EXPIRES);
    if (he != NULL) {
        if (parse_delta(&hexp, he->value) < 0) {
            *why = "Bad Expires";
            return 400;
        }
        has_hexp = true;
    }
    const struct sip_hdr *hua = sipmsg_hdr_first(req, HDR_USER_AGENT);
    char *ua = hua ? keep(q, dup_slice(hua->value)) : NULL;
    char *cid = keep(q, dup_slice(req->call_id));
    char received[TP_ADDR_STRLEN];
    tp_addr_str(&flow->remote, received, sizeof(received));
    int64_t now = reg_now(r);
    size_t seen = 0;
    if (cid == NULL || (hua && ua == NULL))
        goto nomem;

    for (const struct sip_hdr *h = sipmsg_hdr_first(req, HDR_CONTACT); h;
         h = sipmsg_hdr_next(req, h)) {
        struct slice rest = h->value, item;
        while (hdr_list_next(&rest, &item)) {
            struct sip_nameaddr na;
            struct sip_err err = {0};
            if (++seen > REG_MAX_REQ_CONTACTS) {
                *why = "Too Many Contacts";
                return 403;
            }
            if (hdr_parse_nameaddr(&na, item, &err) != SIP_PARSE_OK) {
                *why = "Bad Contact";
                return 400;
            }
            if (na.is_star) {
                q->is_star = true;
                continue;
            }
            /* Expiry: the contact's expires param, else the Expires
             * header, else our default (§10.3 step 7). */
            uint32_t e = has_hexp ? hexp : r->cfg.default_expires;
            struct slice pv;
            if (hdr_param_find(na.params, "expires", &pv) && parse_delta(&e, pv) < 0) {
                *why = "Bad Contact Expires";
                return 400;
            }
            /* 423 only for 0 < e < one hour and below our minimum (§10.3
             * step 7 allows it exactly then). */
            if (e > 0 && e < 3600 && e < r->cfg.min_expires) {
                *min_needed = r->cfg.min_expires;
                return 423;
            }
            if (e > r->cfg.max_expires)
                e = r->cfg.max_expires;
            uint16_t qv = STORE_Q_MAX;
            if (hdr_param_find(na.params, "q", &pv) && reg_parse_q(&qv, pv) < 0) {
                *why = "Bad q-value";
                return 400;
            }
            char key[REG_KEY_CAP];
            if (reg_match_key(key, sizeof(key), &na) < 0) {
                *why = "Contact Too Long";
                return 400;
            }
            struct store_change *c = &q->c[q->n++];
            c->op = e == 0 ? STORE_REMOVE : STORE_SET;
            c->b.contact = keep(q, dup_slice(na.uri_s));
            c->b.match_key = keep(q, dup_slice(slice_cstr(key)));
            struct slice inst;
            if (hdr_param_find(na.params, "+sip.instance", &inst)) {
                c->b.instance = keep(q, dup_slice(inst));
                if (c->b.instance == NULL)
                    goto nomem;
            }
            if (hdr_param_find(na.params, "reg-id", &pv)) {
                uint32_t rid = 0;
                if (parse_delta(&rid, pv) == 0)
                    c->b.reg_id = rid;
            }
            if (c->b.contact == NULL || c->b.match_key == NULL)
                goto nomem;
            c->b.call_id = cid;
            c->b.cseq = req->cseq.num;
            c->b.expires_at = now + e;
            c->b.q = qv;
            c->b.path = (char *)path;
            c->b.user_agent = ua;
            c->b.proto = (uint8_t)flow->proto;
            c->b.listener = (uint16_t)flow->listener;
            c->b.conn_id = flow->conn_id;
            memcpy(c->b.received, received, sizeof(c->b.received));
        }
    }
    /* §10.3 step 6: "*" only alone and with Expires: 0. */
    if (q->is_star) {
        if (seen != 1 || !has_hexp || hexp != 0) {
            *why = "Invalid Contact: *";
            return 400;
        }
        q->c[0].op = STORE_REMOVE_ALL;
        q->c[0].b.call_id = cid;
        q->c[0].b.cseq = req->cseq.num;
        q->n = 1;
    }
    return 0;
nomem:
    *why = "Server Internal Error";
    return 500;
}

int reg_handle(struct registrar *r, struct ev_loop *loop, struct txn *st, const struct sipmsg *req,
               const struct tp_flow *flow)
{
    char aor[REG_KEY_CAP];
    char line[96];
    int alen = reg_aor_canonical(aor, sizeof(aor), &req->to.uri);
    if (alen < 0)
        return reply(st, 404, "Invalid Address of Record", NULL, 0); /* §10.3 step 5 */

    struct slice bad;
    if (requires_unknown(req, &bad)) {
        int l = snprintf(line, sizeof(line), "Unsupported: %.*s", (int)SW_MIN(bad.len, 64), bad.p);
        struct slice ex = slice_make(line, (size_t)l);
        return reply(st, 420, "Bad Extension", &ex, 1);
    }
    if (r->auth != NULL &&
        r->auth(r->auth_arg, st, req, flow, slice_make(aor, (size_t)alen)) == REG_AUTH_ANSWERED)
        return 0;

    int rc;
    char *path = join_path(req, &rc);
    if (rc < 0)
        return reply(st, 500, "Server Internal Error", NULL, 0);
    /* RFC 3327 §5.3: Path is stored only when the UA said it supports it;
     * otherwise the REGISTER is refused with 420 and Unsupported: path. */
    if (path != NULL && !has_option(req, HDR_SUPPORTED, "path")) {
        free(path);
        static const struct slice ex = SLICE_LIT("Unsupported: path");
        return reply(st, 420, "Bad Extension", &ex, 1);
    }

    struct reg_req *q = calloc(1, sizeof(*q));
    struct reg_wait *w = calloc(1, sizeof(*w));
    if (q == NULL || w == NULL) {
        free(q);
        free(w);
        free(path);
        return reply(st, 500, "Server Internal Error", NULL, 0);
    }
    uint32_t min_needed = 0;
    const char *why = NULL;
    unsigned code = parse_contacts(r, q, req, flow, path, &min_needed, &why);
    if (code == 0 && r->cfg.max_contacts_policy == REG_REJECT && q->n > r->cfg.max_contacts) {
        code = 403;
        why = "Too Many Contacts";
    }
    if (code == 423) {
        int l = snprintf(line, sizeof(line), "Min-Expires: %u", min_needed);
        struct slice ex = slice_make(line, (size_t)l);
        rc = reply(st, 423, "Interval Too Brief", &ex, 1);
        goto done;
    }
    if (code != 0) {
        rc = reply(st, code, why, NULL, 0);
        goto done;
    }
    struct store_apply_opts o = {
        .now = reg_now(r),
        .max_contacts = r->cfg.max_contacts,
        .replace_oldest = r->cfg.max_contacts_policy == REG_REPLACE_OLDEST,
    };
    w->r = r;
    w->st = txn_ref(st);
    w->path = path; /* echoed in the 200 */
    path = NULL;
    rc = store_apply(r->store, slice_make(aor, (size_t)alen), q->c, q->n, &o, loop, on_stored, w);
    if (rc == 0) {
        w = NULL; /* on_stored owns it now */
    } else if (rc == -EAGAIN) {
        static const struct slice retry = SLICE_LIT("Retry-After: 5");
        rc = reply(st, 503, "Location Store Busy", &retry, 1);
    } else {
        rc = reply(st, 500, "Server Internal Error", NULL, 0);
    }
done:
    if (w != NULL) {
        if (w->st != NULL)
            txn_unref(w->st);
        free(w->path);
        free(w);
    }
    free(path);
    req_fini(q);
    free(q);
    return rc;
}
