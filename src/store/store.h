/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Location store: AOR -> set of contact bindings (RFC 3261 §10.3), shared
 * by every worker, behind one interface with several back ends:
 *
 *   "memory"        a lock-striped hash table (64 shards, one mutex each);
 *                   each AOR is ONE packed record (its bindings and their
 *                   strings back to back) in a size-class allocator private
 *                   to its shard, over mmap'd blocks that hold nothing else:
 *                   ~200 B for an AOR with one typical contact, and the
 *                   pages never mix with short-lived transaction memory
 *                   (store_int.h, slab.h);
 *   "sqlite:PATH"   the same table plus write-through to SQLite (WAL) on a
 *                   store thread; the default. Every binding not expired is
 *                   loaded back at store_open().
 *   (later) "redis://HOST:PORT" for several nodes: the operations below
 *                   are per AOR and carry their own conditions, so they map
 *                   onto one Lua script / MULTI per AOR without changing
 *                   callers.
 *
 * Why the conditions live in the store (store_apply checks Call-ID/CSeq
 * ordering and the contact limit itself): RFC 3261 §10.3 step 7 requires
 * the whole update of one REGISTER to be committed or aborted as a unit,
 * against the bindings as they are at that moment. Registrations for one
 * AOR arrive on any worker (different Call-IDs have different owners), so
 * a read-then-write in the registrar would race; evaluating the changes
 * where the data is kept (under the shard lock here, in a Lua script on
 * Redis) does not.
 *
 * Durability ("nothing acknowledged is lost", DESIGN.md): store_apply's
 * completion runs only once the change is durable for the back end
 * (memory: at once; SQLite: after the COMMIT of the transaction holding
 * it, group-committed with other queued writes). The completion is posted
 * with ev_post() to the loop the caller named, so it runs on the caller's
 * worker thread and the worker never blocks on the disk.
 *
 * Objects and ownership:
 * - struct store: owner: whoever called store_open (main); thread-safe:
 *   every function may be called from any thread, except store_close.
 * - struct store_binding: a plain value whose strings are owned by it
 *   (one block, see below); arrays of them returned by store_lookup are
 *   owned by the caller (store_bindings_free). It is the interface form
 *   only: the table keeps bindings packed (received as its text and a
 *   NUL, not the 64-byte array; absent strings cost nothing) and builds
 *   these values when it hands bindings out.
 */
#ifndef SW_STORE_STORE_H
#define SW_STORE_STORE_H

#include "core/cfg.h"
#include "core/util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ev_loop;
struct store;

/* "[ffff:...:ffff]:65535" plus NUL: the received source as text, so the
 * store (core only) does not depend on the transport's address type. */
#define STORE_ADDR_STRLEN 64
/* q-values are kept in thousandths: q=0.5 -> 500 (RFC 3261 §20.10). */
#define STORE_Q_MAX 1000

/*
 * One contact binding. As input (store_change) every pointer is borrowed
 * and may be NULL where marked optional; as output (store_lookup, the
 * completion) the strings live in one heap block owned by the binding,
 * starting at 'contact' (store_binding_fini frees it).
 */
struct store_binding {
    char *contact;      /* the Contact URI as registered (no <>) */
    char *match_key;    /* what makes two contacts "the same" (§10.3 step 7):
                         * the registrar's canonical URI or +sip.instance */
    char *call_id;      /* Call-ID of the REGISTER that made or refreshed it */
    char *path;         /* optional: Path values, comma-joined (RFC 3327) */
    char *user_agent;   /* optional */
    char *instance;     /* optional: +sip.instance (RFC 5626), "" if none */
    int64_t expires_at; /* wall clock, seconds since the epoch */
    int64_t created_at; /* wall clock seconds of the first registration */
    uint32_t cseq;
    uint32_t reg_id; /* RFC 5626 reg-id, 0 if none */
    uint16_t q;      /* 0..STORE_Q_MAX */
    uint16_t listener;
    uint8_t proto;                    /* transport protocol number (enum tp_proto) */
    char received[STORE_ADDR_STRLEN]; /* source "ip:port" / "[ip6]:port" */
    uint64_t conn_id;                 /* TCP connection; not persisted (0 after a restart) */
};

/* Frees what a returned binding owns (its string block). */
void store_binding_fini(struct store_binding *b);
/* Frees an array returned by store_lookup (each binding, then the array). */
void store_bindings_free(struct store_binding *b, size_t count);

enum store_op {
    STORE_SET,        /* add, or refresh the binding with the same match_key */
    STORE_REMOVE,     /* remove the binding with the same match_key */
    STORE_REMOVE_ALL, /* "Contact: *" (§10.3 step 6): remove every binding */
};

/* One change of a store_apply. b's pointers are borrowed for the call. For
 * STORE_REMOVE only match_key, call_id and cseq are used; for
 * STORE_REMOVE_ALL only call_id and cseq. */
struct store_change {
    enum store_op op;
    struct store_binding b;
};

