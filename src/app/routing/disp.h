/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Dispatcher sets: named groups of next-hop SIP URIs with a selection
 * algorithm, an ordered failover list per request, health state driven
 * by probes (OPTIONS sent by the proxy layer), and per-destination
 * counters.
 *
 * Threads (the recommended split of the design, chosen for no lock on
 * the message path):
 *  - struct disp and its sets and destinations are built on the main
 *    thread before workers start and are immutable afterwards, except:
 *  - health (up/down and the consecutive-result counters) and in-flight
 *    counts are shared by all workers as atomics: any worker may read
 *    them, disp_probe_result() and disp_inflight_inc/dec() may be called
 *    from any worker;
 *  - selection state (round-robin position, smooth weighted round robin
 *    weights) is per worker, in a slot chosen by ev_thread_worker(), so
 *    selecting never writes a line another worker writes. Each worker's
 *    sequence is exact on its own; the union over workers splits by the
 *    same ratios;
 *  - probes run on one loop (recommended: worker 0), given to
 *    disp_probe_start().
 */
#ifndef SW_APP_ROUTING_DISP_H
#define SW_APP_ROUTING_DISP_H

#include "core/cfg.h"
#include "core/util.h"
#include "sip/sipmsg.h"
#include "sip/uri.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ev_loop;

#define DISP_MAX_SETS 256
#define DISP_MAX_DESTS 64 /* per set */
#define DISP_MAX_WEIGHT 1000

enum disp_alg {
    DISP_ROUND_ROBIN = 0,
    DISP_WEIGHTED,
    DISP_HASH_CALLID,
    DISP_HASH_FROM_USER,
    DISP_LEAST_LOADED,
};

/* ---- configuration: the `dispatchers:` map ---- */

/* One destination as configured: "sip:127.0.0.1:5070;weight=2". */
struct disp_dest_conf {
    char *uri_s;     /* owned: the URI as written */
    struct uri uri;  /* slices of uri_s */
    unsigned weight; /* 1..DISP_MAX_WEIGHT, from ;weight= (default 1) */
};

struct disp_dest_confs {
    struct disp_dest_conf *items; /* owned array */
    size_t count;
};

struct disp_probe_conf {
    bool is_enabled;
    uint64_t interval_ms;
    unsigned int failures;  /* consecutive failures before down */
    unsigned int successes; /* consecutive successes before up again */
    char *method;           /* owned; "OPTIONS" */
};

/* One set: an item of the `dispatchers:` map (the key is its name). */
struct disp_set_conf {
    int algorithm; /* enum disp_alg */
    struct disp_dest_confs destinations;
    struct disp_probe_conf probe;
};

extern const struct cfg_opt disp_set_opts[];
/* cfg_item_fn / cfg_free_fn of the map (checks the set name). */
int disp_set_conf_done(void *item, const char *name, struct cfg_node *node, struct cfg_ctx *ctx);

/* The option for a struct holding `struct cfg_list f` (reloadable: sets
 * are rebuilt with the routes). */
#define DISP_CFG_OPT(st, f)                                                                        \
    CFG_MAP("dispatchers", st, f, struct disp_set_conf, disp_set_opts, disp_set_conf_done, NULL,   \
            DISP_MAX_SETS, true,                                                                   \
            "Dispatcher sets that routes send to with to: dispatcher:NAME. Each name maps to an "  \
            "algorithm, its destinations and health probing.")

/* ---- runtime ---- */

struct disp;      /* all sets; owner: creator; shared by workers (see above) */
struct disp_set;  /* owner: its struct disp */
struct disp_dest; /* owner: its set */

/*
 * Builds the sets of a loaded `dispatchers:` map (struct cfg_list of
 * struct disp_set_conf) and registers each destination's counters (call
 * before workers start: metric_register is start-up only). Every
 * destination starts up. Copies what it needs: the config may be freed.
 * NULL on out of memory (message in err).
 */
struct disp *disp_new(const struct cfg_list *sets, char *err, size_t errlen);
/* Stops probing if needed and frees every set. */
void disp_free(struct disp *d);

/* NULL when no set has that name. */
struct disp_set *disp_find(const struct disp *d, struct slice name);
size_t disp_set_count(const struct disp *d);
struct disp_set *disp_set_at(const struct disp *d, size_t i);

const char *disp_set_name(const struct disp_set *s);
enum disp_alg disp_set_alg(const struct disp_set *s);
size_t disp_set_size(const struct disp_set *s);
struct disp_dest *disp_set_dest(const struct disp_set *s, size_t i);

/*
 * Chooses destinations for one request, in the order to try: the
 * algorithm's pick, then the other live destinations in the algorithm's
 * order, then the destinations that are down, in the same order.
 *
 * Why down ones are returned last rather than dropped (Kamailio drops
 * them and fails the call): health is a few probe intervals old, and a
 * request to a peer that just came back beats a certain 503. The proxy
 * bounds the cost (it stops at its own attempt limit and fails over on
 * 408, 503 or a transport error).
 *
 * msg gives the key of hash_callid (Call-ID) and hash_from_user (From
 * user); it may be NULL for other algorithms (an empty key then). Writes
 * at most cap pointers to out and returns how many (0 only for cap 0).
 */
size_t disp_select(struct disp_set *s, const struct sipmsg *msg, struct disp_dest **out,
                   size_t cap);

/* ---- destinations ---- */

const char *disp_dest_uri_str(const struct disp_dest *d); /* as configured */
const struct uri *disp_dest_uri(const struct disp_dest *d);
unsigned disp_dest_weight(const struct disp_dest *d);
bool disp_dest_is_up(const struct disp_dest *d);
struct disp_set *disp_dest_set(const struct disp_dest *d);

/* In-flight requests (least_loaded): inc when a request is sent to d,
 * dec when it completed (final response, timeout or transport error).
 * Any worker. Also kept as the gauge disp_inflight{...}. */
void disp_inflight_inc(struct disp_dest *d);
void disp_inflight_dec(struct disp_dest *d);
unsigned disp_dest_inflight(const struct disp_dest *d);

/* Counters (metrics disp_requests_total, disp_responses_total{class=},
 * disp_failovers_total, labelled set= and dest=): a request sent to d, a
 * final response from d, a failover away from d (408/503/transport). */
void disp_count_request(struct disp_dest *d);
void disp_count_response(struct disp_dest *d, unsigned status);
void disp_count_failover(struct disp_dest *d);

/* ---- health ---- */

/*
 * One probe (or request) outcome for d of set s: 'failures' consecutive
 * failures take it down, 'successes' consecutive successes bring it back
 * (probe: of the set's config; 3 and 2 when probing is off). Transitions
 * are logged. Any worker.
 */
void disp_probe_result(struct disp_set *s, struct disp_dest *d, bool is_ok);

/* Sends one probe (an out-of-dialog request of 'method') to d and, later,
 * reports the outcome with disp_probe_result() (a 2xx-6xx answer is "ok"
 * unless the proxy decides otherwise; a timeout or transport error is
 * not). Runs on the probing loop's thread. */
typedef void disp_probe_fn(struct disp_set *s, struct disp_dest *d, const char *method, void *arg);

/*
 * Arms one timer per set whose probing is enabled on loop's timer wheel
 * (its thread only: call from that worker's init), first round at once,
 * then every interval. -EALREADY if probing runs already.
 */
int disp_probe_start(struct disp *d, struct ev_loop *loop, disp_probe_fn *fn,
                     void *arg) warn_unused_result;
/* Disarms the timers; on the probing loop's thread (or after it stopped). */
void disp_probe_stop(struct disp *d);

#endif
