/* SPDX-License-Identifier: BSD-2-Clause */
/* In-place SDP parser (RFC 4566) with bounded, counted allocations. */
#include "sip/sdp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

/* One "<type>=<value>" line. */
struct sdp_line {
    char type;
    struct slice val;
    size_t off; /* of the type letter */
    size_t end; /* just past the line end (or the body end) */
};

enum sdp_state { ST_V, ST_O, ST_S, ST_SESSION, ST_MEDIA };

static int bad(struct sip_err *err, const char *reason, size_t off)
{
    if (err) {
        err->reason = reason;
        err->offset = off;
    }
    return SIP_PARSE_BAD;
}

static bool only_line_ends(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] != '\r' && p[i] != '\n')
            return false;
    return true;
}

/*
 * Reads the line at *pos. Returns 1 with *l filled, 0 at the end of the
 * body, SIP_PARSE_BAD on a malformed line. RFC 4566 §5 lines end in CRLF,
 * but parsers "SHOULD also accept records terminated with a single
 * newline"; a final line without any terminator is accepted too (bodies
 * cut at Content-Length by peers that forgot the last CRLF). Empty lines
 * are tolerated only at the very end (some peers add a trailing CRLF).
 */
static int next_line(const char *b, size_t len, size_t *pos, struct sdp_line *l,
                     struct sip_err *err)
{
    size_t i = *pos;
    if (i >= len || only_line_ends(b + i, len - i))
        return 0;
    if (b[i] == '\r' || b[i] == '\n')
        return bad(err, "Empty line in SDP", i);
    if (len - i < 2 || b[i + 1] != '=')
        return bad(err, "Bad SDP line", i);
    if (b[i] < 'a' || b[i] > 'z')
        return bad(err, "Bad SDP line type", i);
    l->type = b[i];
    l->off = i;
    size_t v = i + 2, e = v;
    /* The value grammar (RFC 4566 §9 byte-string/text) excludes NUL, CR
     * and LF; a lone CR would let two parsers disagree on line bounds. */
    while (e < len && b[e] != '\n') {
        if (b[e] == '\0')
            return bad(err, "NUL in SDP line", e);
        if (b[e] == '\r' && (e + 1 >= len || b[e + 1] != '\n'))
            return bad(err, "Bare CR in SDP line", e);
        if (b[e] == '\r')
            break;
        e++;
    }
    l->val = slice_make(b + v, e - v);
    if (e < len && b[e] == '\r')
        e++;
    if (e < len && b[e] == '\n')
        e++;
    l->end = e;
    *pos = e;
    return 1;
}

/* Next token separated by SP (HTAB tolerated); false when none is left. */
static bool tok_next(struct slice *rest, struct slice *tok)
{
    size_t i = 0;
    while (i < rest->len && (rest->p[i] == ' ' || rest->p[i] == '\t'))
        i++;
    size_t s = i;
    while (i < rest->len && rest->p[i] != ' ' && rest->p[i] != '\t')
        i++;
    if (i == s)
        return false;
    *tok = slice_make(rest->p + s, i - s);
    *rest = slice_make(rest->p + i, rest->len - i);
    return true;
}

/* Splits s at the first c: head before it, tail after; false if no c. */
static bool split_at(struct slice s, char c, struct slice *head, struct slice *tail)
{
    const char *q = s.len ? memchr(s.p, c, s.len) : NULL;
    if (!q)
        return false;
    *head = slice_make(s.p, (size_t)(q - s.p));
    *tail = slice_make(q + 1, s.len - (size_t)(q - s.p) - 1);
    return true;
}

static bool to_uint(struct slice s, uint64_t max, uint64_t *out)
{
    return slice_to_u64(out, s, max) == 0;
}

static enum sdp_addrtype addrtype_of(struct slice s)
{
    if (slice_caseeq_cstr(s, "IP4"))
        return SDP_ADDR_IP4;
    if (slice_caseeq_cstr(s, "IP6"))
        return SDP_ADDR_IP6;
    return SDP_ADDR_OTHER;
}

static bool is_hostname(struct slice s)
{
    if (s.len == 0 || s.len > 253)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.'))
            return false;
    }
    return true;
}

static bool looks_ipv4(struct slice s)
{
    for (size_t i = 0; i < s.len; i++)
        if (!((s.p[i] >= '0' && s.p[i] <= '9') || s.p[i] == '.'))
            return false;
    return s.len > 0;
}

