/* SPDX-License-Identifier: BSD-2-Clause */
/* Failed-authentication counting per source and AOR, and source bans. */
#include "sec/ban.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/htab.h"
#include "core/log.h"
#include "core/metric.h"

/*
 * Layout: the table is an array of sets of BAN_WAYS slots (set-associative,
 * like a CPU cache). A source hashes (SipHash, per-table random key, so a
 * spoofer cannot aim at one set) to one set; a full set evicts one of its
 * own slots. So the table holds at most nsets * BAN_WAYS sources, however
 * many addresses are thrown at it, and no operation walks more than one
 * set. Sets are guarded by BAN_SHARDS striped mutexes (set index modulo
 * BAN_SHARDS): failures are rare events (each is a full digest round trip
 * from a client that saw our nonce), so a mutex there is cheap.
 *
 * ban_check runs for every packet, from every worker, so it takes no lock.
 * Each set publishes its bans in 'hot' under a per-set seqlock: the writer
 * (holding the shard mutex) makes seq odd, updates, makes it even; a reader
 * retries if seq was odd or changed. A mutex here would put one shared
 * cache line write per packet on every worker; an RCU-published banned
 * set would need a copy per ban. The seqlock costs a reader two loads of
 * seq plus one set's 24 words, and a global 'horizon' (the latest end of
 * any ban) lets the common case, no ban active, return after one load.
 *
 * The sliding window is exact: each slot keeps the times of its last
 * 'max' failures in a ring (32-bit ms, compared with wrapping arithmetic,
 * valid for windows under 24 days; the config caps windows at one day).
 * A ban needs max failures with the oldest of them less than 'window' ago.
 */
#define BAN_WAYS 8
#define BAN_SHARDS 16
#define AOR_LOG_MAX 128

struct ban_hot {
    _Atomic uint64_t k0, k1;
    _Atomic uint64_t until_ms; /* 0 = no ban */
};

struct ban_slot {
    uint64_t k0, k1;
    uint64_t last_ms;  /* last failure */
    uint64_t until_ms; /* ban end; 0 = not banned */
    uint32_t nfail;    /* failures in the ring (<= max) */
    uint32_t head;     /* next ring position */
    bool is_used;
};

struct ban_set {
    _Atomic uint32_t seq;
    struct ban_hot hot[BAN_WAYS];
    struct ban_slot slot[BAN_WAYS];
};

struct aor_slot {
    uint64_t k0, k1;
    uint64_t first_ms; /* start of the current window */
    uint32_t count;
    bool is_used, is_alerted;
};

struct aor_set {
    struct aor_slot slot[BAN_WAYS];
};

/* Owner: main; shared by all workers (see the locking note above). */
struct ban_table {
    uint8_t key[16];
    unsigned max;
    uint64_t window_ms, ban_ms;
    size_t nsets;
    struct ban_set *sets; /* owned */
    uint32_t *ring;       /* owned: nsets * BAN_WAYS * max failure times */
    size_t naor;
    struct aor_set *aor;         /* owned */
    const struct acl *trusted;   /* borrowed */
    _Atomic uint64_t horizon_ms; /* no ban lasts beyond this */
    pthread_mutex_t locks[BAN_SHARDS];
    metric_id m_bans, m_failures, m_aor_alerts;
};

static void ip_key(const struct ban_table *t, const struct acl_ip *ip, uint64_t *k0, uint64_t *k1,
                   size_t *set)
{
    memcpy(k0, ip->b, 8);
    memcpy(k1, ip->b + 8, 8);
    *set = htab_siphash(t->key, ip->b, 16) % t->nsets;
}

/* Seqlock write side; caller holds the set's shard mutex. */
static void publish(struct ban_set *s, unsigned way, const struct ban_slot *sl)
{
    uint32_t seq = atomic_load_explicit(&s->seq, memory_order_relaxed);
    atomic_store_explicit(&s->seq, seq + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&s->hot[way].k0, sl->k0, memory_order_relaxed);
    atomic_store_explicit(&s->hot[way].k1, sl->k1, memory_order_relaxed);
    atomic_store_explicit(&s->hot[way].until_ms, sl->is_used ? sl->until_ms : 0,
                          memory_order_relaxed);
    atomic_store_explicit(&s->seq, seq + 2, memory_order_release);
}

