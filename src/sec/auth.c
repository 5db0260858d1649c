/* SPDX-License-Identifier: BSD-2-Clause */
/* Digest authentication: nonces, nonce-count replay table, verification, challenges. */
#include "sec/auth.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>

#include "core/htab.h"
#include "sec/auth_int.h"
#include "sip/uri.h"

/*
 * Nonce (RFC 7616 §3.3 leaves its form to the server): 64 hex digits of
 *
 *     ts_ms (8, big endian) || rnd (8) || HMAC-SHA256(secret, ts || rnd || realm)[0..16)
 *
 * It is stateless: issuing a challenge stores nothing, so a flood of
 * unauthenticated requests (spoofed sources included) costs no memory.
 * The MAC binds the nonce to its realm and to this process start (the
 * secret is drawn from getrandom at start); the timestamp gives the
 * expiry. rnd makes each nonce unique, which keys the nonce-count table.
 */
#define NONCE_RAW 32
#define NONCE_HEX (2 * NONCE_RAW)
#define OPAQUE_RAW 16

/*
 * Nonce-count table (RFC 7616 §3.4, "nc"): the highest nc seen per nonce,
 * so a captured request cannot be replayed. It is only written after the
 * response has been verified, so its entries come from clients that know
 * a password. Bounded: NC_WAYS-way set-associative sets in lock-striped
 * shards; a full set evicts the entry whose nonce expires first. An
 * evicted nonce must not become replayable, so each set remembers the
 * newest issue time it ever evicted ('floor_ms'): a nonce not in the
 * table but issued at or before it is answered STALE (the client simply
 * takes a fresh nonce). The keys are our own random rnd values, checked by
 * the MAC before they reach the table, so a plain mix of them cannot be
 * steered into one set.
 */
#define NC_WAYS 8
#define NC_SHARDS 16

struct nc_slot {
    uint64_t rnd;
    uint64_t ts_ms; /* issue time; 0 = empty */
    uint32_t nc;
};

struct nc_set {
    struct nc_slot slot[NC_WAYS];
    uint64_t floor_ms;
};

/* Owner: struct auth; mutex-protected (taken once per successful check). */
struct nc_shard {
    pthread_mutex_t lock;
    struct nc_set *sets; /* owned */
    size_t nsets;
};

/* Owner: main (auth_new/auth_free); shared read-mostly by all workers. */
struct auth {
    uint8_t secret[32];               /* nonce MAC key; wiped at free */
    /* HMAC-SHA256 keyed with secret once; each MAC starts from a copy, so
     * no algorithm fetch or key schedule per nonce. Read-only after
     * auth_new, so workers copy it concurrently. */
    EVP_MAC_CTX *mac_tmpl; /* owned */
    uint8_t dummy_ha1[AUTH_HASH_MAX]; /* HA1 used for unknown users */
    uint8_t rnd_key[16];              /* SipHash key making rnd values */
    _Atomic uint64_t counter;         /* nonces issued */
    bool is_enabled[AUTH_ALG_COUNT];
    enum auth_algo order[AUTH_ALG_COUNT]; /* offer order */
    unsigned norder;
    char **realms; /* owned */
    size_t nrealms;
    uint64_t nonce_ttl_ms;
    auth_lookup_fn lookup; /* borrowed hook */
    void *lookup_arg;
    /*
     * Users snapshot: readers bump 'readers', load the pointer, copy the
     * HA1 out and drop 'readers'. A reload stores the new pointer, then
     * waits until 'readers' is seen at zero before freeing the old one:
     * every reader that could have loaded the old pointer had raised the
     * count before loading it. The read side is two atomic increments and
     * no lock; the wait is a few ns because reader sections copy 32 bytes.
     * (A refcount taken after loading the pointer would race with the
     * free; per-worker snapshot refs need hooks in every worker loop.)
     */
    _Atomic(struct auth_users *) users; /* owned */
    _Atomic unsigned long readers;
    pthread_mutex_t reload_lock;
    struct nc_shard shards[NC_SHARDS];
};

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint64_t get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static void mac(const struct auth *a, char tag, const uint8_t *data, size_t len, struct slice realm,
                uint8_t out[32])
{
    uint8_t buf[1 + 16 + AUTH_REALM_MAX];
    size_t rl = SW_MIN(realm.len, (size_t)AUTH_REALM_MAX);
    buf[0] = (uint8_t)tag;
    if (len)
        memcpy(buf + 1, data, len);
    if (rl)
        memcpy(buf + 1 + len, realm.p, rl);
    size_t n = 0;
    EVP_MAC_CTX *c = EVP_MAC_CTX_dup(a->mac_tmpl);
    if (c == NULL || !EVP_MAC_update(c, buf, 1 + len + rl) || !EVP_MAC_final(c, out, &n, 32) ||
        n != 32)
        memset(out, 0xff, 32); /* never matches a nonce we issued */
    EVP_MAC_CTX_free(c);
}