/* Literal check with inet_pton on a bounded, terminated copy. */
static bool addr_literal_ok(int af, struct slice s)
{
    char tmp[INET6_ADDRSTRLEN + 1];
    unsigned char out[16];
    if (s.len == 0 || s.len >= sizeof(tmp))
        return false;
    memcpy(tmp, s.p, s.len);
    tmp[s.len] = '\0';
    return inet_pton(af, tmp, out) == 1;
}

/*
 * Address of c= (RFC 4566 §5.7), o= and a=rtcp: unicast literal, FQDN, or
 * multicast with "/ttl[/count]" (IP4) or "/count" (IP6). Literals are
 * checked because the media relay will bind or send to them.
 */
static const char *parse_addr(struct sdp_conn *c, struct slice a)
{
    struct slice addr = a, rest = SLICE_NULL, x;
    uint64_t n;
    c->ttl = 0;
    c->addr_count = 1;
    if (split_at(a, '/', &addr, &rest)) {
        if (c->addrtype == SDP_ADDR_IP4) {
            struct slice ttl = rest, cnt;
            bool has_cnt = split_at(rest, '/', &ttl, &cnt);
            if (!to_uint(ttl, 255, &n))
                return "Bad TTL in SDP connection";
            c->ttl = (unsigned)n;
            if (has_cnt) {
                if (!to_uint(cnt, 65535, &n) || n == 0)
                    return "Bad address count in SDP connection";
                c->addr_count = (unsigned)n;
            }
        } else {
            if (split_at(rest, '/', &x, &x) || !to_uint(rest, 65535, &n) || n == 0)
                return "Bad address count in SDP connection";
            c->addr_count = (unsigned)n;
        }
    }
    c->addr = addr;
    c->is_name = false;
    if (c->addrtype == SDP_ADDR_IP4 && looks_ipv4(addr)) {
        if (!addr_literal_ok(AF_INET, addr))
            return "Bad IPv4 address in SDP";
    } else if (c->addrtype == SDP_ADDR_IP6 && memchr(addr.p, ':', addr.len)) {
        if (!addr_literal_ok(AF_INET6, addr))
            return "Bad IPv6 address in SDP";
    } else if (c->addrtype == SDP_ADDR_OTHER) {
        c->is_name = false; /* unknown address type: kept opaque */
    } else {
        if (!is_hostname(addr))
            return "Bad address in SDP";
        c->is_name = true;
    }
    return NULL;
}

/* "<nettype> <addrtype> <connection-address>" */
static const char *parse_conn(struct sdp_conn *c, struct slice v)
{
    struct slice addr, extra;
    if (!tok_next(&v, &c->nettype) || !tok_next(&v, &c->addrtype_s) || !tok_next(&v, &addr))
        return "Bad SDP connection line";
    if (tok_next(&v, &extra))
        return "Trailing data in SDP connection line";
    c->addrtype = addrtype_of(c->addrtype_s);
    c->present = true;
    return parse_addr(c, addr);
}

static const char *parse_origin(struct sdp_origin *o, struct slice v)
{
    struct slice addr, extra;
    if (!tok_next(&v, &o->username) || !tok_next(&v, &o->sess_id) ||
        !tok_next(&v, &o->sess_version) || !tok_next(&v, &o->nettype) ||
        !tok_next(&v, &o->addrtype_s) || !tok_next(&v, &addr))
        return "Bad SDP origin line";
    if (tok_next(&v, &extra))
        return "Trailing data in SDP origin line";
    /* sess-id and sess-version are 1*DIGIT (RFC 4566 §9); RFC 3264 §8
     * compares versions, so they must be numbers, of any length. */
    for (size_t i = 0; i < o->sess_id.len; i++)
        if (o->sess_id.p[i] < '0' || o->sess_id.p[i] > '9')
            return "Bad session id in SDP origin";
    for (size_t i = 0; i < o->sess_version.len; i++)
        if (o->sess_version.p[i] < '0' || o->sess_version.p[i] > '9')
            return "Bad session version in SDP origin";
    o->addrtype = addrtype_of(o->addrtype_s);
    struct sdp_conn tmp = {.addrtype = o->addrtype};
    const char *why = parse_addr(&tmp, addr);
    if (why)
        return why;
    o->addr = tmp.addr;
    return NULL;
}

