/* SPDX-License-Identifier: BSD-2-Clause */
/* Builders for local responses and our own small requests. */
#include "sip/build.h"

#include "sip/parse_int.h"
#include "sip/print.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Output either appended to a struct buf or into a fixed caller buffer;
 * the first error sticks so the builders need not check every write. */
struct wr {
    struct buf *b;
    char *p;
    size_t cap, len;
    int err;
};

static void wr_put(struct wr *w, const void *d, size_t n)
{
    if (w->err || n == 0)
        return;
    if (w->b) {
        w->err = buf_append(w->b, d, n);
        return;
    }
    if (n > w->cap - w->len) {
        w->err = -EMSGSIZE;
        return;
    }
    memcpy(w->p + w->len, d, n);
    w->len += n;
}

static void wr_slice(struct wr *w, struct slice s)
{
    wr_put(w, s.p, s.len);
}

static void wr_str(struct wr *w, const char *s)
{
    wr_put(w, s, strlen(s));
}

static void wr_uint(struct wr *w, uint64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v);
    wr_put(w, tmp, (size_t)n);
}

/* "Name: value\r\n" */
static void wr_hdr(struct wr *w, const char *name, struct slice value)
{
    wr_str(w, name);
    wr_put(w, ": ", 2);
    wr_slice(w, value);
    wr_put(w, "\r\n", 2);
}

static bool extra_ok(const struct slice *extra, unsigned n)
{
    if (n && !extra)
        return false;
    for (unsigned i = 0; i < n; i++)
        if (extra[i].len == 0 || sw_has_line_break(extra[i]) ||
            !memchr(extra[i].p, ':', extra[i].len))
            return false;
    return true;
}

static void wr_tail(struct wr *w, const struct slice *extra, unsigned extra_count,
                    struct slice content_type, struct slice body)
{
    for (unsigned i = 0; i < extra_count; i++) {
        wr_slice(w, extra[i]);
        wr_put(w, "\r\n", 2);
    }
    if (body.len)
        wr_hdr(w, "Content-Type", content_type);
    wr_str(w, "Content-Length: ");
    wr_uint(w, body.len);
    wr_put(w, "\r\n\r\n", 4);
    wr_slice(w, body);
}

const char *sip_reason_phrase(unsigned code)
{
    /* RFC 3261 §21 plus the common later ones (RFC 3265, 4028, 3329, 6665). */
    static const struct {
        unsigned short code;
        const char *text;
    } tab[] = {
        {100, "Trying"},
        {180, "Ringing"},
        {181, "Call Is Being Forwarded"},
        {182, "Queued"},
        {183, "Session Progress"},
        {199, "Early Dialog Terminated"},
        {200, "OK"},
        {202, "Accepted"},
        {204, "No Notification"},
        {300, "Multiple Choices"},
        {301, "Moved Permanently"},
        {302, "Moved Temporarily"},
        {305, "Use Proxy"},
        {380, "Alternative Service"},
        {400, "Bad Request"},
        {401, "Unauthorized"},
        {402, "Payment Required"},
        {403, "Forbidden"},
        {404, "Not Found"},
        {405, "Method Not Allowed"},
        {406, "Not Acceptable"},
        {407, "Proxy Authentication Required"},
        {408, "Request Timeout"},
        {410, "Gone"},
        {413, "Request Entity Too Large"},
        {414, "Request-URI Too Long"},
        {415, "Unsupported Media Type"},
        {416, "Unsupported URI Scheme"},
        {420, "Bad Extension"},
        {421, "Extension Required"},
        {422, "Session Interval Too Small"},
        {423, "Interval Too Brief"},
        {429, "Too Many Requests"},
        {480, "Temporarily Unavailable"},
        {481, "Call/Transaction Does Not Exist"},
        {482, "Loop Detected"},
        {483, "Too Many Hops"},
        {484, "Address Incomplete"},
        {485, "Ambiguous"},
        {486, "Busy Here"},
        {487, "Request Terminated"},
        {488, "Not Acceptable Here"},
        {489, "Bad Event"},
        {491, "Request Pending"},
        {493, "Undecipherable"},
        {494, "Security Agreement Required"},
        {500, "Server Internal Error"},
        {501, "Not Implemented"},
        {502, "Bad Gateway"},
        {503, "Service Unavailable"},
        {504, "Server Time-out"},
        {505, "Version Not Supported"},
        {513, "Message Too Large"},
        {580, "Precondition Failure"},
        {600, "Busy Everywhere"},
        {603, "Decline"},
        {604, "Does Not Exist Anywhere"},
        {606, "Not Acceptable"},
    };
    static const char *const cls[] = {"Unknown",       "Provisional",     "Success",
                                      "Redirection",   "Request Failure", "Server Failure",
                                      "Global Failure"};
    for (size_t i = 0; i < SW_ARRAY_LEN(tab); i++)
        if (tab[i].code == code)
            return tab[i].text;
    return code >= 100 && code < 700 ? cls[code / 100] : cls[0];
}