bool ban_check(struct ban_table *t, const struct acl_ip *ip, uint64_t now_ms)
{
    uint64_t k0, k1;
    size_t si;

    if (now_ms >= atomic_load_explicit(&t->horizon_ms, memory_order_relaxed))
        return false;
    ip_key(t, ip, &k0, &k1, &si);
    struct ban_set *s = &t->sets[si];
    for (;;) {
        uint32_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
        bool hit = false;
        if (seq & 1)
            continue; /* a writer is inside: a few stores, retry */
        for (unsigned w = 0; w < BAN_WAYS; w++)
            if (atomic_load_explicit(&s->hot[w].k0, memory_order_relaxed) == k0 &&
                atomic_load_explicit(&s->hot[w].k1, memory_order_relaxed) == k1 &&
                atomic_load_explicit(&s->hot[w].until_ms, memory_order_relaxed) > now_ms)
                hit = true;
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&s->seq, memory_order_relaxed) == seq)
            return hit;
    }
}

/* Failures still inside the window, for eviction order. */
static uint32_t live_failures(const struct ban_table *t, const struct ban_slot *sl, uint64_t now_ms)
{
    return now_ms - sl->last_ms < t->window_ms ? sl->nfail : 0;
}

/* Returns the slot of (k0, k1) in set s, taking a victim if absent.
 * Eviction order: free slots, then unbanned ones with the fewest live
 * failures (oldest first), and only when every slot is banned, the ban
 * that ends first: a flood of new sources pushes out one-off failures
 * before it can push out a real attacker's ban. */
static struct ban_slot *slot_get(struct ban_table *t, struct ban_set *s, uint64_t k0, uint64_t k1,
                                 uint64_t now_ms, unsigned *way)
{
    unsigned best = 0;
    for (unsigned w = 0; w < BAN_WAYS; w++) {
        struct ban_slot *sl = &s->slot[w];
        if (sl->is_used && sl->k0 == k0 && sl->k1 == k1) {
            *way = w;
            return sl;
        }
    }
    for (unsigned w = 1; w < BAN_WAYS; w++) {
        const struct ban_slot *a = &s->slot[w], *b = &s->slot[best];
        if (!b->is_used)
            break;
        if (!a->is_used) {
            best = w;
            continue;
        }
        bool a_ban = a->until_ms > now_ms, b_ban = b->until_ms > now_ms;
        if (a_ban != b_ban) {
            if (!a_ban)
                best = w;
            continue;
        }
        if (a_ban) {
            if (a->until_ms < b->until_ms)
                best = w;
            continue;
        }
        uint32_t fa = live_failures(t, a, now_ms), fb = live_failures(t, b, now_ms);
        if (fa < fb || (fa == fb && a->last_ms < b->last_ms))
            best = w;
    }
    struct ban_slot *sl = &s->slot[best];
    bool had_ban = sl->is_used && sl->until_ms != 0;
    *sl = (struct ban_slot){.k0 = k0, .k1 = k1, .is_used = true};
    if (had_ban)
        publish(s, best, sl);
    *way = best;
    return sl;
}

static void horizon_raise(struct ban_table *t, uint64_t until_ms)
{
    uint64_t cur = atomic_load(&t->horizon_ms);
    while (cur < until_ms && !atomic_compare_exchange_weak(&t->horizon_ms, &cur, until_ms))
        ;
}

static void log_ban(const struct acl_ip *ip, uint64_t ms, const char *reason, struct slice aor)
{
    char addr[ACL_IP_STRLEN];
    acl_ip_format(ip, addr);
    LOG_RL(LOG_LVL_NOTICE, "sec", "banned %s for %" PRIu64 " s: %s%s%.*s", addr, ms / 1000, reason,
           aor.len ? ", last for " : "", (int)SW_MIN(aor.len, (size_t)AOR_LOG_MAX),
           aor.p ? aor.p : "");
}

/* Per-AOR counting: a fixed window, for logs and alerts only (see ban.h
 * for why an account is never banned). */
