/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Process-wide index of INVITE server transactions: which worker holds
 * the one a CANCEL, an ACK for a non-2xx or a retransmitted INVITE
 * belongs to (see txn.h). Set-associative, lossy by design: a slot is one
 * 64-bit word written and read atomically, so no lock and no torn entry.
 *
 *   word = tag (32 bits of the key's hash) | worker (8) | expiry (24, s)
 *
 * The set comes from the hash's low bits, the tag from its high bits; a
 * false match needs two keys equal in both (one in 2^32 per way).
 * Expiry is in seconds of CLOCK_MONOTONIC_COARSE modulo 2^24 (194 days),
 * compared with wrap-around arithmetic.
 */
#include "txn/txn.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "core/htab.h"
#include "txn/txn_int.h"

#define IDX_WAYS 4
#define EXP_BITS 24
#define EXP_MASK ((1u << EXP_BITS) - 1)

/* Owner: whoever called txn_index_new (the server); shared by all workers. */
struct txn_index {
    size_t nsets;            /* a power of two */
    _Atomic uint64_t *slots; /* owned: nsets * IDX_WAYS words, 0 = empty */
};

struct txn_index *txn_index_new(size_t entries)
{
    size_t nsets = 1024;
    while (nsets * IDX_WAYS < entries && nsets < ((size_t)1 << 28))
        nsets <<= 1;
    struct txn_index *x = calloc(1, sizeof(*x));
    if (x == NULL)
        return NULL;
    x->nsets = nsets;
    x->slots = calloc(nsets * IDX_WAYS, sizeof(*x->slots));
    if (x->slots == NULL) {
        free(x);
        return NULL;
    }
    return x;
}

void txn_index_free(struct txn_index *x)
{
    if (x == NULL)
        return;
    free(x->slots);
    free(x);
}

static uint32_t now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint32_t)ts.tv_sec & EXP_MASK;
}

/* a - b in seconds on the 24-bit circle, as a signed value */
static int32_t exp_diff(uint32_t a, uint32_t b)
{
    uint32_t d = (a - b) & EXP_MASK;
    return d & (1u << (EXP_BITS - 1)) ? (int32_t)d - (int32_t)(1u << EXP_BITS) : (int32_t)d;
}

/* §17.2.3 key of a request: branch, sent-by host and port. false for an
 * RFC 2543 branch (no magic cookie): such requests are matched on other
 * fields and are not indexed. */
static bool key_hash(const struct sipmsg *m, uint64_t *h)
{
    if (m->via_count == 0 || !txn_has_cookie(m->via1.branch))
        return false;
    *h = txn_branch_hash(m->via1.branch) ^
         (htab_hash_nocase(m->via1.host.p, m->via1.host.len) * 0x9e3779b97f4a7c15ull) ^
         txn_via_port(&m->via1);
    return true;
}

void txn_index_put(struct txn_index *x, const struct sipmsg *invite, unsigned worker,
                   uint32_t ttl_s)
{
    uint64_t h;
    if (x == NULL || worker > 255 || !key_hash(invite, &h))
        return;
    uint32_t now = now_s(), tag = (uint32_t)(h >> 32);
    uint64_t word = (uint64_t)tag << 32 | (uint64_t)worker << EXP_BITS | ((now + ttl_s) & EXP_MASK);
    _Atomic uint64_t *set = &x->slots[(h & (x->nsets - 1)) * IDX_WAYS];
    /* the same key, else an empty or expired slot, else the one that
     * expires first */
    size_t victim = 0;
    int32_t best = INT32_MAX;
    for (size_t i = 0; i < IDX_WAYS; i++) {
        uint64_t w = atomic_load_explicit(&set[i], memory_order_relaxed);
        if (w == 0 || (uint32_t)(w >> 32) == tag) {
            victim = i;
            break;
        }
        int32_t left = exp_diff((uint32_t)w & EXP_MASK, now);
        if (left < best) {
            best = left;
            victim = i;
        }
    }
    atomic_store_explicit(&set[victim], word, memory_order_relaxed);
}

int txn_index_get(const struct txn_index *x, const struct sipmsg *m)
{
    uint64_t h;
    if (!key_hash(m, &h))
        return -2;
    if (x == NULL)
        return -1;
    uint32_t now = now_s(), tag = (uint32_t)(h >> 32);
    const _Atomic uint64_t *set = &x->slots[(h & (x->nsets - 1)) * IDX_WAYS];
    for (size_t i = 0; i < IDX_WAYS; i++) {
        uint64_t w = atomic_load_explicit(&set[i], memory_order_relaxed);
        if (w != 0 && (uint32_t)(w >> 32) == tag && exp_diff((uint32_t)w & EXP_MASK, now) > 0)
            return (int)((w >> EXP_BITS) & 0xffu);
    }
    return -1;
}
