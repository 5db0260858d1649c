/* SPDX-License-Identifier: BSD-2-Clause */
/* The in-memory location table: 64 lock-striped shards of AOR entries. */
#include "store/store_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/*
 * Why a mutex per shard and not per-worker ownership: registrations for
 * one AOR come from any worker (each REGISTER's Call-ID picks its owner),
 * and every worker's proxy looks bindings up. This table is touched once
 * per REGISTER and once per INVITE to a registered user, never per
 * retransmission or per response, and a lock is held only to copy one
 * AOR's few bindings; with 64 stripes two workers rarely meet. A
 * read-write lock was rejected: the critical sections are shorter than
 * the rwlock's own bookkeeping.
 */

/* Working entry of an apply: existing bindings are views into the old
 * record (rec_view), new ones point at the caller's borrowed input. */
struct wb {
    struct store_binding b;
    bool touched; /* named by this request (never dropped as "oldest") */
};

static struct mem_shard *shard_of(struct mem_table *m, uint64_t h)
{
    /* The top bits: the shard's table picks buckets by the low bits, and
     * with h % MEM_SHARDS every AOR of a shard shared its low 6 bits, so
     * only 1/64 of the buckets were used (chains of ~64 under load). */
    _Static_assert((MEM_SHARDS & (MEM_SHARDS - 1)) == 0 && MEM_SHARDS <= 256, "power of two");
    return &m->shard[(h >> 56) % MEM_SHARDS];
}

static bool aor_eq(const struct htab_node *node, const void *key)
{
    const struct mem_aor *a = SW_CONTAINER_OF(node, struct mem_aor, node);
    const struct slice *k = key;
    return a->aor_len == k->len && memcmp(a->aor, k->p, k->len) == 0;
}

static struct mem_aor *aor_find(struct mem_shard *sh, uint64_t h, struct slice aor)
{
    struct htab_node *n = htab_find(sh->t, h, aor_eq, &aor);
    return n ? SW_CONTAINER_OF(n, struct mem_aor, node) : NULL;
}

int mem_init(struct mem_table *m, uint64_t max_aors)
{
    memset(m, 0, sizeof(*m));
    m->max_aors = max_aors;
    for (size_t i = 0; i < MEM_SHARDS; i++) {
        pthread_mutex_init(&m->shard[i].mu, NULL);
        slab_init(&m->shard[i].slab);
        m->shard[i].t = htab_new(64);
        if (m->shard[i].t == NULL) {
            mem_fini(m);
            return -ENOMEM;
        }
    }
    return 0;
}

static void free_node(struct htab_node *node, void *arg)
{
    struct mem_shard *sh = arg;
    struct mem_aor *a = SW_CONTAINER_OF(node, struct mem_aor, node);
    htab_remove(sh->t, node);
    slab_free(&sh->slab, a, a->size);
}

void mem_fini(struct mem_table *m)
{
    for (size_t i = 0; i < MEM_SHARDS; i++) {
        struct mem_shard *sh = &m->shard[i];
        if (sh->t != NULL) {
            htab_foreach(sh->t, free_node, sh);
            htab_free(sh->t);
            sh->t = NULL;
        }
        slab_fini(&sh->slab);
        pthread_mutex_destroy(&sh->mu);
    }
}

void mem_stats(struct mem_table *m, struct slab_stats *out)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < MEM_SHARDS; i++) {
        struct slab_stats st;
        pthread_mutex_lock(&m->shard[i].mu);
        slab_stats_get(&m->shard[i].slab, &st);
        pthread_mutex_unlock(&m->shard[i].mu);
        out->in_use += st.in_use;
        out->mapped += st.mapped;
        out->carved += st.carved;
        out->large += st.large;
    }
}

/* Copies a's bindings not expired at now into a new array (binding_copy:
 * each owns one block). Returns the count or -ENOMEM. */
static int copy_out(const struct mem_aor *a, int64_t now, struct store_binding **out)
{
    *out = NULL;
    if (a == NULL || a->n == 0)
        return 0;
    struct store_binding *r = calloc(a->n, sizeof(*r));
    if (r == NULL)
        return -ENOMEM;
    const unsigned char *p = rec_first(a);
    size_t k = 0;
    for (size_t i = 0; i < a->n; i++) {
        struct store_binding v;
        p = rec_view(p, &v);
        if (v.expires_at <= now)
            continue;
        if (binding_copy(&r[k], &v) < 0) {
            store_bindings_free(r, k);
            return -ENOMEM;
        }
        k++;
    }
    if (k == 0)
        free(r);
    else
        *out = r;
    return (int)k;
}