static void nonce_make(struct auth *a, struct slice realm, uint64_t now_ms, char out[NONCE_HEX + 1])
{
    uint8_t raw[NONCE_RAW], m[32];
    uint64_t n = atomic_fetch_add(&a->counter, 1);
    put_be64(raw, now_ms);
    put_be64(raw + 8, htab_siphash(a->rnd_key, &n, sizeof(n)));
    mac(a, 'n', raw, 16, realm, m);
    memcpy(raw + 16, m, 16);
    auth_hex(out, raw, sizeof(raw));
}

/* 0 with ts and rnd when the nonce is one of ours for realm, else -EINVAL. */
static int nonce_open(const struct auth *a, struct slice nonce, struct slice realm, uint64_t *ts,
                      uint64_t *rnd)
{
    uint8_t raw[NONCE_RAW], m[32];
    if (auth_unhex(raw, sizeof(raw), nonce) < 0)
        return -EINVAL;
    mac(a, 'n', raw, 16, realm, m);
    if (CRYPTO_memcmp(m, raw + 16, 16) != 0)
        return -EINVAL;
    *ts = get_be64(raw);
    *rnd = get_be64(raw + 8);
    return 0;
}

static void opaque_make(const struct auth *a, struct slice realm, char out[2 * OPAQUE_RAW + 1])
{
    uint8_t m[32];
    mac(a, 'o', NULL, 0, realm, m);
    auth_hex(out, m, OPAQUE_RAW);
}

enum nc_verdict { NC_OK, NC_REPLAY, NC_EVICTED };

static enum nc_verdict nc_update(struct auth *a, uint64_t rnd, uint64_t ts_ms, uint32_t nc,
                                 uint64_t now_ms)
{
    struct nc_shard *sh = &a->shards[rnd % NC_SHARDS];
    enum nc_verdict v = NC_OK;
    uint64_t expired_before = now_ms > a->nonce_ttl_ms ? now_ms - a->nonce_ttl_ms : 0;

    pthread_mutex_lock(&sh->lock);
    struct nc_set *set = &sh->sets[(rnd / NC_SHARDS) % sh->nsets];
    struct nc_slot *victim = NULL;
    uint64_t best = UINT64_MAX;
    for (unsigned i = 0; i < NC_WAYS; i++) {
        struct nc_slot *s = &set->slot[i];
        if (s->ts_ms != 0 && s->rnd == rnd && s->ts_ms == ts_ms) {
            if (nc <= s->nc)
                v = NC_REPLAY;
            else
                s->nc = nc;
            goto out;
        }
        /* Prefer an empty or expired slot, else the oldest nonce. */
        uint64_t score = (s->ts_ms == 0 || s->ts_ms < expired_before) ? 0 : s->ts_ms;
        if (score < best) {
            best = score;
            victim = s;
        }
    }
    if (ts_ms <= set->floor_ms) {
        v = NC_EVICTED;
        goto out;
    }
    if (best != 0 && best > set->floor_ms)
        set->floor_ms = best; /* a live nonce leaves the table */
    *victim = (struct nc_slot){.rnd = rnd, .ts_ms = ts_ms, .nc = nc};
out:
    pthread_mutex_unlock(&sh->lock);
    return v;
}

