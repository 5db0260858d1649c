/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Registrar and location service (RFC 3261 §10.3, Path RFC 3327): answers
 * REGISTER requests for the local domains and tells the proxy where an
 * AOR's contacts are.
 *
 * A REGISTER is answered only once its bindings are durable: reg_handle
 * hands the changes to the location store (src/store/store.h) and keeps a
 * ref on the server transaction; the store's completion is posted back to
 * the worker's loop, where the 200 (or the error) is sent. The worker
 * never waits on the disk.
 *
 * Objects and ownership:
 * - struct registrar: owner: whoever called reg_new (the server); shared
 *   by every worker, immutable after set-up (reg_set_auth / reg_set_clock
 *   before the workers start) but for the NAT keepalive state, touched
 *   only on the loop given to reg_keepalive_start. The store is borrowed
 *   and must outlive it.
 * - Arrays of struct reg_target from reg_lookup: owned by the caller
 *   (reg_targets_free).
 */
#ifndef SW_APP_REGISTRAR_REGISTRAR_H
#define SW_APP_REGISTRAR_REGISTRAR_H

#include "core/cfg.h"
#include "core/util.h"
#include "sip/sipmsg.h"
#include "store/store.h"
#include "transport/tp.h"
#include "txn/txn.h"

#include <stdbool.h>
#include <stdint.h>

struct ev_loop;
struct registrar;

enum reg_policy {
    REG_REPLACE_OLDEST = 0, /* over max_contacts: drop the oldest binding */
    REG_REJECT,             /* over max_contacts: 403 */
};

/* NAT keepalive towards registered contacts (keepalive.c). */
struct reg_keepalive {
    bool enabled;
    uint64_t interval_ms;  /* one OPTIONS per contact per interval */
    unsigned max_inflight; /* OPTIONS awaiting their final response */
    unsigned max_failures; /* unanswered in a row before removal; 0: never */
};

/* The `registrar:` section. The local domains are server.domains (one
 * notion of "us" for the proxy, the registrar and auth realms; a second
 * list would drift from the first). */
struct reg_config {
    unsigned int min_expires;     /* s; below (and not 0): 423 + Min-Expires (§10.3 step 7) */
    unsigned int max_expires;     /* s; above: lowered to it */
    unsigned int default_expires; /* s; no expires param and no Expires header */
    unsigned int max_contacts;    /* bindings per AOR */
    int max_contacts_policy;      /* enum reg_policy */
    struct reg_keepalive keepalive;
};
extern const struct cfg_opt reg_cfg_opts[];
void reg_config_defaults(struct reg_config *cfg);

/* What the authentication hook decided. */
enum reg_auth_result {
    REG_AUTH_CONTINUE, /* process the REGISTER */
    REG_AUTH_ANSWERED, /* the hook answered st itself (401, 403, ...) */
};
/* Called first for every REGISTER, on the worker (RFC 3261 §10.3 steps
 * 3-4): aor is the canonical To AOR (borrowed for the call). The digest
 * module (src/sec) plugs in here. */
typedef enum reg_auth_result reg_auth_fn(void *arg, struct txn *st, const struct sipmsg *req,
                                         const struct tp_flow *flow, struct slice aor);
/* Wall clock in seconds (expires_at and Date); tests use a fake one. */
typedef int64_t reg_clock_fn(void *arg);

/* cfg is copied; store is borrowed. NULL on ENOMEM or invalid bounds
 * (min_expires > max_expires, default outside them). */
struct registrar *reg_new(const struct reg_config *cfg, struct store *store);
void reg_free(struct registrar *r);
void reg_set_auth(struct registrar *r, reg_auth_fn *fn, void *arg);
void reg_set_clock(struct registrar *r, reg_clock_fn *fn, void *arg);
int64_t reg_now(const struct registrar *r);

/*
 * Handles a REGISTER whose Request-URI names a local domain (the caller
 * checks that), on the worker that owns st; loop is that worker's loop
 * (the store's completion comes back on it). st, req and flow are
 * borrowed; the registrar takes its own txn ref while it waits. Every
 * outcome answers st: 200 with the bindings, 400, 403, 420, 423, 500 or
 * 503. Returns 0, or a negative errno when even the error reply could not
 * be sent.
 */
