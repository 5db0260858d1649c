/* SPDX-License-Identifier: BSD-2-Clause */
/* Private to src/store: the lock-striped table shared by every back end. */
#ifndef SW_STORE_STORE_INT_H
#define SW_STORE_STORE_INT_H

#include "store/store.h"

#include "core/ev.h"
#include "core/htab.h"
#include "store/slab.h"

#include <pthread.h>
#include <stdatomic.h>

#define MEM_SHARDS 64

/*
 * One AOR with all of its bindings, packed in ONE chunk of its shard's
 * slab (slab.h). Owner: its shard's table; touched only under the shard
 * lock.
 *
 * Why packed: as separate malloc chunks (the entry, the AOR string, an
 * array of struct store_binding with a 64-byte received text inline, a
 * string block per binding) an AOR with one contact cost ~440 B of malloc
 * accounting and, mixed with transaction memory, ~1.3 KB of RSS. Packed,
 * a typical binding is ~150 B and the AOR ~200 B in all (the unit test
 * test_store_mem_bytes_per_aor measures it). Registrations change rarely
 * (a refresh every ~hour per contact), so every change builds a new
 * record and frees the old one (rec_build); only a purge edits one in
 * place (it only shrinks).
 *
 * Layout after this header: the AOR bytes and a NUL, then n bindings,
 * each a fixed part (rec.c) followed by its strings NUL-terminated back
 * to back: contact, match_key (only when it differs from contact),
 * call_id, path, user_agent, instance (each only when present) and
 * received. NULs rather than lengths: rec_view hands out borrowed
 * struct store_binding values whose strings point into the record, and
 * those must be C strings; one byte per string is also smaller than a
 * uint16_t length.
 */
struct mem_aor {
    struct htab_node node;
    uint32_t size;    /* bytes asked of the slab (what slab_free needs) */
    uint16_t aor_len; /* AORs are capped at UINT16_MAX bytes */
    uint16_t n;       /* bindings */
    char aor[];       /* aor_len bytes, NUL, then the packed bindings */
};

/* Owner: struct mem_table. */
struct mem_shard {
    pthread_mutex_t mu;
    struct htab *t;   /* owned; nodes are struct mem_aor, owned by the shard */
    struct slab slab; /* owned: every struct mem_aor of this shard; under mu */
};

/* Owner: struct store. */
struct mem_table {
    struct mem_shard shard[MEM_SHARDS];
    _Atomic size_t naors, nbindings;
    _Atomic unsigned purge_cursor;
    uint64_t max_aors;
};
/* Called under the shard lock once a change is committed in memory, so
 * writes of one AOR reach the durable queue in the order they were made. */
typedef void mem_commit_fn(void *ctx, struct slice aor);

int mem_init(struct mem_table *m, uint64_t max_aors);
void mem_fini(struct mem_table *m);
int mem_lookup(struct mem_table *m, struct slice aor, int64_t now, struct store_binding **out);
/* Applies changes; on 0 *snap and *nsnap hold a copy of the AOR's bindings
 * after the change (owned by the caller) and hook (if any) has run. */
int mem_apply(struct mem_table *m, struct slice aor, const struct store_change *c, size_t n,
              const struct store_apply_opts *o, struct store_binding **snap, size_t *nsnap,
              mem_commit_fn *hook, void *ctx);
/* Replaces the AOR's bindings with b[0..n) (moved: the table owns them and
 * the array afterwards; n = 0 removes the AOR). Loading and roll-back. */
int mem_replace(struct mem_table *m, struct slice aor, struct store_binding *b, size_t n);
/* Purges expired bindings of one shard (round robin); *wrapped is set
 * when the cursor went back to shard 0 (a full round is done). */
size_t mem_purge(struct mem_table *m, int64_t now, bool *wrapped);

/* Sums the shards' slab accounting (bytes of records in use, bytes
 * mapped); takes each shard lock in turn. For tests and diagnostics. */
void mem_stats(struct mem_table *m, struct slab_stats *out);

int binding_copy(struct store_binding *dst, const struct store_binding *src);

/* Packed records (rec.c). */
/* Bytes one binding takes in a record. */
size_t rec_binding_len(const struct store_binding *b);
/* Builds a record for aor from n bindings found every 'stride' bytes
 * from b (a plain array: stride = sizeof(*b)), in sl. NULL on ENOMEM;
 * the caller has checked the limits (rec_check). */
struct mem_aor *rec_build(struct slab *sl, struct slice aor, const struct store_binding *b,
                          size_t stride, size_t n);
/* -EINVAL when aor or n do not fit a record's fields. */
int rec_check(struct slice aor, size_t n);
/* The first packed binding of a. */
const unsigned char *rec_first(const struct mem_aor *a);
/* Fills *b with a view of the binding at p: its strings point into the
 * record (borrowed; valid until the record changes), received is copied.
 * Returns the next binding. */
const unsigned char *rec_view(const unsigned char *p, struct store_binding *b);
/* Drops the bindings expired at now, in place (the record keeps its
 * chunk); returns how many were dropped. */
size_t rec_purge(struct mem_aor *a, int64_t now);

/* SQLite back end (sqlite.c). */
struct store_sql;
/* A write of one AOR's full binding set, queued for the store thread.
 * Owner: the queue, then the store thread, then (posted) the target loop's
 * thread, which frees it after calling done. */
struct sql_job {
    struct ev_job job;    /* for ev_post back to the requester */
    struct sql_job *next; /* queue link */
    char *aor;            /* owned; NULL: delete expired rows (purge) */
    size_t aor_len;
    struct store_binding *b; /* owned snapshot */
    size_t n;
    int64_t now;
    int rc;
    struct ev_loop *loop; /* borrowed; NULL: done runs on the store thread */
    store_done_fn *done;  /* NULL: nobody waits (purge) */
    void *arg;            /* borrowed */
};

struct store {
    struct mem_table mem;
    struct store_config cfg;
    struct store_sql *sql; /* owned; NULL for "memory" */
};

int sql_open(struct store *s, const char *path, int64_t now, char *err, size_t errlen);
void sql_close(struct store *s);
/* Reserves a queue slot: -EAGAIN when queue_depth writes are pending. */
int sql_reserve(struct store *s);
void sql_unreserve(struct store *s);
/* Queues a job whose slot was reserved (never fails). */
void sql_enqueue(struct store *s, struct sql_job *j);
void sql_job_free(struct sql_job *j);
/* Delivers j: done(arg, rc, b, n) on j->loop through ev_post (or here
 * when loop is NULL), then frees j. */
void store_job_complete(struct sql_job *j);

#endif
