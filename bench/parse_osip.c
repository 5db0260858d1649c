/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libosip2 side of the parse bench (parse-osip).
 *
 * osip_message_parse() is eager by design: every header it knows
 * (Via, From, To, Call-ID, CSeq, Contact, Route, Record-Route,
 * Authorization, Allow, Content-Type, Content-Length, ...) is parsed into
 * its own struct with strdup'd strings. Headers it does not know
 * (Max-Forwards, Expires, Supported, User-Agent, Server,
 * P-Asserted-Identity, Session-Expires) are kept as name/value pairs, so
 * the "osip-full" variant also parses the ones with a grammar using
 * osip's own helpers: P-Asserted-Identity with osip_from_parse,
 * Max-Forwards and Expires as integers.
 */
#include "harness.h"

#include <osipparser2/osip_parser.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fill_out(osip_message_t *sip, const char *data, struct bench_out *out)
{
    const char *num = osip_call_id_get_number(sip->call_id);
    const char *host = osip_call_id_get_host(sip->call_id);

    if (!num || !sip->cseq || !sip->cseq->number)
        return -1;
    if (host)
        snprintf(out->call_id, sizeof(out->call_id), "%s@%s", num, host);
    else
        snprintf(out->call_id, sizeof(out->call_id), "%s", num);
    out->cseq = strtoul(sip->cseq->number, NULL, 10);
    out->status = MSG_IS_RESPONSE(sip) ? (unsigned)sip->status_code : 0;
    out->via_count = (unsigned)osip_list_size(&sip->vias);

    /* osip drops a Route, Record-Route or Authorization it cannot parse
     * ("ignored_when_invalid") instead of failing: make sure none was. */
    if (strstr(data, "\r\nRoute:") && osip_list_size(&sip->routes) <= 0)
        return -1;
    if (strstr(data, "\r\nRecord-Route:") && osip_list_size(&sip->record_routes) <= 0)
        return -1;
    if (strstr(data, "\r\nAuthorization:") && osip_list_size(&sip->authorizations) <= 0)
        return -1;
    if (strstr(data, "\r\nContact:") && osip_list_size(&sip->contacts) <= 0)
        return -1;
    return 0;
}

/* The headers osip keeps as plain name/value pairs but that have a
 * grammar (see the file comment). */
static int parse_unknown(osip_message_t *sip)
{
    osip_header_t *h = NULL;
    int pos = 0;

    while ((pos = osip_message_header_get_byname(sip, "p-asserted-identity", pos, &h)) >= 0) {
        osip_from_t *pai = NULL;
        int rc;

        if (osip_from_init(&pai) != 0)
            return -1;
        rc = osip_from_parse(pai, h->hvalue);
        osip_from_free(pai);
        if (rc != 0)
            return -1;
        pos++;
    }
    if (osip_message_header_get_byname(sip, "max-forwards", 0, &h) >= 0) {
        char *end;

        if (strtoul(h->hvalue, &end, 10) > 255 || *end)
            return -1;
    }
    if (osip_message_header_get_byname(sip, "expires", 0, &h) >= 0) {
        char *end;

        (void)strtoul(h->hvalue, &end, 10);
        if (*end)
            return -1;
    }
    return 0;
}

static int parse(const char *data, size_t len, struct bench_out *out, int full)
{
    osip_message_t *sip = NULL;
    int rc = -1;

    if (osip_message_init(&sip) != 0)
        return -ENOMEM;
    if (osip_message_parse(sip, data, len) != 0)
        goto out;
    if (full && parse_unknown(sip) != 0)
        goto out;
    rc = out ? fill_out(sip, data, out) : 0;
out:
    osip_message_free(sip);
    return rc;
}

static int osip_plain(const char *data, size_t len, struct bench_out *out)
{
    return parse(data, len, out, 0);
}

static int osip_full(const char *data, size_t len, struct bench_out *out)
{
    return parse(data, len, out, 1);
}

const struct bench_variant bench_variants[] = {
    {"osip-full", osip_full},
    {"osip-parse", osip_plain},
    {NULL, NULL},
};

int bench_setup(void)
{
    return parser_init();
}

void bench_teardown(void)
{
}
