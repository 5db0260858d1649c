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

/* Working entry of an apply: existing bindings are shallow (owned by the
 * table), new ones point at the caller's borrowed input. */
struct wb {
    struct store_binding b;
    long old_idx; /* index in the AOR's array, -1 for a new binding */
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

static size_t opt_len(const char *s)
{
    return s ? strlen(s) + 1 : 0;
}

static char *opt_put(char **p, const char *s)
{
    if (s == NULL)
        return NULL;
    size_t l = strlen(s) + 1;
    char *r = *p;
    memcpy(r, s, l);
    *p += l;
    return r;
}

/* One allocation for every string: a binding costs two heap blocks (this
 * and its slot in the AOR's array), which keeps 100k contacts small. */
int binding_copy(struct store_binding *dst, const struct store_binding *src)
{
    size_t total = opt_len(src->contact ? src->contact : "") +
                   opt_len(src->match_key ? src->match_key : "") +
                   opt_len(src->call_id ? src->call_id : "") + opt_len(src->path) +
                   opt_len(src->user_agent) + opt_len(src->instance);
    char *blk = malloc(total);
    if (blk == NULL)
        return -ENOMEM;
    *dst = *src;
    char *p = blk;
    dst->contact = opt_put(&p, src->contact ? src->contact : "");
    dst->match_key = opt_put(&p, src->match_key ? src->match_key : "");
    dst->call_id = opt_put(&p, src->call_id ? src->call_id : "");
    dst->path = opt_put(&p, src->path);
    dst->user_agent = opt_put(&p, src->user_agent);
    dst->instance = opt_put(&p, src->instance);
    dst->received[STORE_ADDR_STRLEN - 1] = '\0';
    return 0;
}

void store_binding_fini(struct store_binding *b)
{
    free(b->contact); /* the block starts at contact */
    b->contact = NULL;
}

void store_bindings_free(struct store_binding *b, size_t count)
{
    for (size_t i = 0; i < count; i++)
        store_binding_fini(&b[i]);
    free(b);
}

static int copy_array(struct store_binding **out, const struct store_binding *src, size_t n)
{
    *out = NULL;
    if (n == 0)
        return 0;
    struct store_binding *a = calloc(n, sizeof(*a));
    if (a == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (binding_copy(&a[i], &src[i]) < 0) {
            store_bindings_free(a, i);
            return -ENOMEM;
        }
    }
    *out = a;
    return 0;
}

int mem_init(struct mem_table *m, uint64_t max_aors)
{
    memset(m, 0, sizeof(*m));
    m->max_aors = max_aors;
    for (size_t i = 0; i < MEM_SHARDS; i++) {
        pthread_mutex_init(&m->shard[i].mu, NULL);
        m->shard[i].t = htab_new(64);
        if (m->shard[i].t == NULL) {
            mem_fini(m);
            return -ENOMEM;
        }
    }
    return 0;
}

static void aor_free(struct mem_aor *a)
{
    store_bindings_free(a->b, a->n);
    free(a->aor);
    free(a);
}

static void free_node(struct htab_node *node, void *arg)
{
    struct mem_shard *sh = arg;
    htab_remove(sh->t, node);
    aor_free(SW_CONTAINER_OF(node, struct mem_aor, node));
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
        pthread_mutex_destroy(&sh->mu);
    }
}