/* Copies the HA1 of (realm, user) for algo; false if unknown. */
static bool user_ha1(struct auth *a, struct slice realm, struct slice user, enum auth_algo algo,
                     uint8_t ha1[AUTH_HASH_MAX])
{
    if (a->lookup)
        return a->lookup(a->lookup_arg, realm, user, algo, ha1) == 0;
    bool found = false;
    atomic_fetch_add(&a->readers, 1);
    const struct auth_users *u = atomic_load(&a->users);
    const struct auth_user *e = u ? auth_users_find(u, realm, user) : NULL;
    if (e && e->has[algo]) {
        memcpy(ha1, e->ha1[algo], AUTH_HASH_MAX);
        found = true;
    }
    atomic_fetch_sub(&a->readers, 1);
    return found;
}

static bool digest_uri_matches(const struct sipmsg *req, struct slice uri_s)
{
    struct uri u;
    struct sip_err err;
    if (slice_eq(uri_s, req->ruri_s))
        return true;
    /* Equal by RFC 3261 §19.1.4 rules, for clients that re-print the URI. */
    return uri_parse(&u, uri_s, &err) == SIP_PARSE_OK && uri_equal(&u, &req->ruri);
}

static enum auth_result verdict(struct auth_verdict *v, enum auth_result r, const char *why)
{
    v->result = r;
    v->reason = why;
    return r;
}

/* Picks the Digest credentials for realm among the fields of hid. */
static enum auth_result find_creds(const struct sipmsg *req, enum hdr_id hid, const char *realm,
                                   struct auth_creds *c, struct auth_verdict *v)
{
    struct slice want = slice_cstr(realm);
    for (const struct sip_hdr *h = sipmsg_hdr_first(req, hid); h; h = sipmsg_hdr_next(req, h)) {
        const char *why = NULL;
        int rc = auth_creds_parse(c, h->value, &why);
        if (rc < 0)
            return verdict(v, AUTH_BAD, why);
        /* RFC 3261 §22.3: one credential per realm; others are not ours. */
        if (rc == 1 && slice_eq(c->realm, want))
            return AUTH_OK;
    }
    return verdict(v, AUTH_CHALLENGE, "no credentials for realm");
}

/* Syntax checks that need no secret (RFC 7616 §3.4). */
static enum auth_result check_syntax(struct auth *a, const struct auth_creds *c,
                                     struct auth_verdict *v, uint32_t *nc)
{
    uint8_t ncb[4];
    if (!c->username.p || !c->nonce.p || !c->uri.p || !c->response.p)
        return verdict(v, AUTH_BAD, "Missing digest parameter");
    if (c->has_userhash || c->has_username_star)
        return verdict(v, AUTH_BAD, "Unsupported username encoding");
    if (c->username.len == 0 || c->username.len > AUTH_USER_MAX ||
        memchr(c->username.p, '\0', c->username.len))
        return verdict(v, AUTH_BAD, "Bad digest username");
    /* RFC 7616 §3.4: absent algorithm means MD5. */
    int algo = c->algorithm.p ? auth_algo_parse(c->algorithm) : AUTH_ALG_MD5;
    if (algo < 0)
        return verdict(v, AUTH_BAD, "Unsupported digest algorithm");
    v->algo = (enum auth_algo)algo;
    /* We offer qop="auth" only; RFC 7616 §3.4 makes qop, cnonce and nc
     * mandatory when the challenge had qop. */
    if (!c->qop.p || !slice_caseeq_cstr(c->qop, "auth"))
        return verdict(v, AUTH_BAD, "Unsupported or missing qop");
    if (!c->cnonce.p || c->cnonce.len == 0 || !c->nc.p || auth_unhex(ncb, 4, c->nc) < 0)
        return verdict(v, AUTH_BAD, "Bad digest cnonce or nc");
    *nc = (uint32_t)ncb[0] << 24 | (uint32_t)ncb[1] << 16 | (uint32_t)ncb[2] << 8 | ncb[3];
    if (c->response.len != 2 * auth_hash_len(v->algo))
        return verdict(v, AUTH_BAD, "Bad digest response length");
    if (!a->is_enabled[v->algo])
        return verdict(v, AUTH_CHALLENGE, "algorithm not enabled");
    return AUTH_OK;
}