/* One change inside the top Via value: at raw offset pos, drop del bytes
 * and write pre + val. */
struct via_splice {
    size_t pos, del;
    const char *pre;
    struct slice val;
    bool binds_left;
};

/*
 * Writes the top Via value with received= and rport filled for the
 * transport source (RFC 3261 §18.2.1, RFC 3581 §4). The same rules as
 * sipedit_via_received(); done here by splicing while copying because a
 * response is a new message, not an edit of the request.
 */
static void wr_top_via(struct wr *w, const struct sip_via *v, const struct sipmsg_reply_opts *o,
                       const char *port)
{
    struct via_splice sp[2];
    unsigned n = 0;
    struct slice pname, pval;
    bool has_val;
    const char *raw = v->raw.p;

    if (o->src_ip.len && v->has_rport && v->params.p &&
        sipedit_param_locate(v->params, "rport", &pname, &pval, &has_val)) {
        if (has_val)
            sp[n++] =
                (struct via_splice){(size_t)(pval.p - raw), pval.len, "", slice_cstr(port), true};
        else
            sp[n++] = (struct via_splice){(size_t)(pname.p + pname.len - raw), 0, "=",
                                          slice_cstr(port), true};
    }
    if (o->src_ip.len && sipedit_via_needs_received(v, o->src_ip)) {
        if (v->params.p && sipedit_param_locate(v->params, "received", &pname, &pval, &has_val) &&
            has_val)
            sp[n++] = (struct via_splice){(size_t)(pval.p - raw), pval.len, "", o->src_ip, false};
        else
            sp[n++] = (struct via_splice){v->raw.len, 0, ";received=", o->src_ip, false};
    }
    if (n == 2 && (sp[1].pos < sp[0].pos || (sp[1].pos == sp[0].pos && sp[1].binds_left))) {
        struct via_splice t = sp[0];
        sp[0] = sp[1];
        sp[1] = t;
    }
    size_t pos = 0;
    for (unsigned i = 0; i < n; i++) {
        wr_put(w, raw + pos, sp[i].pos - pos);
        wr_str(w, sp[i].pre);
        wr_slice(w, sp[i].val);
        pos = sp[i].pos + sp[i].del;
    }
    wr_put(w, raw + pos, v->raw.len - pos);
}

/* All Via fields in order, the first value of the first one rewritten. */
static int wr_vias(struct wr *w, const struct sipmsg *req, const struct sipmsg_reply_opts *o)
{
    const struct sip_hdr *h = sipmsg_hdr_first(req, HDR_VIA);
    const struct sip_via *v = &req->via1;
    char port[8];
    snprintf(port, sizeof(port), "%u", (unsigned)o->src_port);
    if (!h || !req->has_via || !v->raw.p)
        return -EINVAL;
    /* via1 is the first value of the first Via field (sipmsg.h). */
    const char *vs = h->value.p, *ve = h->value.p + h->value.len;
    if (v->raw.p < vs || v->raw.p + v->raw.len > ve)
        return -EINVAL;
    wr_str(w, "Via: ");
    wr_put(w, vs, (size_t)(v->raw.p - vs));
    wr_top_via(w, v, o, port);
    wr_put(w, v->raw.p + v->raw.len, (size_t)(ve - (v->raw.p + v->raw.len)));
    wr_put(w, "\r\n", 2);
    for (h = sipmsg_hdr_next(req, h); h; h = sipmsg_hdr_next(req, h))
        wr_hdr(w, "Via", h->value);
    return 0;
}

static void hex_tag(char *out, const uint8_t *r, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[r[i] >> 4];
        out[2 * i + 1] = hex[r[i] & 15];
    }
}

