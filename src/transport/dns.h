/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * RFC 3263 server location: turns a SIP URI (host, port, transport, sips)
 * into the ordered list of (transport, address) pairs a client tries in
 * turn, with NAPTR (RFC 3403), SRV (RFC 2782) and A/AAAA lookups done by
 * c-ares on a worker's event loop. Nothing here blocks.
 *
 * Threads: a resolver belongs to one event loop (one worker) and every
 * function but dns_config_defaults must be called on that loop's thread.
 * Each worker that resolves creates its own resolver.
 */
#ifndef SW_TRANSPORT_DNS_H
#define SW_TRANSPORT_DNS_H

#include "core/cfg.h"
#include "core/util.h"
#include "sip/uri.h"
#include "transport/tp.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ev_loop;

/* Upper bounds of the options below (memory per resolution is fixed). */
#define DNS_MAX_RESULTS 64
#define DNS_MAX_HOSTS 16 /* SRV targets whose addresses one resolution looks up */

/* The `dns:` section. Loaded by cfg (dns_opts) or filled by hand. */
struct dns_config {
    struct cfg_strlist servers; /* "IP[:port]" / "[IPv6][:port]"; empty = /etc/resolv.conf */
    uint64_t timeout_ms;        /* per try, per server */
    unsigned int tries;         /* per query, across the servers */
    unsigned int max_results;   /* targets returned per resolution, 1..DNS_MAX_RESULTS */
    unsigned int max_pending;   /* resolutions in progress per resolver (per worker) */
    bool use_ipv6;              /* also look up AAAA (after A) */
};

/* Option table of struct dns_config (the `dns:` section). */
extern const struct cfg_opt dns_opts[];

/* The defaults of dns_opts, without loading YAML (servers left empty). */
void dns_config_defaults(struct dns_config *cfg);

/* One place to send a request: TLS is TP_TCP with is_tls set (sips, or
 * NAPTR SIPS+D2T / SRV _sips._tcp). A plain value. */
struct dns_target {
    enum tp_proto proto;
    bool is_tls;
    struct tp_addr addr;
};

/* What to resolve: the parts of a SIP URI that RFC 3263 §4 looks at. */
struct dns_query {
    struct slice host; /* name or numeric IP (IPv6 with or without brackets); copied */
    uint16_t port;     /* 0 = none given */
    bool has_transport;
    enum tp_proto transport; /* when has_transport: the ;transport= of the URI */
    bool is_tls;             /* ;transport=tls (with TP_TCP) */
    bool is_sips;            /* sips: URI, RFC 3261 §26.2.2 */
};

/*
 * Fills q from a parsed sip/sips URI (maddr, when present, replaces the
 * host: RFC 3263 §4). q borrows u's slices. -EINVAL for other schemes,
 * -EPROTONOSUPPORT for a transport other than udp, tcp or tls.
 */
int dns_query_from_uri(struct dns_query *q, const struct uri *u) warn_unused_result;

/*
 * Result of one resolution, on the resolver's loop thread, never from
 * inside dns_resolve_sip(). On success err is 0 and targets[0..count)
 * (count >= 1) is the order to try: NAPTR order/preference, then SRV
 * priority with weighted-random order inside a priority (RFC 2782), every
 * A then AAAA address of every SRV target. targets is borrowed for the
 * call. On failure count is 0 and err is -ENOENT (the name or the records
 * do not exist), -ETIMEDOUT (no server answered), -EIO (server failure or
 * a bad answer) or -ENOMEM.
 */
typedef void dns_result_fn(const struct dns_target *targets, size_t count, int err, void *arg);

struct dns_resolver;
/* A resolution in progress; owned by the resolver. */
struct dns_req;

/*
 * Creates a resolver on 'loop' (its thread only): c-ares sockets are
 * registered with ev_io_add and c-ares timeouts run on ev_timers(loop).
 * cfg is copied. NULL on failure with a reason in err (bad server
 * address, no /etc/resolv.conf servers, out of memory).
 */
struct dns_resolver *dns_resolver_new(struct ev_loop *loop, const struct dns_config *cfg, char *err,
                                      size_t errlen);
/* Cancels every resolution in progress (no callback runs) and frees. */
void dns_resolver_free(struct dns_resolver *r);

/*
 * Starts resolving q (its host is copied). cb runs exactly once, later,
 * unless the request is cancelled. *req (may be NULL when not wanted) is
 * a handle valid until cb runs or dns_cancel() is called.
 * Returns 0, -EINVAL (empty or too long a host), -EAGAIN (max_pending
 * resolutions already in progress) or -ENOMEM.
 */
int dns_resolve_sip(struct dns_resolver *r, const struct dns_query *q, dns_result_fn *cb, void *arg,
                    struct dns_req **req) warn_unused_result;

/* Stops a resolution: its callback will not run. req must be a handle
 * whose callback has not run yet. */
void dns_cancel(struct dns_req *req);

/* Resolutions in progress (including cancelled ones whose DNS queries
 * are still outstanding). */
size_t dns_pending(const struct dns_resolver *r);

#endif