enum auth_result auth_check(struct auth *a, const struct sipmsg *req, enum auth_kind kind,
                            const char *realm, uint64_t now_ms, struct auth_verdict *v)
{
    struct auth_creds *c = malloc(sizeof(*c));
    enum auth_result r;
    uint32_t nc = 0;
    uint64_t ts = 0, rnd = 0;
    uint8_t ha1[AUTH_HASH_MAX];
    char want[2 * AUTH_HASH_MAX + 1], got[2 * AUTH_HASH_MAX + 1];

    memset(v, 0, sizeof(*v));
    if (!c)
        return verdict(v, AUTH_CHALLENGE, "out of memory");
    r = find_creds(req, kind == AUTH_KIND_PROXY ? HDR_PROXY_AUTHORIZATION : HDR_AUTHORIZATION,
                   realm, c, v);
    if (r != AUTH_OK)
        goto out;
    if ((r = check_syntax(a, c, v, &nc)) != AUTH_OK)
        goto out;
    memcpy(v->user, c->username.p, c->username.len);
    v->user[c->username.len] = '\0';
    /* RFC 7616 §3.4.6 / RFC 3261 §22.4: the digest-uri must designate the
     * Request-URI; otherwise 400. */
    if (!digest_uri_matches(req, c->uri)) {
        r = verdict(v, AUTH_BAD, "Digest uri does not match Request-URI");
        goto out;
    }
    /* A nonce we did not issue (another realm, a previous start) or a
     * wrong opaque carries no password guess: challenge afresh. */
    if (nonce_open(a, c->nonce, slice_cstr(realm), &ts, &rnd) < 0 || ts > now_ms) {
        r = verdict(v, AUTH_CHALLENGE, "nonce not issued here");
        goto out;
    }
    if (c->opaque.p) {
        char op[2 * OPAQUE_RAW + 1];
        opaque_make(a, slice_cstr(realm), op);
        if (!slice_eq(c->opaque, slice_cstr(op))) {
            r = verdict(v, AUTH_CHALLENGE, "opaque not issued here");
            goto out;
        }
    }
    /* Unknown users are computed against the per-start dummy HA1: same
     * work, same answer, so the response tells nothing about accounts. */
    bool is_known = user_ha1(a, c->realm, c->username, v->algo, ha1);
    if (!is_known)
        memcpy(ha1, a->dummy_ha1, sizeof(ha1));
    auth_response(v->algo, ha1, req->method_name, c, want);
    for (size_t i = 0; i < c->response.len; i++) {
        char ch = c->response.p[i];
        got[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
    }
    bool is_match = CRYPTO_memcmp(want, got, c->response.len) == 0;
    OPENSSL_cleanse(ha1, sizeof(ha1));
    if (!is_match || !is_known) {
        r = verdict(v, AUTH_FAILED, is_known ? "wrong response" : "unknown user");
        goto out;
    }
    /* RFC 7616 §3.3: stale=true only when the digest was valid. */
    if (now_ms - ts > a->nonce_ttl_ms) {
        r = verdict(v, AUTH_STALE, "nonce expired");
        goto out;
    }
    switch (nc_update(a, rnd, ts, nc, now_ms)) {
    case NC_OK:
        r = verdict(v, AUTH_OK, "ok");
        break;
    case NC_REPLAY:
        r = verdict(v, AUTH_FAILED, "nonce-count replayed");
        break;
    case NC_EVICTED:
        r = verdict(v, AUTH_STALE, "nonce no longer tracked");
        break;
    }
out:
    free(c);
    return r;
}

/* Appends s as a quoted-string body (RFC 3261 §25.1); -EINVAL on controls. */
static int quote(char *out, size_t cap, size_t *len, const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch < 0x20 || ch == 0x7f)
            return -EINVAL;
        if (*len + 2 >= cap)
            return -EINVAL;
        if (ch == '"' || ch == '\\')
            out[(*len)++] = '\\';
        out[(*len)++] = (char)ch;
    }
    out[*len] = '\0';
    return 0;
}

