/* SPDX-License-Identifier: BSD-2-Clause */
/* Requests the proxy originates itself: health probes of next hops (OPTIONS, RFC 3261 §11). */
#include "app/proxy/proxy_int.h"

#include "core/buf.h"
#include "core/htab.h"
#include "sip/build.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void probe_unlink(struct proxy_probe *pr)
{
    struct proxy *p = pr->p;
    if (pr->prev != NULL)
        pr->prev->next = pr->next;
    else
        p->probes = pr->next;
    if (pr->next != NULL)
        pr->next->prev = pr->prev;
    txn_detach(pr->ct);
    txn_unref(pr->ct);
}

static void probe_response(struct txn *ct, const struct sipmsg *r, void *arg)
{
    (void)ct;
    struct proxy_probe *pr = arg;
    if (r->status < 200)
        return;
    proxy_probe_fn *done = pr->done;
    void *darg = pr->arg;
    probe_unlink(pr);
    free(pr);
    done(r->status, darg);
}

void proxy_probes_drop(struct proxy *p)
{
    while (p->probes != NULL) {
        struct proxy_probe *pr = p->probes;
        probe_unlink(pr);
        pr->done(0, pr->arg);
        free(pr);
    }
}

/* A Call-ID that hashes to this worker (docs/architecture.md: the owner
 * of a message is H(Call-ID) mod N), so the answer is not handed to
 * another worker that knows nothing of this transaction. Expected
 * tries: N. */
static int call_id_for_worker(struct proxy *p, char *out, size_t cap)
{
    unsigned n = tp_nworkers(tp_worker_tp(p->w)), wid = tp_worker_id(p->w);
    for (int i = 0; i < 4096; i++) {
        char b[TXN_BRANCH_CAP];
        int bn = txn_branch_new(p->l, b, sizeof(b));
        if (bn < 16)
            return -EINVAL;
        int k = snprintf(out, cap, "%.16s-probe", b + bn - 16);
        if (k < 0 || (size_t)k >= cap)
            return -EMSGSIZE;
        if (n <= 1 || htab_hash(out, (size_t)k) % n == wid)
            return k;
    }
    return -EAGAIN;
}

int proxy_probe(struct proxy *p, struct slice uri, const char *method, proxy_probe_fn *done,
                void *arg)
{
    struct tp_flow dst;
    int rc = proxy_uri_flow(p, &dst, uri, NULL);
    if (rc != 0)
        return rc;
    char branch[TXN_BRANCH_CAP], callid[64], via[TP_ADDR_STRLEN + 96], from[TP_ADDR_STRLEN + 64],
        to[512], a[TP_ADDR_STRLEN];
    int bn = txn_branch_new(p->l, branch, sizeof(branch));
    int cn = call_id_for_worker(p, callid, sizeof(callid));
    if (bn < 0 || cn < 0)
        return bn < 0 ? bn : cn;
    const char *me = tp_addr_str(&p->cfg.listeners[dst.listener].addr, a, sizeof(a));
    int vn = snprintf(via, sizeof(via), "SIP/2.0/%s %s;branch=%s;rport",
                      dst.proto == TP_TCP ? "TCP" : "UDP", me, branch);
    /* the From tag reuses the branch's random digits: unique enough */
    int fn = snprintf(from, sizeof(from), "<sip:sipwarden@%s>;tag=%.8s", me, branch + bn - 8);
    int tn = snprintf(to, sizeof(to), "<" SLICE_FMT ">", SLICE_ARG(uri));
    if (vn < 0 || (size_t)vn >= sizeof(via) || fn < 0 || (size_t)fn >= sizeof(from) || tn < 0 ||
        (size_t)tn >= sizeof(to))
        return -EMSGSIZE;
    struct sipmsg_request_opts ro = {
        .method = slice_cstr(method),
        .ruri = uri,
        .via = slice_make(via, (size_t)vn),
        .from = slice_make(from, (size_t)fn),
        .to = slice_make(to, (size_t)tn),
        .call_id = slice_make(callid, (size_t)cn),
        .cseq = 1,
    };
    struct buf out;
    buf_init(&out, PROXY_OUT_CAP);
    struct proxy_probe *pr = calloc(1, sizeof(*pr));
    rc = pr == NULL ? -ENOMEM : sipmsg_request_build(&out, &ro);
    if (rc == 0)
        rc = txn_client_new(&pr->ct, p->l, &dst, out.p, out.len, probe_response, pr);
    buf_fini(&out);
    if (rc != 0) {
        free(pr);
        return rc;
    }
    pr->p = p;
    pr->done = done;
    pr->arg = arg;
    pr->next = p->probes;
    if (p->probes != NULL)
        p->probes->prev = pr;
    p->probes = pr;
    return 0;
}