static const char *parse_bw(struct sdp_bw *bw, struct slice v)
{
    struct slice val;
    uint64_t n;
    if (!split_at(v, ':', &bw->type, &val) || bw->type.len == 0)
        return "Bad SDP bandwidth line";
    if (!to_uint(val, UINT32_MAX, &n))
        return "Bad SDP bandwidth value";
    bw->value = n;
    return NULL;
}

/* typed-time = 1*DIGIT [fixed-len-time-unit] (RFC 4566 §5.10, §9) */
static bool typed_time_ok(struct slice t, bool allow_neg)
{
    uint64_t n;
    if (allow_neg && t.len && t.p[0] == '-')
        t = slice_make(t.p + 1, t.len - 1);
    if (t.len && strchr("dhms", t.p[t.len - 1]))
        t.len--;
    return to_uint(t, UINT32_MAX, &n);
}

static const char *parse_time(struct sdp_time *t, struct slice v)
{
    struct slice a, b, extra;
    if (!tok_next(&v, &a) || !tok_next(&v, &b) || tok_next(&v, &extra))
        return "Bad SDP time line";
    if (!to_uint(a, UINT64_MAX, &t->start) || !to_uint(b, UINT64_MAX, &t->stop))
        return "Bad SDP time value";
    return NULL;
}

static const char *check_repeat(struct slice v)
{
    struct slice tok;
    unsigned n = 0;
    while (tok_next(&v, &tok)) {
        if (!typed_time_ok(tok, false))
            return "Bad SDP repeat line";
        n++;
    }
    return n >= 3 ? NULL : "Bad SDP repeat line";
}

/* z=<adjustment time> <offset> ... pairs (RFC 4566 §5.11) */
static const char *check_zone(struct slice v)
{
    struct slice t, o;
    unsigned n = 0;
    while (tok_next(&v, &t)) {
        uint64_t x;
        if (!to_uint(t, UINT64_MAX, &x) || !tok_next(&v, &o) || !typed_time_ok(o, true))
            return "Bad SDP time zone line";
        n++;
    }
    return n ? NULL : "Bad SDP time zone line";
}

static bool is_token_char(char c)
{
    /* RFC 4566 §9 token-char: %x21 / %x23-27 / %x2A-2B / %x2D-2E / %x30-39 /
     * %x41-5A / %x5E-7E */
    unsigned char u = (unsigned char)c;
    return u == 0x21 || (u >= 0x23 && u <= 0x27) || u == 0x2a || u == 0x2b || u == 0x2d ||
           u == 0x2e || (u >= 0x30 && u <= 0x39) || (u >= 0x41 && u <= 0x5a) ||
           (u >= 0x5e && u <= 0x7e);
}

static const char *parse_attr(struct sdp_attr *at, struct slice v)
{
    size_t i = 0;
    while (i < v.len && v.p[i] != ':')
        i++;
    at->name = slice_make(v.p, i);
    if (at->name.len == 0)
        return "Bad SDP attribute name";
    for (size_t k = 0; k < at->name.len; k++)
        if (!is_token_char(at->name.p[k]))
            return "Bad SDP attribute name";
    at->has_value = i < v.len;
    at->value = at->has_value ? slice_make(v.p + i + 1, v.len - i - 1) : SLICE_NULL;
    return NULL;
}

static enum sdp_dir dir_of(const struct sdp_attr *at)
{
    if (at->has_value)
        return SDP_DIR_NONE;
    if (slice_caseeq_cstr(at->name, "sendrecv"))
        return SDP_DIR_SENDRECV;
    if (slice_caseeq_cstr(at->name, "sendonly"))
        return SDP_DIR_SENDONLY;
    if (slice_caseeq_cstr(at->name, "recvonly"))
        return SDP_DIR_RECVONLY;
    if (slice_caseeq_cstr(at->name, "inactive"))
        return SDP_DIR_INACTIVE;
    return SDP_DIR_NONE;
}

/* a=ptime / a=maxptime: milliseconds; some peers write "20.0", so a
 * fractional part is accepted and dropped. */
static bool parse_ms(struct slice v, unsigned *out)
{
    struct slice ip = v, frac;
    uint64_t n;
    if (split_at(v, '.', &ip, &frac) && frac.len && !to_uint(frac, UINT64_MAX, &n))
        return false;
    if (!to_uint(ip, 1000000, &n))
        return false;
    *out = (unsigned)n;
    return true;
}

