/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sipwarden side of the parse bench (parse-sipwarden).
 *
 * "sipwarden-full": sipmsg_new (one allocation, copies the bytes) +
 * sipmsg_parse (start line, header index, top Via, From/To, Call-ID, CSeq,
 * Max-Forwards, Content-Length) + sipmsg_parse_full (every header whose
 * grammar the parser knows) + sipmsg_unref.
 * "sipwarden-core": the same without sipmsg_parse_full, i.e. what the
 * server does on receipt before anything asks for more.
 */
#include "harness.h"

#include "sip/sipmsg.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const struct sip_limits lim = SIP_LIMITS_DEFAULT;

static int parse(const char *data, size_t len, struct bench_out *out, bool full)
{
    struct sipmsg *m = sipmsg_new(data, len, &lim);
    struct sip_err err = {NULL, 0};
    int rc = -1;

    if (!m)
        return -ENOMEM;
    if (sipmsg_parse(m, &err) != SIP_PARSE_OK)
        goto out;
    if (full && sipmsg_parse_full(m, &err) != SIP_PARSE_OK)
        goto out;
    if (out) {
        if (m->call_id.len >= sizeof(out->call_id))
            goto out;
        memcpy(out->call_id, m->call_id.p, m->call_id.len);
        out->call_id[m->call_id.len] = '\0';
        out->cseq = m->cseq.num;
        out->status = m->is_request ? 0 : m->status;
        out->via_count = m->via_count;
    }
    rc = 0;
out:
    if (rc != 0 && out)
        fprintf(stderr, "sipwarden: %s at byte %zu\n", err.reason ? err.reason : "?", err.offset);
    sipmsg_unref(m);
    return rc;
}

static int sw_full(const char *data, size_t len, struct bench_out *out)
{
    return parse(data, len, out, true);
}

static int sw_core(const char *data, size_t len, struct bench_out *out)
{
    return parse(data, len, out, false);
}

const struct bench_variant bench_variants[] = {
    {"sipwarden-full", sw_full},
    {"sipwarden-core", sw_core},
    {NULL, NULL},
};

int bench_setup(void)
{
    return 0;
}

void bench_teardown(void)
{
}