static int reply_build(struct wr *w, const struct sipmsg *req, unsigned code, struct slice reason,
                       const struct sipmsg_reply_opts *o)
{
    static const struct sipmsg_reply_opts none;
    const struct sip_hdr *from, *to, *call_id, *cseq;
    char tag[32];
    struct slice to_tag = SLICE_NULL;
    int rc;

    if (!o)
        o = &none;
    if (!req->is_request || code < 100 || code > 699 || sw_has_line_break(reason) ||
        sw_has_line_break(o->to_tag) || sw_has_line_break(o->src_ip) ||
        sw_has_line_break(o->server) || sw_has_line_break(o->content_type) ||
        !extra_ok(o->extra, o->extra_count) || (o->body.len && !o->content_type.len))
        return -EINVAL;
    from = sipmsg_hdr_first(req, HDR_FROM);
    to = sipmsg_hdr_first(req, HDR_TO);
    call_id = sipmsg_hdr_first(req, HDR_CALL_ID);
    cseq = sipmsg_hdr_first(req, HDR_CSEQ);
    if (!from || !to || !call_id || !cseq)
        return -EINVAL;
    /* RFC 3261 §8.2.6.2: a UAS adds a To tag to every response but a 100
     * when the request has none (it is the UAS's half of the dialog id). */
    if (code > 100 && req->to.tag.len == 0) {
        if (o->to_tag.len)
            to_tag = o->to_tag;
        else if (o->rand && o->rand_len) {
            size_t n = SW_MIN(o->rand_len, sizeof(tag) / 2);
            hex_tag(tag, o->rand, n);
            to_tag = slice_make(tag, 2 * n);
        } else {
            return -EINVAL;
        }
    }
    if (reason.len == 0)
        reason = slice_cstr(sip_reason_phrase(code));

    wr_str(w, "SIP/2.0 ");
    wr_uint(w, code);
    wr_put(w, " ", 1);
    wr_slice(w, reason);
    wr_put(w, "\r\n", 2);
    if ((rc = wr_vias(w, req, o)))
        return rc;
    wr_hdr(w, "From", from->value);
    wr_str(w, "To: ");
    wr_slice(w, to->value);
    if (to_tag.len) {
        wr_str(w, ";tag=");
        wr_slice(w, to_tag);
    }
    wr_put(w, "\r\n", 2);
    wr_hdr(w, "Call-ID", call_id->value);
    wr_hdr(w, "CSeq", cseq->value);
    /* RFC 3261 §8.2.6.1: a 100 copies the request's Timestamp. */
    if (code == 100) {
        const struct sip_hdr *ts = sipmsg_hdr_first(req, HDR_TIMESTAMP);
        if (ts)
            wr_hdr(w, "Timestamp", ts->value);
    }
    if (o->server.len)
        wr_hdr(w, "Server", o->server);
    wr_tail(w, o->extra, o->extra_count, o->content_type, o->body);
    return w->err;
}

int sipmsg_reply_build(struct buf *out, const struct sipmsg *req, unsigned code,
                       struct slice reason, const struct sipmsg_reply_opts *o)
{
    struct wr w = {.b = out};
    size_t start = out->len;
    int rc = reply_build(&w, req, code, reason, o);
    if (rc)
        out->len = start;
    return rc;
}

ssize_t sipmsg_reply_build_into(char *out, size_t cap, const struct sipmsg *req, unsigned code,
                                struct slice reason, const struct sipmsg_reply_opts *o)
{
    struct wr w = {.p = out, .cap = cap};
    int rc = reply_build(&w, req, code, reason, o);
    return rc ? rc : (ssize_t)w.len;
}

int sipmsg_request_build(struct buf *out, const struct sipmsg_request_opts *r)
{
    struct wr w = {.b = out};
    size_t start = out->len;

    if (!sw_token_valid(r->method) || r->ruri.len == 0 || sw_has_line_break(r->ruri) ||
        memchr(r->ruri.p, ' ', r->ruri.len) || r->via.len == 0 || sw_has_line_break(r->via) ||
        r->from.len == 0 || sw_has_line_break(r->from) || r->to.len == 0 ||
        sw_has_line_break(r->to) || r->call_id.len == 0 || sw_has_line_break(r->call_id) ||
        sw_has_line_break(r->contact) || sw_has_line_break(r->user_agent) ||
        sw_has_line_break(r->content_type) || !extra_ok(r->extra, r->extra_count) ||
        (r->body.len && !r->content_type.len))
        return -EINVAL;
    wr_slice(&w, r->method);
    wr_put(&w, " ", 1);
    wr_slice(&w, r->ruri);
    wr_str(&w, " SIP/2.0\r\n");
    wr_hdr(&w, "Via", r->via);
    wr_str(&w, "Max-Forwards: ");
    wr_uint(&w, r->max_forwards ? r->max_forwards : 70);
    wr_put(&w, "\r\n", 2);
    wr_hdr(&w, "From", r->from);
    wr_hdr(&w, "To", r->to);
    wr_hdr(&w, "Call-ID", r->call_id);
    wr_str(&w, "CSeq: ");
    wr_uint(&w, r->cseq);
    wr_put(&w, " ", 1);
    wr_slice(&w, r->method);
    wr_put(&w, "\r\n", 2);
    if (r->contact.len)
        wr_hdr(&w, "Contact", r->contact);
    if (r->user_agent.len)
        wr_hdr(&w, "User-Agent", r->user_agent);
    wr_tail(&w, r->extra, r->extra_count, r->content_type, r->body);
    if (w.err)
        out->len = start;
    return w.err;
}