/* a=rtcp:<port> [<nettype> <addrtype> <connection-address>] (RFC 3605 §2.1) */
static const char *parse_rtcp(struct sdp_media *m, struct slice v)
{
    struct slice port;
    uint64_t n;
    if (!tok_next(&v, &port) || !to_uint(port, 65535, &n))
        return "Bad SDP rtcp attribute";
    m->rtcp_port = (uint16_t)n;
    m->has_rtcp = true;
    v = slice_trim(v);
    if (v.len) {
        const char *why = parse_conn(&m->rtcp_conn, v);
        if (why)
            return "Bad SDP rtcp attribute";
    }
    return NULL;
}

static bool is_rtp_proto(struct slice proto)
{
    /* RTP/AVP, RTP/SAVP(F), UDP/TLS/RTP/SAVPF, TCP/RTP/AVP, ... */
    for (size_t i = 0; i + 3 <= proto.len; i++)
        if ((i == 0 || proto.p[i - 1] == '/') &&
            slice_caseeq_cstr(slice_make(proto.p + i, 3), "RTP") &&
            (i + 3 == proto.len || proto.p[i + 3] == '/'))
            return true;
    return false;
}

/* m=<media> <port>[/<number of ports>] <proto> <fmt> ... (RFC 4566 §5.14) */
static const char *parse_m(struct sdp_media *m, struct slice v, struct arena *a,
                           const struct sdp_limits *lim)
{
    struct slice port_s, port, cnt, tok, rest;
    uint64_t n;
    if (!tok_next(&v, &m->media) || !tok_next(&v, &port_s) || !tok_next(&v, &m->proto))
        return "Bad SDP media line";
    for (size_t i = 0; i < m->media.len; i++)
        if (!is_token_char(m->media.p[i]))
            return "Bad SDP media type";
    port = port_s;
    m->port_count = 1;
    if (split_at(port_s, '/', &port, &cnt)) {
        if (!to_uint(cnt, 65535, &n) || n == 0)
            return "Bad SDP media port count";
        m->port_count = (unsigned)n;
    }
    if (!to_uint(port, 65535, &n))
        return "Bad SDP media port";
    m->port = (uint16_t)n;

    unsigned count = 0;
    rest = v;
    while (tok_next(&rest, &tok))
        if (++count > lim->max_formats)
            return "Too many SDP formats";
    if (count == 0)
        return "No formats in SDP media line";
    m->fmts = arena_zalloc(a, count * sizeof(*m->fmts));
    if (!m->fmts)
        return "SDP too large";
    bool rtp = is_rtp_proto(m->proto);
    while (tok_next(&v, &tok)) {
        struct sdp_fmt *f = &m->fmts[m->fmt_count++];
        f->fmt = tok;
        f->pt = -1;
        f->channels = 1;
        if (rtp) {
            /* RTP payload types are 7 bits (RFC 3550 §5.1). */
            if (!to_uint(tok, 127, &n))
                return "Bad RTP payload type in SDP media line";
            f->pt = (int)n;
        }
    }
    return NULL;
}

/* a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>] */
static const char *join_rtpmap(struct sdp_media *m, struct slice v)
{
    struct slice pt_s, enc, name, rate, params;
    uint64_t pt, n;
    if (!tok_next(&v, &pt_s) || !to_uint(pt_s, 127, &pt) || !tok_next(&v, &enc))
        return "Bad SDP rtpmap attribute";
    if (!split_at(enc, '/', &name, &rate) || name.len == 0)
        return "Bad SDP rtpmap attribute";
    bool has_params = split_at(rate, '/', &rate, &params);
    if (!to_uint(rate, UINT32_MAX, &n) || n == 0)
        return "Bad clock rate in SDP rtpmap";
    unsigned channels = 1;
    if (has_params) {
        uint64_t ch;
        if (!to_uint(params, 255, &ch) || ch == 0)
            return "Bad channels in SDP rtpmap";
        channels = (unsigned)ch;
    }
    for (unsigned i = 0; i < m->fmt_count; i++) {
        struct sdp_fmt *f = &m->fmts[i];
        /* An rtpmap for a format not on the m= line is ignored; a second
         * one for the same payload type too (first wins). */
        if (f->pt == (int)pt && !f->has_rtpmap) {
            f->has_rtpmap = true;
            f->encoding = name;
            f->clock_rate = (uint32_t)n;
            f->channels = channels;
        }
    }
    return NULL;
}