static void aor_failure(struct ban_table *t, struct slice aor, uint64_t now_ms)
{
    if (aor.len == 0)
        return;
    uint64_t k0 = htab_siphash(t->key, aor.p, aor.len);
    uint64_t k1 = htab_siphash(t->key, &k0, sizeof(k0));
    size_t si = k0 % t->naor;
    struct aor_set *s = &t->aor[si];
    bool is_alert = false;
    uint32_t count = 0;

    pthread_mutex_lock(&t->locks[si % BAN_SHARDS]);
    struct aor_slot *sl = NULL, *victim = NULL;
    for (unsigned w = 0; w < BAN_WAYS && !sl; w++) {
        struct aor_slot *c = &s->slot[w];
        if (c->is_used && c->k0 == k0 && c->k1 == k1)
            sl = c;
        else if (!victim || (victim->is_used &&
                             (!c->is_used || c->count < victim->count ||
                              (c->count == victim->count && c->first_ms < victim->first_ms))))
            victim = c;
    }
    if (!sl) {
        sl = victim;
        *sl = (struct aor_slot){.k0 = k0, .k1 = k1, .first_ms = now_ms, .is_used = true};
    }
    if (now_ms - sl->first_ms >= t->window_ms) {
        sl->first_ms = now_ms;
        sl->count = 0;
        sl->is_alerted = false;
    }
    count = ++sl->count;
    if (count >= t->max && !sl->is_alerted) {
        sl->is_alerted = is_alert = true;
    }
    pthread_mutex_unlock(&t->locks[si % BAN_SHARDS]);
    if (is_alert) {
        metric_inc(t->m_aor_alerts);
        LOG_RL(LOG_LVL_NOTICE, "sec",
               "account %.*s: %u failed authentications within %" PRIu64
               " s (sources are banned, the account is not)",
               (int)SW_MIN(aor.len, (size_t)AOR_LOG_MAX), aor.p, count, t->window_ms / 1000);
    }
}

unsigned ban_aor_failures(struct ban_table *t, struct slice aor, uint64_t now_ms)
{
    if (aor.len == 0)
        return 0;
    uint64_t k0 = htab_siphash(t->key, aor.p, aor.len);
    uint64_t k1 = htab_siphash(t->key, &k0, sizeof(k0));
    size_t si = k0 % t->naor;
    unsigned n = 0;
    pthread_mutex_lock(&t->locks[si % BAN_SHARDS]);
    for (unsigned w = 0; w < BAN_WAYS; w++) {
        const struct aor_slot *c = &t->aor[si].slot[w];
        if (c->is_used && c->k0 == k0 && c->k1 == k1 && now_ms - c->first_ms < t->window_ms)
            n = c->count;
    }
    pthread_mutex_unlock(&t->locks[si % BAN_SHARDS]);
    return n;
}

bool ban_auth_failure(struct ban_table *t, const struct acl_ip *ip, struct slice aor,
                      uint64_t now_ms)
{
    uint64_t k0, k1;
    size_t si;
    unsigned way;
    bool is_banned = false;

    metric_inc(t->m_failures);
    aor_failure(t, aor, now_ms);
    if (acl_match(t->trusted, ip))
        return false;
    ip_key(t, ip, &k0, &k1, &si);
    struct ban_set *s = &t->sets[si];
    pthread_mutex_lock(&t->locks[si % BAN_SHARDS]);
    struct ban_slot *sl = slot_get(t, s, k0, k1, now_ms, &way);
    uint32_t *ring = t->ring + ((size_t)si * BAN_WAYS + way) * t->max;
    if (sl->until_ms > now_ms)
        goto out; /* already banned: its packets should not even get here */
    if (now_ms - sl->last_ms >= t->window_ms)
        sl->nfail = sl->head = 0;
    ring[sl->head] = (uint32_t)now_ms;
    sl->head = (sl->head + 1) % t->max;
    if (sl->nfail < t->max)
        sl->nfail++;
    sl->last_ms = now_ms;
    /* Full ring: ring[head] is the oldest of the last max failures. */
    if (sl->nfail == t->max && (uint32_t)((uint32_t)now_ms - ring[sl->head]) < t->window_ms) {
        sl->until_ms = now_ms + t->ban_ms;
        sl->nfail = sl->head = 0;
        horizon_raise(t, sl->until_ms);
        publish(s, way, sl);
        is_banned = true;
    }
out:
    pthread_mutex_unlock(&t->locks[si % BAN_SHARDS]);
    if (is_banned) {
        metric_inc(t->m_bans);
        log_ban(ip, t->ban_ms, "too many failed authentications", aor);
    }
    return is_banned;
}