struct store_apply_opts {
    int64_t now; /* wall clock seconds: bindings with expires_at <= now are gone */
    /* Bindings an AOR may hold after the change (0 = unbounded). */
    unsigned max_contacts;
    /* Over max_contacts: true drops the oldest (created_at, then order)
     * bindings not named by this request; false fails with -EDQUOT. */
    bool replace_oldest;
};

/*
 * Completion of store_apply, run on the loop given to it (or inside
 * store_apply when that loop is NULL). rc: 0, or
 *   -ESTALE  a binding (or, for REMOVE_ALL, any binding) has the request's
 *            Call-ID and a CSeq >= the request's (§10.3 steps 6 and 7):
 *            nothing was changed;
 *   -EDQUOT  over max_contacts with replace_oldest false: nothing changed;
 *   -ENOSPC  a new AOR over the store's max_aors: nothing changed;
 *   -EIO     the durable write failed: the change was rolled back;
 *   -ENOMEM.
 * On 0, b[0..count) are the AOR's bindings after the change (borrowed for
 * the call: copy what must be kept); otherwise count is 0.
 */
typedef void store_done_fn(void *arg, int rc, const struct store_binding *b, size_t count);

struct store_config {
    unsigned max_aors;    /* AORs held; a new one over it gets -ENOSPC */
    unsigned queue_depth; /* SQLite writes queued and not yet committed */
    int synchronous;      /* enum store_sync */
    unsigned batch_max;   /* writes per group-commit transaction */
};

/*
 * SQLite "synchronous" with WAL (https://sqlite.org/pragma.html#pragma_synchronous):
 * FULL fsyncs the WAL at every COMMIT, so an acknowledged registration
 * survives a power loss as well as a crash; NORMAL fsyncs only at
 * checkpoints and survives a process crash (SIGKILL) but may lose the last
 * commits on power loss. FULL is the default because a 200 OK promises
 * the binding is kept; group commit pays the fsync once per batch.
 */
enum store_sync { STORE_SYNC_FULL = 0, STORE_SYNC_NORMAL };

void store_config_defaults(struct store_config *cfg);

/* Option table for a `store_options:` section of struct store_config
 * (wired in src/conf.c; see docs). */
extern const struct cfg_opt store_cfg_opts[];

/*
 * Opens the store named by spec: "memory" or "sqlite:PATH" (the database
 * is created if missing; WAL mode; bindings not expired at 'now' are
 * loaded; a store thread is started). cfg may be NULL (defaults).
 * Returns 0 and *out, or -EINVAL (unknown spec), -EIO (SQLite error) or
 * -ENOMEM with a message in err.
 */
int store_open(struct store **out, const char *spec, const struct store_config *cfg, int64_t now,
               char *err, size_t errlen) warn_unused_result;
/* Waits for every queued write to be committed and its completion posted,
 * stops the store thread and frees everything. The loops completions are
 * posted to must still exist (run them afterwards to deliver them). */
void store_close(struct store *s);

/*
 * Copies the bindings of aor not expired at now into a new array (*out,
 * owned by the caller, store_bindings_free; NULL when count is 0), in
 * registration order. Returns the count (0 when the AOR is unknown) or
 * -ENOMEM.
 */
int store_lookup(struct store *s, struct slice aor, int64_t now,
                 struct store_binding **out) warn_unused_result;

/*
 * Applies changes[0..n) to aor atomically (all or nothing, §10.3 step 7)
 * and reports through done (see store_done_fn) once durable. Everything
 * given is copied. Returns 0 when done will be called, or -EAGAIN (write
 * queue full: nothing changed, done is not called) / -EINVAL / -ENOMEM.
 * n = 0 is a query: done gets the current bindings.
 */
int store_apply(struct store *s, struct slice aor, const struct store_change *changes, size_t n,
                const struct store_apply_opts *o, struct ev_loop *loop, store_done_fn *done,
                void *arg) warn_unused_result;

/*
 * Removes bindings expired at now from at most one shard of the table
 * (round robin over calls: bounded work per tick; call it from a periodic
 * timer). Returns the bindings removed.
 */
size_t store_purge(struct store *s, int64_t now);

/* Shards of the table: store_foreach_shard takes 0..STORE_SHARDS-1. */
#define STORE_SHARDS 64

/* Called for one binding (and its AOR) under its shard's lock: both are
 * borrowed for the call; copy what must be kept, and do not call the
 * store from here (the lock is not recursive). */
typedef void store_visit_fn(void *arg, struct slice aor, const struct store_binding *b);

/*
 * Visits the bindings not expired at now of one shard (shard %
 * STORE_SHARDS), so a periodic walk over every binding (NAT keepalive)
 * does bounded work per call: one shard per tick, STORE_SHARDS ticks per
 * round. Returns the bindings visited.
 */
size_t store_foreach_shard(struct store *s, unsigned shard, int64_t now, store_visit_fn *fn,
                           void *arg);

/* AORs and bindings held (approximate while others write). */
size_t store_aor_count(struct store *s);
size_t store_binding_count(struct store *s);

#endif