/* a=fmtp:<format> <format specific parameters> */
static const char *join_fmtp(struct sdp_media *m, struct slice v)
{
    struct slice fmt;
    if (!tok_next(&v, &fmt))
        return "Bad SDP fmtp attribute";
    v = slice_trim(v);
    for (unsigned i = 0; i < m->fmt_count; i++)
        if (slice_eq(m->fmts[i].fmt, fmt) && m->fmts[i].fmtp.p == NULL)
            m->fmts[i].fmtp = v.len ? v : slice_make(v.p, 0);
    return NULL;
}

/* rtpmap and fmtp refer to formats of the m= line; they are joined to
 * them once the section is complete, so their order among the section's
 * attributes does not matter. */
static int finish_media(struct sdp_media *m, const char *body, size_t end, struct sip_err *err)
{
    m->raw = slice_make(body + m->offset, end - m->offset);
    for (unsigned i = 0; i < m->attr_count; i++) {
        const struct sdp_attr *at = &m->attrs[i];
        const char *why = NULL;
        if (slice_caseeq_cstr(at->name, "rtpmap"))
            why = join_rtpmap(m, at->value);
        else if (slice_caseeq_cstr(at->name, "fmtp"))
            why = join_fmtp(m, at->value);
        if (why)
            return bad(err, why, at->offset);
    }
    return SIP_PARSE_OK;
}

/* Counts what will be allocated so the arrays are sized once and the
 * limits are enforced before any allocation. */
static int count_lines(const char *b, size_t len, const struct sdp_limits *lim, unsigned *n_m,
                       unsigned *n_a, unsigned *n_b, unsigned *n_t, struct sip_err *err)
{
    size_t pos = 0;
    struct sdp_line l;
    int rc;
    *n_m = *n_a = *n_b = *n_t = 0;
    while ((rc = next_line(b, len, &pos, &l, err)) == 1) {
        if (l.type == 'm' && ++*n_m > lim->max_media)
            return bad(err, "Too many SDP media sections", l.off);
        if (l.type == 'a' && ++*n_a > lim->max_attrs)
            return bad(err, "Too many SDP attributes", l.off);
        if (l.type == 'b' && ++*n_b > lim->max_bandwidths)
            return bad(err, "Too many SDP bandwidth lines", l.off);
        if (l.type == 't' && ++*n_t > lim->max_times)
            return bad(err, "Too many SDP time lines", l.off);
    }
    return rc < 0 ? rc : SIP_PARSE_OK;
}

static void *alloc_array(struct arena *a, unsigned n, size_t size, bool *fail)
{
    if (n == 0)
        return NULL;
    void *p = arena_zalloc(a, (size_t)n * size);
    if (!p)
        *fail = true;
    return p;
}

/* Parser state shared by the per-line handlers. */
struct sdp_ctx {
    struct sdp *s;
    struct sdp_media *cur; /* NULL at session level */
    struct sdp_time *last_t;
    size_t r_first; /* offset of the first r= after last_t */
    unsigned n_attr, n_bw;
    const struct sdp_limits *lim;
    struct arena *a;
    const char *body;
};

static const char *on_attr(struct sdp_ctx *c, const struct sdp_line *l)
{
    struct sdp_attr *at = &c->s->attr_all[c->n_attr++];
    const char *why = parse_attr(at, l->val);
    if (why)
        return why;
    at->offset = l->off;
    enum sdp_dir d = dir_of(at);
    struct sdp_media *m = c->cur;
    if (m)
        m->attr_count++;
    else
        c->s->attr_count++;
    /* First direction attribute at a level wins; RFC 3264 §5.1 allows one. */
    if (d != SDP_DIR_NONE) {
        enum sdp_dir *dst = m ? &m->dir : &c->s->dir;
        if (*dst == SDP_DIR_NONE)
            *dst = d;
        return NULL;
    }
    if (!m)
        return NULL;
    if (slice_caseeq_cstr(at->name, "rtcp"))
        return parse_rtcp(m, at->value);
    if (slice_caseeq_cstr(at->name, "ptime"))
        return parse_ms(at->value, &m->ptime_ms) ? NULL : "Bad SDP ptime attribute";
    if (slice_caseeq_cstr(at->name, "maxptime"))
        return parse_ms(at->value, &m->maxptime_ms) ? NULL : "Bad SDP maxptime attribute";
    return NULL;
}