int reg_handle(struct registrar *r, struct ev_loop *loop, struct txn *st, const struct sipmsg *req,
               const struct tp_flow *flow);

/* One place to send a request for a registered AOR (RFC 3261 §16.5). */
struct reg_target {
    char *uri;  /* owned: the Contact URI: the new Request-URI */
    char *path; /* owned, NULL if none: the stored Path values, comma-joined,
                 * to be used as the pre-loaded Route set (RFC 3327 §5.4) */
    uint16_t q; /* 0..1000 */
    /* The flow the REGISTER came on (RFC 3261 §18.2.2 / RFC 5626 spirit):
     * a contact behind NAT is reached by sending to remote (and conn_id
     * for TCP, if it still exists) from the same listener. has_flow is
     * false when the stored source could not be parsed. */
    bool has_flow;
    struct tp_flow flow;
};

/*
 * Finds the bindings of the AOR named by ruri (sip:user@host, canonical
 * as in §10.3 step 5). *out (caller-owned, reg_targets_free) is sorted by
 * q, highest first, keeping registration order among equal q: the proxy
 * forks in parallel to each group of equal q and serially between groups
 * (§16.6, §20.10). Returns the count (0: not registered -> 404/480) or
 * -EINVAL (not a sip/sips URI with a user) / -ENOMEM.
 */
int reg_lookup(struct registrar *r, const struct uri *ruri,
               struct reg_target **out) warn_unused_result;
void reg_targets_free(struct reg_target *t, size_t count);

/* Removes expired bindings from one store shard; call every second or so
 * from one worker's timer (bounded work per call). */
size_t reg_purge(struct registrar *r);

/* ---- NAT keepalive (keepalive.c) ----
 *
 * RFC 3261 has no keepalive; like Kamailio's nathelper, contacts that
 * registered from behind a NAT get a periodic OPTIONS (§11) sent to the
 * source address their REGISTER came from, so the NAT binding stays open
 * for requests towards them. The registrar walks one store shard per
 * tick (interval / STORE_SHARDS) on one worker's loop; the OPTIONS itself
 * is sent by the caller's send function (the proxy's probe helper). */

/* Called once, later, with the final status of a keepalive (408/503 when
 * the transaction layer synthesized them), or 0 when dropped at shutdown.
 * Same shape as proxy_probe_fn. */
typedef void reg_ping_done_fn(unsigned code, void *arg);
/* Sends an OPTIONS to uri; 0 when done will be called, else a negative
 * errno (done is not called). */
typedef int reg_ping_send_fn(void *send_arg, const char *uri, reg_ping_done_fn *done,
                             void *done_arg);

/* Registers registrar_keepalive_{sent,failed,removed}_total (main thread,
 * once). */
void reg_keepalive_metrics(void);
/* Starts the keepalive timer on loop (when registrar.keepalive.enabled;
 * else nothing). From then on the keepalive state belongs to loop's
 * thread. Stop it on that thread before the send function's owner goes;
 * pings in flight still get their done call (code 0) afterwards. */
void reg_keepalive_start(struct registrar *r, struct ev_loop *loop, reg_ping_send_fn *send,
                         void *send_arg);
void reg_keepalive_stop(struct registrar *r);
/* One tick: visits the next store shard and pings its NATed contacts,
 * within max_inflight. Returns the pings sent (exposed for tests). */
size_t reg_keepalive_tick(struct registrar *r);
/* Keepalives awaiting an answer. */
unsigned reg_keepalive_inflight(const struct registrar *r);
/* Is a binding behind NAT? contact is the Contact URI, received the
 * source "ip:port" of its REGISTER: true when the Contact host is not that
 * IP and port, or is a private address (RFC 1918, RFC 6598, RFC 4193). */
bool reg_contact_natted(struct slice contact, const char *received);

/* Writes the canonical AOR of u ("sip:user@host", host lowercased, no
 * port or parameters; sips: becomes sip:) into out. Returns its length,
 * -EINVAL (no user, not sip/sips) or -EMSGSIZE. */
int reg_aor_canonical(char *out, size_t cap, const struct uri *u) warn_unused_result;

#endif
