/* SPDX-License-Identifier: BSD-2-Clause */
/* RFC 3263 resolution: the `dns:` option table and URI-to-query rules. */
#include "transport/dns.h"

#include <errno.h>
#include <string.h>

/* ---- configuration ---- */

/* Checked when the config loads, so a typo stops start-up at its line
 * rather than when the workers create their resolvers. */
static const char *check_server(const char *s, size_t len)
{
    struct tp_addr a;

    return tp_addr_parse(&a, slice_make(s, len), 53) == 0
               ? NULL
               : "is not a numeric IP or IP:PORT ([IPv6]:PORT)";
}

/* Not reloadable: each worker's resolver is created at start-up with these. */
const struct cfg_opt dns_opts[] = {
    CFG_STRLIST("servers", struct dns_config, servers, NULL, check_server, false,
                "DNS servers for RFC 3263 lookups (NAPTR, SRV, A, AAAA) as IP or IP:PORT "
                "([IPv6]:PORT). Empty: the nameservers of /etc/resolv.conf."),
    CFG_DURATION("timeout", struct dns_config, timeout_ms, "2s", CFG_UNIT_S, 100, 30000, false,
                 "How long one query waits for one server before it tries again."),
    CFG_UINT("tries", struct dns_config, tries, "2", 1, 10, false,
             "Attempts per query across the servers before a lookup fails."),
    CFG_UINT("max_results", struct dns_config, max_results, "16", 1, DNS_MAX_RESULTS, false,
             "Most (transport, address) targets one resolution returns for failover."),
    CFG_UINT("max_pending", struct dns_config, max_pending, "1024", 1, 100000, false,
             "Most resolutions in progress at once per worker; beyond it a request fails "
             "at once instead of queueing without bound."),
    CFG_BOOL("ipv6", struct dns_config, use_ipv6, "true", false,
             "Also look up AAAA records; IPv6 addresses are tried after the IPv4 ones of the "
             "same host."),
    CFG_END,
};

void dns_config_defaults(struct dns_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->timeout_ms = 2000;
    cfg->tries = 2;
    cfg->max_results = 16;
    cfg->max_pending = 1024;
    cfg->use_ipv6 = true;
}

/* ---- queries ---- */

int dns_query_from_uri(struct dns_query *q, const struct uri *u)
{
    struct slice t = u->transport;

    if (u->scheme != URI_SIP && u->scheme != URI_SIPS)
        return -EINVAL;
    memset(q, 0, sizeof(*q));
    q->host = u->maddr.len ? u->maddr : u->host;
    q->port = u->has_port ? u->port : 0;
    q->is_sips = u->scheme == URI_SIPS;
    if (t.len > 0) {
        q->has_transport = true;
        if (slice_caseeq_cstr(t, "udp"))
            q->transport = TP_UDP;
        else if (slice_caseeq_cstr(t, "tcp"))
            q->transport = TP_TCP;
        else if (slice_caseeq_cstr(t, "tls")) {
            q->transport = TP_TCP;
            q->is_tls = true;
        } else
            return -EPROTONOSUPPORT;
    }
    return 0;
}