static const char *on_session_only(struct sdp_ctx *c, const struct sdp_line *l)
{
    struct sdp *s = c->s;
    const char *why = NULL;
    if (c->cur)
        return "Session-level SDP line in media section";
    switch (l->type) {
    case 'u':
        if (!s->uri.p)
            s->uri = l->val;
        break;
    case 'e':
        if (!s->email.p)
            s->email = l->val;
        break;
    case 'p':
        if (!s->phone.p)
            s->phone = l->val;
        break;
    case 't':
        c->last_t = &s->times[s->time_count++];
        why = parse_time(c->last_t, l->val);
        break;
    case 'r':
        if (!c->last_t)
            return "SDP repeat line without time line";
        why = check_repeat(l->val);
        if (!why) {
            if (c->last_t->repeat_count++ == 0)
                c->r_first = l->off;
            size_t e = l->off + 2 + l->val.len;
            c->last_t->repeats = slice_make(c->body + c->r_first, e - c->r_first);
        }
        break;
    case 'z':
        why = check_zone(l->val);
        if (!why && !s->zone.p)
            s->zone = l->val;
        break;
    }
    return why;
}

static const char *on_line(struct sdp_ctx *c, const struct sdp_line *l)
{
    struct sdp *s = c->s;
    struct sdp_media *m = c->cur;
    const char *why;
    switch (l->type) {
    case 'i':
        if (m ? !m->info.p : !s->info.p)
            *(m ? &m->info : &s->info) = l->val;
        return NULL;
    case 'c': {
        struct sdp_conn tmp = {0};
        if ((why = parse_conn(&tmp, l->val)))
            return why;
        if (!m) {
            /* RFC 4566 §5.7: one c= at session level. */
            if (s->conn.present)
                return "Duplicate session-level SDP connection line";
            s->conn = tmp;
        } else if (m->conn_count++ == 0) {
            m->conn = tmp;
        }
        return NULL;
    }
    case 'b': {
        struct sdp_bw *bw = &s->bw_all[c->n_bw++];
        if ((why = parse_bw(bw, l->val)))
            return why;
        if (m)
            m->bw_count++;
        else
            s->bw_count++;
        return NULL;
    }
    case 'k':
        if (m ? !m->key.p : !s->key.p)
            *(m ? &m->key : &s->key) = l->val;
        return NULL;
    case 'a':
        return on_attr(c, l);
    case 't':
    case 'r':
    case 'z':
    case 'u':
    case 'e':
    case 'p':
        return on_session_only(c, l);
    case 'v':
    case 'o':
    case 's':
        return "Duplicate SDP v=, o= or s= line";
    default:
        /* RFC 4566 §5: a parser MUST ignore a description with a type
         * letter it does not understand; for us that is a rejection. */
        return "Unknown SDP line type";
    }
}

static int start_media(struct sdp_ctx *c, const struct sdp_line *l, struct sip_err *err)
{
    struct sdp *s = c->s;
    if (c->cur) {
        int rc = finish_media(c->cur, c->body, l->off, err);
        if (rc != SIP_PARSE_OK)
            return rc;
    }
    struct sdp_media *m = &s->media[s->media_count++];
    m->offset = l->off;
    m->attrs = s->attr_all ? s->attr_all + c->n_attr : NULL;
    m->bws = s->bw_all ? s->bw_all + c->n_bw : NULL;
    c->cur = m;
    c->last_t = NULL;
    const char *why = parse_m(m, l->val, c->a, c->lim);
    return why ? bad(err, why, l->off) : SIP_PARSE_OK;
}

static int parse_header_lines(struct sdp *s, const struct sdp_line *l, enum sdp_state *st,
                              struct sip_err *err)
{
    const char *why;
    switch (*st) {
    case ST_V:
        if (l->type != 'v')
            return bad(err, "SDP does not start with v=", l->off);
        if (l->val.len != 1 || l->val.p[0] != '0')
            return bad(err, "Unsupported SDP version", l->off);
        s->version = 0;
        *st = ST_O;
        return SIP_PARSE_OK;
    case ST_O:
        if (l->type != 'o')
            return bad(err, "SDP o= line must follow v=", l->off);
        if ((why = parse_origin(&s->origin, l->val)))
            return bad(err, why, l->off);
        *st = ST_S;
        return SIP_PARSE_OK;
    default:
        if (l->type != 's')
            return bad(err, "SDP s= line must follow o=", l->off);
        /* "s= " is the RFC's empty name; a bare "s=" is common enough to
         * accept. */
        s->session_name = l->val;
        *st = ST_SESSION;
        return SIP_PARSE_OK;
    }
}