int auth_challenge_build(struct auth *a, struct auth_challenge *ch, enum auth_kind kind,
                         const char *realm, bool is_stale, uint64_t now_ms)
{
    char qrealm[2 * AUTH_REALM_MAX + 1];
    char nonce[NONCE_HEX + 1], opaque[2 * OPAQUE_RAW + 1];
    size_t qlen = 0;

    ch->count = 0;
    if (strlen(realm) > AUTH_REALM_MAX || quote(qrealm, sizeof(qrealm), &qlen, realm) < 0)
        return -EINVAL;
    opaque_make(a, slice_cstr(realm), opaque);
    for (unsigned i = 0; i < a->norder; i++) {
        nonce_make(a, slice_cstr(realm), now_ms, nonce);
        int n =
            snprintf(ch->buf[i], sizeof(ch->buf[i]),
                     "%s: Digest realm=\"%s\", nonce=\"%s\", opaque=\"%s\", algorithm=%s, "
                     "qop=\"auth\"%s",
                     kind == AUTH_KIND_PROXY ? "Proxy-Authenticate" : "WWW-Authenticate", qrealm,
                     nonce, opaque, auth_algo_name(a->order[i]), is_stale ? ", stale=true" : "");
        if (n < 0 || (size_t)n >= sizeof(ch->buf[i]))
            return -EINVAL;
        ch->lines[i] = slice_make(ch->buf[i], (size_t)n);
        ch->count++;
    }
    return 0;
}

enum auth_kind auth_kind_for(const struct sipmsg *req)
{
    return req->method == SIP_REGISTER ? AUTH_KIND_WWW : AUTH_KIND_PROXY;
}

unsigned auth_reply_code(enum auth_kind kind)
{
    return kind == AUTH_KIND_PROXY ? 407 : 401;
}

const char *auth_realm_find(const struct auth *a, struct slice host)
{
    for (size_t i = 0; i < a->nrealms; i++)
        if (slice_caseeq_cstr(host, a->realms[i]))
            return a->realms[i];
    return NULL;
}

void auth_set_lookup(struct auth *a, auth_lookup_fn fn, void *arg)
{
    a->lookup = fn;
    a->lookup_arg = arg;
}

int auth_users_reload(struct auth *a, const char *file, char *err, size_t errlen)
{
    struct auth_users *nu = NULL;
    int rc = auth_users_load(&nu, file, err, errlen);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&a->reload_lock);
    struct auth_users *old = atomic_exchange(&a->users, nu);
    while (atomic_load(&a->readers) != 0)
        sched_yield();
    pthread_mutex_unlock(&a->reload_lock);
    auth_users_free(old);
    return 0;
}

size_t auth_users_count(struct auth *a)
{
    atomic_fetch_add(&a->readers, 1);
    const struct auth_users *u = atomic_load(&a->users);
    size_t n = u ? u->count : 0;
    atomic_fetch_sub(&a->readers, 1);
    return n;
}

