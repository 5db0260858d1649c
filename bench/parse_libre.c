/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libre side of the parse bench (parse-libre).
 *
 * sip_msg_decode() (libre 1.1, src/sip/msg.c) splits every header into
 * name/value slices, splits comma-separated ones into values, indexes
 * them in a hash table, and decodes only the request-URI, the first Via,
 * From, To (with tags), CSeq and Content-Type. Call-ID, Max-Forwards,
 * Content-Length and Expires are kept as raw slices; other Via values,
 * Contact, Route, Record-Route, P-Asserted-Identity and Authorization are
 * not decoded. The "libre-core" variant is sip_msg_decode alone; the
 * "libre-full" variant then decodes those remaining headers with libre's
 * own grammar functions (sip_via_decode, sip_addr_decode,
 * httpauth_digest_response_decode, pl_u32), which is what a libre
 * application does when it needs them.
 *
 * This file must not share a process with sipwarden's libraries: libre
 * exports tmr_start, uri_decode, list_*, hash_* ... (see bench/README.md).
 */
#include "harness.h"

#include <re.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

struct full_ctx {
    int err;
    unsigned vias;
};

static bool via_h(const struct sip_hdr *hdr, const struct sip_msg *msg, void *arg)
{
    struct full_ctx *c = arg;
    struct sip_via via;

    (void)msg;
    c->vias++;
    c->err = sip_via_decode(&via, &hdr->val);
    return c->err != 0;
}

static bool addr_h(const struct sip_hdr *hdr, const struct sip_msg *msg, void *arg)
{
    struct full_ctx *c = arg;
    struct sip_addr addr;

    (void)msg;
    c->err = sip_addr_decode(&addr, &hdr->val);
    return c->err != 0;
}

static bool auth_h(const struct sip_hdr *hdr, const struct sip_msg *msg, void *arg)
{
    struct full_ctx *c = arg;
    struct httpauth_digest_resp resp;

    (void)msg;
    c->err = httpauth_digest_response_decode(&resp, &hdr->val);
    return c->err != 0;
}

static int decode_rest(const struct sip_msg *msg, unsigned *vias)
{
    static const enum sip_hdrid addr_ids[] = {SIP_HDR_CONTACT, SIP_HDR_ROUTE, SIP_HDR_RECORD_ROUTE,
                                              SIP_HDR_P_ASSERTED_IDENTITY};
    struct full_ctx c = {0, 0};

    sip_msg_hdr_apply(msg, true, SIP_HDR_VIA, via_h, &c);
    if (c.err)
        return c.err;
    for (size_t i = 0; i < sizeof(addr_ids) / sizeof(addr_ids[0]); i++) {
        sip_msg_hdr_apply(msg, true, addr_ids[i], addr_h, &c);
        if (c.err)
            return c.err;
    }
    sip_msg_hdr_apply(msg, true, SIP_HDR_AUTHORIZATION, auth_h, &c);
    if (c.err)
        return c.err;
    if (pl_isset(&msg->maxfwd) && pl_u32(&msg->maxfwd) > 255)
        return EBADMSG;
    if (pl_isset(&msg->clen))
        (void)pl_u32(&msg->clen);
    if (pl_isset(&msg->expires))
        (void)pl_u32(&msg->expires);
    *vias = c.vias;
    return 0;
}

static int parse(const char *data, size_t len, struct bench_out *out, bool full)
{
    struct mbuf *mb = mbuf_alloc(len);
    struct sip_msg *msg = NULL;
    unsigned vias = 0;
    int err;

    if (!mb)
        return ENOMEM;
    err = mbuf_write_mem(mb, (const uint8_t *)data, len);
    if (err)
        goto out;
    mb->pos = 0;
    err = sip_msg_decode(&msg, mb);
    if (err)
        goto out;
    if (full) {
        err = decode_rest(msg, &vias);
        if (err)
            goto out;
    }
    if (out) {
        if (msg->callid.l >= sizeof(out->call_id)) {
            err = EMSGSIZE;
            goto out;
        }
        memcpy(out->call_id, msg->callid.p, msg->callid.l);
        out->call_id[msg->callid.l] = '\0';
        out->cseq = msg->cseq.num;
        out->status = msg->req ? 0 : msg->scode;
        out->via_count = vias;
    }
out:
    mem_deref(msg);
    mem_deref(mb);
    return err;
}

static int libre_core(const char *data, size_t len, struct bench_out *out)
{
    return parse(data, len, out, false);
}

static int libre_full(const char *data, size_t len, struct bench_out *out)
{
    return parse(data, len, out, true);
}

const struct bench_variant bench_variants[] = {
    {"libre-full", libre_full},
    {"libre-core", libre_core},
    {NULL, NULL},
};

int bench_setup(void)
{
    return libre_init();
}

void bench_teardown(void)
{
    libre_close();
}