int sdp_parse(struct sdp *s, struct arena *a, const char *body, size_t len,
              const struct sdp_limits *lim, struct sip_err *err)
{
    const struct sdp_limits def = SDP_LIMITS_DEFAULT;
    unsigned n_m, n_a, n_b, n_t;
    bool fail = false;
    int rc;

    if (!lim)
        lim = &def;
    memset(s, 0, sizeof(*s));
    if (len > lim->max_len)
        return bad(err, "SDP too large", lim->max_len);
    if (len == 0)
        return bad(err, "Empty SDP", 0);
    rc = count_lines(body, len, lim, &n_m, &n_a, &n_b, &n_t, err);
    if (rc != SIP_PARSE_OK)
        return rc;
    s->raw = slice_make(body, len);
    s->media = alloc_array(a, n_m, sizeof(*s->media), &fail);
    s->attr_all = alloc_array(a, n_a, sizeof(*s->attr_all), &fail);
    s->bw_all = alloc_array(a, n_b, sizeof(*s->bw_all), &fail);
    s->times = alloc_array(a, n_t, sizeof(*s->times), &fail);
    if (fail)
        return bad(err, "SDP too large", 0);
    s->attrs = s->attr_all;
    s->bws = s->bw_all;

    struct sdp_ctx c = {.s = s, .lim = lim, .a = a, .body = body};
    enum sdp_state st = ST_V;
    struct sdp_line l;
    size_t pos = 0;
    while ((rc = next_line(body, len, &pos, &l, err)) == 1) {
        if (st != ST_SESSION && st != ST_MEDIA) {
            rc = parse_header_lines(s, &l, &st, err);
            if (rc != SIP_PARSE_OK)
                return rc;
            continue;
        }
        if (l.type == 'm') {
            rc = start_media(&c, &l, err);
            if (rc != SIP_PARSE_OK)
                return rc;
            st = ST_MEDIA;
            continue;
        }
        const char *why = on_line(&c, &l);
        if (why)
            return bad(err, why, l.off);
        /* r= must follow its t= directly or another r= (RFC 4566 §5). */
        if (l.type != 't' && l.type != 'r')
            c.last_t = NULL;
    }
    if (rc < 0)
        return rc;
    if (st != ST_SESSION && st != ST_MEDIA)
        return bad(err, "SDP lacks v=, o= or s= line", len);
    if (c.cur)
        return finish_media(c.cur, body, len, err);
    return SIP_PARSE_OK;
}

const struct sdp_attr *sdp_attr_find(const struct sdp_attr *attrs, unsigned n, const char *name)
{
    for (unsigned i = 0; i < n; i++)
        if (slice_caseeq_cstr(attrs[i].name, name))
            return &attrs[i];
    return NULL;
}

enum sdp_dir sdp_media_dir(const struct sdp *s, const struct sdp_media *m)
{
    if (m->dir != SDP_DIR_NONE)
        return m->dir;
    if (s->dir != SDP_DIR_NONE)
        return s->dir;
    return SDP_DIR_SENDRECV;
}

const struct sdp_conn *sdp_media_conn(const struct sdp *s, const struct sdp_media *m)
{
    if (m->conn.present)
        return &m->conn;
    return s->conn.present ? &s->conn : NULL;
}

const struct sdp_fmt *sdp_media_fmt_by_pt(const struct sdp_media *m, int pt)
{
    for (unsigned i = 0; i < m->fmt_count; i++)
        if (m->fmts[i].pt == pt)
            return &m->fmts[i];
    return NULL;
}

const char *sdp_dir_name(enum sdp_dir d)
{
    switch (d) {
    case SDP_DIR_SENDRECV:
        return "sendrecv";
    case SDP_DIR_SENDONLY:
        return "sendonly";
    case SDP_DIR_RECVONLY:
        return "recvonly";
    case SDP_DIR_INACTIVE:
        return "inactive";
    default:
        return "";
    }
}