int mem_lookup(struct mem_table *m, struct slice aor, int64_t now, struct store_binding **out)
{
    uint64_t h = htab_hash(aor.p, aor.len);
    struct mem_shard *sh = shard_of(m, h);
    pthread_mutex_lock(&sh->mu);
    int rc = copy_out(aor_find(sh, h, aor), now, out);
    pthread_mutex_unlock(&sh->mu);
    return rc;
}

static long wb_find(const struct wb *w, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(w[i].b.match_key, key) == 0)
            return (long)i;
    return -1;
}

static void wb_del(struct wb *w, size_t *n, size_t i)
{
    memmove(&w[i], &w[i + 1], (*n - i - 1) * sizeof(*w));
    (*n)--;
}

/* RFC 3261 §10.3 steps 6 and 7 against the working set; no allocation. */
static int run_changes(struct wb *w, size_t *nw, const struct store_change *c, size_t n,
                       int64_t now)
{
    for (size_t k = 0; k < n; k++) {
        const struct store_binding *in = &c[k].b;
        const char *cid = in->call_id;
        if (cid == NULL)
            return -EINVAL;
        if (c[k].op == STORE_REMOVE_ALL) {
            /* Step 6: same Call-ID removes only with a higher CSeq. */
            for (size_t i = 0; i < *nw; i++)
                if (strcmp(w[i].b.call_id, cid) == 0 && w[i].b.cseq >= in->cseq)
                    return -ESTALE;
            *nw = 0;
            continue;
        }
        if (in->match_key == NULL)
            return -EINVAL;
        long i = wb_find(w, *nw, in->match_key);
        if (i >= 0 && strcmp(w[i].b.call_id, cid) == 0 && w[i].b.cseq >= in->cseq)
            return -ESTALE; /* step 7: same Call-ID, CSeq not higher */
        if (c[k].op == STORE_REMOVE) {
            if (i >= 0)
                wb_del(w, nw, (size_t)i);
            continue;
        }
        if (i >= 0) {
            /* Refresh in place: keeps its age for replace_oldest. */
            int64_t created = w[i].b.created_at;
            w[i].b = *in;
            w[i].b.created_at = created;
            w[i].touched = true;
        } else {
            w[*nw].b = *in;
            w[*nw].b.created_at = now;
            w[*nw].touched = true;
            (*nw)++;
        }
    }
    return 0;
}

/* Over the limit: drop the oldest bindings this request did not name. */
static int enforce_max(struct wb *w, size_t *nw, const struct store_apply_opts *o)
{
    if (o->max_contacts == 0 || *nw <= o->max_contacts)
        return 0;
    if (!o->replace_oldest)
        return -EDQUOT;
    while (*nw > o->max_contacts) {
        long oldest = -1;
        for (size_t i = 0; i < *nw; i++)
            if (!w[i].touched && (oldest < 0 || w[i].b.created_at < w[oldest].b.created_at))
                oldest = (long)i;
        if (oldest < 0)
            return -EDQUOT; /* the request alone exceeds the limit */
        wb_del(w, nw, (size_t)oldest);
    }
    return 0;
}

/*
 * Puts na (NULL: none) in the place of a (NULL: none) in the shard and
 * frees a. All allocation has succeeded: this cannot fail. A rebuilt
 * record is a new chunk, so its node is inserted anew rather than
 * relinked (the chain walk of htab_remove is a few nodes).
 */
static void swap_rec(struct mem_table *m, struct mem_shard *sh, uint64_t h, struct mem_aor *a,
                     struct mem_aor *na)
{
    if (a != NULL) {
        htab_remove(sh->t, &a->node);
        atomic_fetch_sub(&m->nbindings, a->n);
        if (na == NULL)
            atomic_fetch_sub(&m->naors, 1);
        slab_free(&sh->slab, a, a->size);
    }
    if (na != NULL) {
        (void)htab_insert(sh->t, &na->node, h); /* -ENOMEM only means "not grown" */
        atomic_fetch_add(&m->nbindings, na->n);
        if (a == NULL)
            atomic_fetch_add(&m->naors, 1);
    }
}

/* A new record for aor from n bindings (stride apart), or an error; a
 * new AOR must fit max_aors. n = 0 is no record and no error. */
static int build(struct mem_table *m, struct mem_shard *sh, struct slice aor, bool is_new,
                 const struct store_binding *b, size_t stride, size_t n, struct mem_aor **out)
{
    *out = NULL;
    if (n == 0)
        return 0;
    if (rec_check(aor, n) < 0)
        return -EINVAL;
    if (is_new && atomic_load(&m->naors) >= m->max_aors)
        return -ENOSPC;
    *out = rec_build(&sh->slab, aor, b, stride, n);
    return *out != NULL ? 0 : -ENOMEM;
}