bool ban_add(struct ban_table *t, const struct acl_ip *ip, uint64_t duration_ms, const char *reason,
             uint64_t now_ms)
{
    uint64_t k0, k1;
    size_t si;
    unsigned way;

    if (acl_match(t->trusted, ip))
        return false;
    ip_key(t, ip, &k0, &k1, &si);
    struct ban_set *s = &t->sets[si];
    pthread_mutex_lock(&t->locks[si % BAN_SHARDS]);
    struct ban_slot *sl = slot_get(t, s, k0, k1, now_ms, &way);
    sl->until_ms = SW_MAX(sl->until_ms, now_ms + duration_ms);
    horizon_raise(t, sl->until_ms);
    publish(s, way, sl);
    pthread_mutex_unlock(&t->locks[si % BAN_SHARDS]);
    metric_inc(t->m_bans);
    log_ban(ip, duration_ms, reason ? reason : "banned", SLICE_NULL);
    return true;
}

bool ban_remove(struct ban_table *t, const struct acl_ip *ip)
{
    uint64_t k0, k1;
    size_t si;
    bool found = false;

    ip_key(t, ip, &k0, &k1, &si);
    struct ban_set *s = &t->sets[si];
    pthread_mutex_lock(&t->locks[si % BAN_SHARDS]);
    for (unsigned w = 0; w < BAN_WAYS; w++) {
        struct ban_slot *sl = &s->slot[w];
        if (sl->is_used && sl->k0 == k0 && sl->k1 == k1) {
            *sl = (struct ban_slot){0};
            publish(s, w, sl);
            found = true;
        }
    }
    pthread_mutex_unlock(&t->locks[si % BAN_SHARDS]);
    return found;
}

size_t ban_entry_count(struct ban_table *t)
{
    size_t n = 0;
    for (size_t i = 0; i < t->nsets; i++) {
        pthread_mutex_lock(&t->locks[i % BAN_SHARDS]);
        for (unsigned w = 0; w < BAN_WAYS; w++)
            n += t->sets[i].slot[w].is_used;
        pthread_mutex_unlock(&t->locks[i % BAN_SHARDS]);
    }
    return n;
}

size_t ban_capacity(const struct ban_table *t)
{
    return t->nsets * BAN_WAYS;
}

struct ban_table *ban_new(const struct security_conf *c, const struct acl *trusted)
{
    struct ban_table *t = calloc(1, sizeof(*t));
    size_t size = c->ban_table_size ? c->ban_table_size : 65536;

    if (!t)
        return NULL;
    t->max = SW_MAX(c->auth_failures.max, 1u);
    t->window_ms = c->auth_failures.window_ms ? c->auth_failures.window_ms : 60000;
    t->ban_ms = c->auth_failures.ban_ms ? c->auth_failures.ban_ms : 900000;
    t->trusted = trusted;
    t->nsets = SW_MAX(size / BAN_WAYS, (size_t)1);
    t->naor = SW_MAX(t->nsets / 4, (size_t)1);
    t->sets = calloc(t->nsets, sizeof(*t->sets));
    t->ring = calloc(t->nsets * BAN_WAYS * t->max, sizeof(*t->ring));
    t->aor = calloc(t->naor, sizeof(*t->aor));
    if (!t->sets || !t->ring || !t->aor ||
        getrandom(t->key, sizeof(t->key), 0) != (ssize_t)sizeof(t->key)) {
        ban_free(t);
        return NULL;
    }
    for (unsigned i = 0; i < BAN_SHARDS; i++)
        pthread_mutex_init(&t->locks[i], NULL);
    t->m_bans = metric_register("sec_bans_total", "Sources banned");
    t->m_failures =
        metric_register("sec_auth_failures_total", "Failed digest authentications counted");
    t->m_aor_alerts = metric_register("sec_aor_failure_alerts_total",
                                      "Accounts that reached the failure limit in a window");
    return t;
}

void ban_free(struct ban_table *t)
{
    if (!t)
        return;
    if (t->sets && t->ring && t->aor)
        for (unsigned i = 0; i < BAN_SHARDS; i++)
            pthread_mutex_destroy(&t->locks[i]);
    free(t->sets);
    free(t->ring);
    free(t->aor);
    free(t);
}