static int fill_random(void *p, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = getrandom((char *)p + got, len - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        got += (size_t)n;
    }
    return 0;
}

struct auth *auth_new(const struct auth_conf *c, char *err, size_t errlen)
{
    struct auth *a = calloc(1, sizeof(*a));
    size_t per_shard;

    if (!a)
        return NULL;
    pthread_mutex_init(&a->reload_lock, NULL);
    per_shard = (c->nonce_table_size ? c->nonce_table_size : 65536) / NC_SHARDS / NC_WAYS;
    for (unsigned i = 0; i < NC_SHARDS; i++) {
        pthread_mutex_init(&a->shards[i].lock, NULL);
        a->shards[i].nsets = per_shard ? per_shard : 1;
        a->shards[i].sets = calloc(a->shards[i].nsets, sizeof(struct nc_set));
        if (!a->shards[i].sets)
            goto nomem;
    }
    if (fill_random(a->secret, sizeof(a->secret)) < 0 ||
        fill_random(a->dummy_ha1, sizeof(a->dummy_ha1)) < 0 ||
        fill_random(a->rnd_key, sizeof(a->rnd_key)) < 0)
        goto nomem;
    EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    a->mac_tmpl = hmac != NULL ? EVP_MAC_CTX_new(hmac) : NULL;
    EVP_MAC_free(hmac); /* the ctx keeps its own reference */
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA2-256", 0),
                           OSSL_PARAM_construct_end()};
    if (a->mac_tmpl == NULL || !EVP_MAC_init(a->mac_tmpl, a->secret, sizeof(a->secret), params))
        goto nomem;
    for (size_t i = 0; i < c->algorithms.count; i++) {
        int alg = auth_algo_parse(slice_cstr(c->algorithms.items[i]));
        if (alg >= 0 && !a->is_enabled[alg]) {
            a->is_enabled[alg] = true;
            a->order[a->norder++] = (enum auth_algo)alg;
        }
    }
    if (a->norder == 0) { /* default: RFC 8760 §2, SHA-256 preferred */
        a->is_enabled[AUTH_ALG_SHA256] = a->is_enabled[AUTH_ALG_MD5] = true;
        a->order[0] = AUTH_ALG_SHA256;
        a->order[1] = AUTH_ALG_MD5;
        a->norder = 2;
    }
    a->nonce_ttl_ms = c->nonce_ttl_ms ? c->nonce_ttl_ms : 300000;
    if (c->realms.count) {
        a->realms = calloc(c->realms.count, sizeof(char *));
        if (!a->realms)
            goto nomem;
        for (size_t i = 0; i < c->realms.count; i++, a->nrealms++)
            if (!(a->realms[i] = strdup(c->realms.items[i])))
                goto nomem;
    }
    if (c->users && c->users[0]) {
        struct auth_users *u = NULL;
        int rc = auth_users_load(&u, c->users, err, errlen);
        if (rc < 0) {
            auth_free(a);
            errno = -rc;
            return NULL;
        }
        atomic_store(&a->users, u);
    }
    return a;
nomem:
    auth_free(a);
    errno = ENOMEM;
    if (errlen)
        snprintf(err, errlen, "auth: out of memory");
    return NULL;
}

void auth_free(struct auth *a)
{
    if (!a)
        return;
    for (unsigned i = 0; i < NC_SHARDS; i++) {
        free(a->shards[i].sets);
        if (a->shards[i].nsets)
            pthread_mutex_destroy(&a->shards[i].lock);
    }
    for (size_t i = 0; i < a->nrealms; i++)
        free(a->realms[i]);
    free(a->realms);
    auth_users_free(atomic_load(&a->users));
    pthread_mutex_destroy(&a->reload_lock);
    EVP_MAC_CTX_free(a->mac_tmpl);
    OPENSSL_cleanse(a, sizeof(*a));
    free(a);
}