int mem_apply(struct mem_table *m, struct slice aor, const struct store_change *c, size_t n,
              const struct store_apply_opts *o, struct store_binding **snap, size_t *nsnap,
              mem_commit_fn *hook, void *ctx)
{
    uint64_t h = htab_hash(aor.p, aor.len);
    struct mem_shard *sh = shard_of(m, h);
    struct mem_aor *na = NULL;
    struct wb *w = NULL;
    size_t nn = 0;
    int rc;

    pthread_mutex_lock(&sh->mu);
    struct mem_aor *a = aor_find(sh, h, aor);
    size_t have = a ? a->n : 0;
    w = calloc(have + n + 1, sizeof(*w));
    if (w == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    const unsigned char *p = a ? rec_first(a) : NULL;
    for (size_t i = 0; i < have; i++) {
        p = rec_view(p, &w[nn].b);
        if (w[nn].b.expires_at <= o->now)
            continue; /* expired bindings no longer exist (§10.3 step 8) */
        nn++;
    }
    rc = run_changes(w, &nn, c, n, o->now);
    if (rc == 0)
        rc = enforce_max(w, &nn, o);
    if (rc == 0)
        rc = build(m, sh, aor, a == NULL, &w[0].b, sizeof(*w), nn, &na);
    if (rc < 0)
        goto out;
    /* The snapshot comes from the new record: what the table now holds. */
    rc = copy_out(na, INT64_MIN, snap);
    if (rc < 0) {
        slab_free(&sh->slab, na, na->size);
        goto out;
    }
    *nsnap = (size_t)rc;
    rc = 0;
    swap_rec(m, sh, h, a, na);
    if (hook != NULL)
        hook(ctx, aor);
out:
    pthread_mutex_unlock(&sh->mu);
    free(w);
    return rc;
}

int mem_replace(struct mem_table *m, struct slice aor, struct store_binding *b, size_t n)
{
    uint64_t h = htab_hash(aor.p, aor.len);
    struct mem_shard *sh = shard_of(m, h);
    struct mem_aor *na;
    pthread_mutex_lock(&sh->mu);
    struct mem_aor *a = aor_find(sh, h, aor);
    int rc = build(m, sh, aor, a == NULL, b, sizeof(*b), n, &na);
    if (rc == 0)
        swap_rec(m, sh, h, a, na);
    pthread_mutex_unlock(&sh->mu);
    /* The record holds copies: the moved bindings are done with. */
    store_bindings_free(b, n);
    return rc;
}

struct purge_ctx {
    struct mem_table *m;
    struct mem_shard *sh;
    int64_t now;
    size_t removed;
};

static void purge_node(struct htab_node *node, void *arg)
{
    struct purge_ctx *p = arg;
    struct mem_aor *a = SW_CONTAINER_OF(node, struct mem_aor, node);
    /* In place, with no allocation: purge cannot fail. The record keeps
     * its chunk until its next change rebuilds it. */
    size_t gone = rec_purge(a, p->now);
    p->removed += gone;
    atomic_fetch_sub(&p->m->nbindings, gone);
    if (a->n == 0) {
        /* removing the node we were given is allowed */
        swap_rec(p->m, p->sh, a->node.hash, a, NULL);
    }
}

size_t mem_purge(struct mem_table *m, int64_t now, bool *wrapped)
{
    unsigned i = atomic_fetch_add(&m->purge_cursor, 1) % MEM_SHARDS;
    struct purge_ctx p = {.m = m, .sh = &m->shard[i], .now = now};
    pthread_mutex_lock(&p.sh->mu);
    htab_foreach(p.sh->t, purge_node, &p);
    pthread_mutex_unlock(&p.sh->mu);
    *wrapped = i == MEM_SHARDS - 1;
    return p.removed;
}

struct visit_ctx {
    int64_t now;
    store_visit_fn *fn;
    void *arg;
    size_t visited;
};

static void visit_node(struct htab_node *node, void *arg)
{
    struct visit_ctx *v = arg;
    const struct mem_aor *a = SW_CONTAINER_OF(node, struct mem_aor, node);
    const unsigned char *p = rec_first(a);
    for (size_t i = 0; i < a->n; i++) {
        struct store_binding b;
        p = rec_view(p, &b);
        if (b.expires_at <= v->now)
            continue; /* expired, not purged yet: gone for every reader */
        v->fn(v->arg, slice_make(a->aor, a->aor_len), &b);
        v->visited++;
    }
}

size_t store_foreach_shard(struct store *s, unsigned shard, int64_t now, store_visit_fn *fn,
                           void *arg)
{
    _Static_assert(STORE_SHARDS == MEM_SHARDS, "one shard count");
    struct mem_shard *sh = &s->mem.shard[shard % MEM_SHARDS];
    struct visit_ctx v = {.now = now, .fn = fn, .arg = arg};
    pthread_mutex_lock(&sh->mu);
    htab_foreach(sh->t, visit_node, &v);
    pthread_mutex_unlock(&sh->mu);
    return v.visited;
}