int mem_lookup(struct mem_table *m, struct slice aor, int64_t now, struct store_binding **out)
{
    uint64_t h = htab_hash(aor.p, aor.len);
    struct mem_shard *sh = shard_of(m, h);
    int rc = 0;
    *out = NULL;
    pthread_mutex_lock(&sh->mu);
    struct mem_aor *a = aor_find(sh, h, aor);
    if (a != NULL && a->n > 0) {
        struct store_binding *r = calloc(a->n, sizeof(*r));
        if (r == NULL) {
            rc = -ENOMEM;
            goto out;
        }
        size_t k = 0;
        for (size_t i = 0; i < a->n; i++) {
            if (a->b[i].expires_at <= now)
                continue;
            if (binding_copy(&r[k], &a->b[i]) < 0) {
                store_bindings_free(r, k);
                rc = -ENOMEM;
                goto out;
            }
            k++;
        }
        if (k == 0)
            free(r);
        else
            *out = r;
        rc = (int)k;
    }
out:
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
            w[i].old_idx = -1;
            w[i].touched = true;
        } else {
            w[*nw].b = *in;
            w[*nw].b.created_at = now;
            w[*nw].old_idx = -1;
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

static int aor_new(struct mem_table *m, struct mem_shard *sh, uint64_t h, struct slice aor,
                   struct mem_aor **out)
{
    if (atomic_load(&m->naors) >= m->max_aors)
        return -ENOSPC;
    struct mem_aor *a = calloc(1, sizeof(*a));
    if (a == NULL || (a->aor = malloc(aor.len + 1)) == NULL) {
        free(a);
        return -ENOMEM;
    }
    memcpy(a->aor, aor.p, aor.len);
    a->aor[aor.len] = '\0';
    a->aor_len = aor.len;
    (void)htab_insert(sh->t, &a->node, h); /* -ENOMEM only means "not grown" */
    atomic_fetch_add(&m->naors, 1);
    *out = a;
    return 0;
}

static void aor_drop(struct mem_table *m, struct mem_shard *sh, struct mem_aor *a)
{
    htab_remove(sh->t, &a->node);
    atomic_fetch_sub(&m->nbindings, a->n);
    atomic_fetch_sub(&m->naors, 1);
    aor_free(a);
}

/* Moves the working set into a (all allocation already succeeded). */
static void commit(struct mem_table *m, struct mem_aor *a, struct store_binding *nb, size_t nn,
                   const struct wb *w)
{
    for (size_t i = 0; i < a->n; i++) {
        bool kept = false;
        for (size_t k = 0; k < nn && !kept; k++)
            kept = w[k].old_idx == (long)i;
        if (!kept)
            store_binding_fini(&a->b[i]);
    }
    free(a->b);
    atomic_fetch_add(&m->nbindings, nn);
    atomic_fetch_sub(&m->nbindings, a->n);
    a->b = nb;
    a->n = a->cap = nn;
}

int mem_apply(struct mem_table *m, struct slice aor, const struct store_change *c, size_t n,
              const struct store_apply_opts *o, struct store_binding **snap, size_t *nsnap,
              mem_commit_fn *hook, void *ctx)
{
    uint64_t h = htab_hash(aor.p, aor.len);
    struct mem_shard *sh = shard_of(m, h);
    struct wb *w = NULL;
    struct store_binding *nb = NULL;
    size_t nn = 0, made = 0;
    int rc;

    pthread_mutex_lock(&sh->mu);
    struct mem_aor *a = aor_find(sh, h, aor);
    size_t have = a ? a->n : 0;
    w = calloc(have + n + 1, sizeof(*w));
    if (w == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < have; i++) {
        if (a->b[i].expires_at <= o->now)
            continue; /* expired bindings no longer exist (§10.3 step 8) */
        w[nn].b = a->b[i];
        w[nn].old_idx = (long)i;
        nn++;
    }
    rc = run_changes(w, &nn, c, n, o->now);
    if (rc == 0)
        rc = enforce_max(w, &nn, o);
    if (rc < 0)
        goto out;
    if (nn > 0) {
        nb = calloc(nn, sizeof(*nb));
        if (nb == NULL) {
            rc = -ENOMEM;
            goto out;
        }
        for (made = 0; made < nn; made++) {
            if (w[made].old_idx >= 0)
                nb[made] = w[made].b;
            else if (binding_copy(&nb[made], &w[made].b) < 0) {
                rc = -ENOMEM;
                goto out;
            }
        }
    }
    rc = copy_array(snap, nb, nn);
    if (rc < 0)
        goto out;
    *nsnap = nn;
    if (a == NULL && nn > 0) {
        rc = aor_new(m, sh, h, aor, &a);
        if (rc < 0) {
            store_bindings_free(*snap, nn);
            *snap = NULL;
            *nsnap = 0;
            goto out;
        }
    }
    if (a != NULL) {
        commit(m, a, nb, nn, w);
        nb = NULL;
        made = 0;
        if (a->n == 0)
            aor_drop(m, sh, a);
    }
    if (hook != NULL)
        hook(ctx, aor);
out:
    if (nb != NULL) {
        for (size_t i = 0; i < made; i++)
            if (w[i].old_idx < 0)
                store_binding_fini(&nb[i]);
        free(nb);
    }
    pthread_mutex_unlock(&sh->mu);
    free(w);
    return rc;
}

int mem_replace(struct mem_table *m, struct slice aor, struct store_binding *b, size_t n)
{
    uint64_t h = htab_hash(aor.p, aor.len);
    struct mem_shard *sh = shard_of(m, h);
    int rc = 0;
    pthread_mutex_lock(&sh->mu);
    struct mem_aor *a = aor_find(sh, h, aor);
    if (a == NULL && n > 0) {
        rc = aor_new(m, sh, h, aor, &a);
        if (rc < 0) {
            store_bindings_free(b, n);
            goto out;
        }
    }
    if (a != NULL) {
        store_bindings_free(a->b, a->n);
        atomic_fetch_sub(&m->nbindings, a->n);
        a->b = b;
        a->n = a->cap = n;
        atomic_fetch_add(&m->nbindings, n);
        if (n == 0)
            aor_drop(m, sh, a);
    } else {
        free(b);
    }
out:
    pthread_mutex_unlock(&sh->mu);
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
    size_t k = 0;
    for (size_t i = 0; i < a->n; i++) {
        if (a->b[i].expires_at <= p->now) {
            store_binding_fini(&a->b[i]);
            p->removed++;
        } else {
            a->b[k++] = a->b[i];
        }
    }
    atomic_fetch_sub(&p->m->nbindings, a->n - k);
    a->n = k;
    if (k == 0)
        aor_drop(p->m, p->sh, a); /* removing the node we were given is allowed */
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
    for (size_t i = 0; i < a->n; i++) {
        if (a->b[i].expires_at <= v->now)
            continue; /* expired, not purged yet: gone for every reader */
        v->fn(v->arg, slice_make(a->aor, a->aor_len), &a->b[i]);
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
