/* SPDX-License-Identifier: BSD-2-Clause */
/* The message block and its single-pass parser (RFC 3261 §7, §20, §25). */
#include "sip/sipmsg.h"

#include "sip/parse_int.h"

#include <errno.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* ---- methods ---------------------------------------------------------- */

static const char *const method_names[] = {
    [SIP_METHOD_OTHER] = "",   [SIP_INVITE] = "INVITE",       [SIP_ACK] = "ACK",
    [SIP_BYE] = "BYE",         [SIP_CANCEL] = "CANCEL",       [SIP_REGISTER] = "REGISTER",
    [SIP_OPTIONS] = "OPTIONS", [SIP_INFO] = "INFO",           [SIP_PRACK] = "PRACK",
    [SIP_UPDATE] = "UPDATE",   [SIP_SUBSCRIBE] = "SUBSCRIBE", [SIP_NOTIFY] = "NOTIFY",
    [SIP_REFER] = "REFER",     [SIP_MESSAGE] = "MESSAGE",     [SIP_PUBLISH] = "PUBLISH",
};

static bool method_is(struct slice s, enum sip_method m)
{
    return memcmp(s.p, method_names[m], s.len) == 0;
}

enum sip_method sip_method_lookup(struct slice s)
{
    /* RFC 3261 §7.1: the method is case-sensitive. */
    if (s.len < 3)
        return SIP_METHOD_OTHER;
    switch (s.len) {
    case 3:
        return s.p[0] == 'A' && method_is(s, SIP_ACK)   ? SIP_ACK
               : s.p[0] == 'B' && method_is(s, SIP_BYE) ? SIP_BYE
                                                        : SIP_METHOD_OTHER;
    case 4:
        return method_is(s, SIP_INFO) ? SIP_INFO : SIP_METHOD_OTHER;
    case 5:
        return s.p[0] == 'P' && method_is(s, SIP_PRACK)   ? SIP_PRACK
               : s.p[0] == 'R' && method_is(s, SIP_REFER) ? SIP_REFER
                                                          : SIP_METHOD_OTHER;
    case 6:
        switch (s.p[0]) {
        case 'I':
            return method_is(s, SIP_INVITE) ? SIP_INVITE : SIP_METHOD_OTHER;
        case 'C':
            return method_is(s, SIP_CANCEL) ? SIP_CANCEL : SIP_METHOD_OTHER;
        case 'U':
            return method_is(s, SIP_UPDATE) ? SIP_UPDATE : SIP_METHOD_OTHER;
        case 'N':
            return method_is(s, SIP_NOTIFY) ? SIP_NOTIFY : SIP_METHOD_OTHER;
        default:
            return SIP_METHOD_OTHER;
        }
    case 7:
        switch (s.p[0]) {
        case 'O':
            return method_is(s, SIP_OPTIONS) ? SIP_OPTIONS : SIP_METHOD_OTHER;
        case 'M':
            return method_is(s, SIP_MESSAGE) ? SIP_MESSAGE : SIP_METHOD_OTHER;
        case 'P':
            return method_is(s, SIP_PUBLISH) ? SIP_PUBLISH : SIP_METHOD_OTHER;
        default:
            return SIP_METHOD_OTHER;
        }
    case 8:
        return method_is(s, SIP_REGISTER) ? SIP_REGISTER : SIP_METHOD_OTHER;
    case 9:
        return method_is(s, SIP_SUBSCRIBE) ? SIP_SUBSCRIBE : SIP_METHOD_OTHER;
    default:
        return SIP_METHOD_OTHER;
    }
}

const char *sip_method_name(enum sip_method m)
{
    return (unsigned)m < SW_ARRAY_LEN(method_names) ? method_names[m] : "";
}

/* ---- the block -------------------------------------------------------- */

struct sipmsg *sipmsg_new(const char *data, size_t len, const struct sip_limits *lim)
{
    if (len > lim->max_msg_size) {
        errno = EMSGSIZE;
        return NULL;
    }
    /* Header indexes are uint16_t with UINT16_MAX meaning "none". */
    unsigned cap = SW_MIN(lim->max_headers, (unsigned)SIP_HDR_NONE - 1);
    /* Every header field ends with a LF (or is the unterminated last line),
     * so the line count bounds the index: a typical message needs 20
     * entries, not max_headers (128 x 56 bytes), which matters for the
     * thousands of messages transactions keep for Timer J/H. */
    size_t lines = 1;
    for (const char *p = data, *end = data + len;
         lines < cap && (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++)
        lines++;
    cap = (unsigned)SW_MIN((size_t)cap, lines);
    size_t fixed = sizeof(struct sipmsg) + (size_t)cap * sizeof(struct sip_hdr) + 1;
    if (len > SIZE_MAX - fixed) {
        errno = EMSGSIZE;
        return NULL;
    }
    struct sipmsg *m = malloc(fixed + len);
    if (!m) {
        errno = ENOMEM;
        return NULL;
    }
    memset(m, 0, sizeof(*m));
    atomic_init(&m->refs, 1u);
    m->max_via = lim->max_via;
    /* struct sipmsg ends on a pointer-aligned boundary, so the index can
     * follow it directly; the bytes come last (one extra NUL for
     * debuggers, never relied on by the parser). */
    m->hdrs = (struct sip_hdr *)(void *)(m + 1);
    m->hdr_cap = cap;
    char *b = (char *)(void *)(m->hdrs + cap);
    if (len)
        memcpy(b, data, len);
    b[len] = '\0';
    m->buf = b;
    m->len = len;
    memset(m->first, 0xff, sizeof(m->first));
    memset(m->last, 0xff, sizeof(m->last));
    m->max_forwards = -1;
    m->content_length = -1;
    return m;
}

struct sipmsg *sipmsg_ref(struct sipmsg *m)
{
    if (m)
        atomic_fetch_add_explicit(&m->refs, 1u, memory_order_relaxed);
    return m;
}

void sipmsg_unref(struct sipmsg *m)
{
    if (!m)
        return;
    if (atomic_fetch_sub_explicit(&m->refs, 1u, memory_order_acq_rel) == 1u)
        free(m);
}

/* ---- parsing ---------------------------------------------------------- */

struct pstate {
    struct sipmsg *m;
    struct sip_err *err;
    bool failed;
};

/* Records the first error only; the parse goes on so that the has_*
 * flags describe every field a 400 needs. */
static void note(struct pstate *st, const char *at, const char *reason)
{
    if (st->failed)
        return;
    st->failed = true;
    if (st->err) {
        st->err->reason = reason;
        st->err->offset = (size_t)(at - st->m->buf);
    }
}

static void parse_status_line(struct pstate *st, const char *p, size_t len)
{
    /* Status-Line = SIP-Version SP Status-Code SP Reason-Phrase */
    struct sipmsg *m = st->m;
    m->is_request = false;
    if (len < 7 || memcmp(p, "SIP/2.0", 7) != 0) {
        note(st, p, "Bad SIP-Version");
        return;
    }
    m->version = slice_make(p, 7);
    if (len < 11 || p[7] != ' ' || p[8] < '1' || p[8] > '6' || p[9] < '0' || p[9] > '9' ||
        p[10] < '0' || p[10] > '9' || (len > 11 && p[11] != ' ')) {
        note(st, p, "Bad status line");
        return;
    }
    m->status =
        (unsigned)(p[8] - '0') * 100 + (unsigned)(p[9] - '0') * 10 + (unsigned)(p[10] - '0');
    size_t r = len > 11 ? 12 : 11;
    for (size_t i = r; i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            note(st, p + i, "Bad Reason-Phrase");
            return;
        }
    }
    m->reason = slice_make(p + r, len - r);
}

static void parse_request_line(struct pstate *st, const char *p, size_t len)
{
    /* Request-Line = Method SP Request-URI SP SIP-Version; RFC 4475
     * §3.1.2.8-10: no extra SP anywhere. */
    struct sipmsg *m = st->m;
    m->is_request = true;
    size_t n = sw_span(p, len, CC_TOKEN, false);
    if (n == 0 || n >= len || p[n] != ' ') {
        note(st, p + n, "Bad Request-Line");
        return;
    }
    m->method_name = slice_make(p, n);
    m->method = sip_method_lookup(m->method_name);
    const char *u = p + n + 1;
    const char *sp = memchr(u, ' ', (size_t)(p + len - u));
    if (!sp || sp == u) {
        note(st, u, "Bad Request-Line");
        return;
    }
    m->ruri_s = slice_make(u, (size_t)(sp - u));
    struct slice ver = slice_make(sp + 1, (size_t)(p + len - sp - 1));
    if (memchr(ver.p, ' ', ver.len) || memchr(ver.p, '\t', ver.len)) {
        note(st, sp, "Bad Request-Line");
        return;
    }
    if (ver.len != 7 || memcmp(ver.p, "SIP/2.0", 7) != 0) {
        note(st, ver.p, "Bad SIP-Version");
        return;
    }
    m->version = ver;
    struct sip_err uerr;
    if (uri_parse(&m->ruri, m->ruri_s, &uerr) != SIP_PARSE_OK) {
        note(st, u + uerr.offset, "Bad Request-URI");
        return;
    }
    /* RFC 3261 §19.1.1 table: headers are not allowed in a Request-URI
     * (RFC 4475 §3.1.2.11). */
    if (m->ruri.headers.len) {
        note(st, m->ruri.headers.p, "Bad Request-URI");
        return;
    }
}

bool sw_call_id_valid(struct slice v)
{
    /* callid = word [ "@" word ] */
    size_t n = sw_span(v.p, v.len, CC_WORD, false);
    if (n == 0)
        return false;
    if (n == v.len)
        return true;
    if (v.p[n] != '@')
        return false;
    size_t k = sw_span(v.p + n + 1, v.len - n - 1, CC_WORD, false);
    return k > 0 && n + 1 + k == v.len;
}

static void eager_via(struct pstate *st, const struct sip_hdr *h)
{
    struct sipmsg *m = st->m;
    struct slice rest = h->value, item;
    bool any = false;
    while (hdr_list_next(&rest, &item)) {
        any = true;
        if (++m->via_count > m->max_via) {
            note(st, item.p, "Too many Via");
            return;
        }
        if (m->via_count == 1) {
            struct sip_err e;
            if (hdr_parse_via(&m->via1, item, &e) == SIP_PARSE_OK)
                m->has_via = true;
            else
                note(st, item.p + e.offset, "Bad Via");
        }
    }
    if (!any)
        note(st, h->value.p, "Bad Via");
}

static void eager_nameaddr(struct pstate *st, const struct sip_hdr *h, bool dup,
                           struct sip_nameaddr *na, bool *has, const char *dup_reason,
                           const char *bad_reason)
{
    if (dup) {
        note(st, h->name.p, dup_reason);
        return;
    }
    struct sip_err e;
    if (hdr_parse_nameaddr(na, h->value, &e) == SIP_PARSE_OK && !na->is_star)
        *has = true;
    else
        note(st, h->value.p, bad_reason);
}

static void eager(struct pstate *st, struct sip_hdr *h, bool dup)
{
    struct sipmsg *m = st->m;
    struct sip_err e;
    uint64_t v;
    switch (h->id) {
    case HDR_VIA:
        eager_via(st, h);
        break;
    case HDR_FROM:
        eager_nameaddr(st, h, dup, &m->from, &m->has_from, "Duplicate From", "Bad From");
        break;
    case HDR_TO:
        eager_nameaddr(st, h, dup, &m->to, &m->has_to, "Duplicate To", "Bad To");
        break;
    case HDR_CALL_ID:
        if (dup) {
            note(st, h->name.p, "Duplicate Call-ID");
        } else if (sw_call_id_valid(h->value)) {
            m->call_id = h->value;
            m->has_call_id = true;
        } else {
            note(st, h->value.p, "Bad Call-ID");
        }
        break;
    case HDR_CSEQ:
        if (dup)
            note(st, h->name.p, "Duplicate CSeq");
        else if (hdr_parse_cseq(&m->cseq, h->value, &e) == SIP_PARSE_OK)
            m->has_cseq = true;
        else
            note(st, h->value.p + e.offset, "Bad CSeq");
        break;
    case HDR_MAX_FORWARDS:
        if (dup)
            note(st, h->name.p, "Duplicate Max-Forwards");
        else if (sw_parse_uint(h->value, 255, &v))
            m->max_forwards = (int)v;
        else
            note(st, h->value.p, "Bad Max-Forwards");
        break;
    case HDR_CONTENT_LENGTH:
        /* Bounded well above any message size limit; a larger value can
         * never be satisfied anyway. */
        if (!sw_parse_uint(h->value, 0x7fffffff, &v))
            note(st, h->value.p, "Bad Content-Length");
        else if (m->content_length >= 0 && (uint64_t)m->content_length != v)
            note(st, h->name.p, "Duplicate Content-Length");
        else
            m->content_length = (long)v;
        break;
    default:
        break;
    }
}

static void reset(struct sipmsg *m)
{
    unsigned cap = m->hdr_cap;
    size_t off = offsetof(struct sipmsg, is_request);
    memset((char *)m + off, 0, sizeof(*m) - off);
    m->hdr_cap = cap;
    m->hdrs = (struct sip_hdr *)(void *)(m + 1);
    memset(m->first, 0xff, sizeof(m->first));
    memset(m->last, 0xff, sizeof(m->last));
    m->max_forwards = -1;
    m->content_length = -1;
}

/* Splits the header section into the index; returns false when a limit
 * stops the parse. */
static bool parse_headers(struct pstate *st, size_t pos)
{
    struct sipmsg *m = st->m;
    const char *p = m->buf;
    size_t len = m->len;
    for (;;) {
        if (pos >= len || (p[pos] == '\r' && pos + 1 == len)) {
            /* No empty line: tolerated at the end of a datagram (RFC 5118
             * §4.10 messages end this way); sip_frame() never hands such
             * a message over from a stream. */
            m->head_len = len;
            return true;
        }
        if (p[pos] == '\n') {
            m->head_len = pos + 1;
            return true;
        }
        if (p[pos] == '\r' && p[pos + 1] == '\n') {
            m->head_len = pos + 2;
            return true;
        }
        size_t start = pos;
        /* RFC 3261 §7.3.1: a line starting with SP/HTAB continues the
         * field; bare LF line ends are tolerated (§7.5). */
        const char *nl = memchr(p + pos, '\n', len - pos);
        while (nl && nl + 1 < p + len && (nl[1] == ' ' || nl[1] == '\t'))
            nl = memchr(nl + 1, '\n', (size_t)(p + len - nl - 1));
        size_t vend = nl ? (size_t)(nl - p) : len;
        pos = nl ? vend + 1 : len;
        size_t n = sw_span(p + start, vend - start, CC_TOKEN, false);
        size_t c = start + n;
        while (c < vend && (p[c] == ' ' || p[c] == '\t'))
            c++;
        if (n == 0 || c >= vend || p[c] != ':') {
            note(st, p + start, "Bad header line");
            continue;
        }
        if (m->hdr_count >= m->hdr_cap) {
            note(st, p + start, "Too many headers");
            return false;
        }
        uint16_t idx = (uint16_t)m->hdr_count++;
        struct sip_hdr *h = &m->hdrs[idx];
        h->name = slice_make(p + start, n);
        h->value = slice_trim(slice_make(p + c + 1, vend - c - 1));
        h->raw = slice_make(p + start, pos - start);
        h->id = (uint16_t)hdr_id_lookup(h->name.p, n);
        h->next = SIP_HDR_NONE;
        bool dup = m->first[h->id] != SIP_HDR_NONE;
        if (dup)
            m->hdrs[m->last[h->id]].next = idx;
        else
            m->first[h->id] = idx;
        m->last[h->id] = idx;
        eager(st, h, dup);
    }
}

int sipmsg_parse(struct sipmsg *m, struct sip_err *err)
{
    struct pstate st = {m, err, false};
    reset(m);
    const char *p = m->buf;
    size_t len = m->len, pos = 0;
    /* RFC 3261 §7.5: CRLFs before the start line are ignored. */
    while (pos < len && (p[pos] == '\r' || p[pos] == '\n'))
        pos++;
    if (pos == len) {
        note(&st, p + pos, "Empty message");
        return SIP_PARSE_BAD;
    }
    const char *nl = memchr(p + pos, '\n', len - pos);
    size_t eol = nl ? (size_t)(nl - p) : len;
    size_t llen = eol - pos;
    if (llen && p[pos + llen - 1] == '\r')
        llen--;
    if (llen >= 4 && memcmp(p + pos, "SIP/", 4) == 0)
        parse_status_line(&st, p + pos, llen);
    else
        parse_request_line(&st, p + pos, llen);

    if (!parse_headers(&st, nl ? eol + 1 : len))
        return SIP_PARSE_BAD;

    /* RFC 3261 §8.1.1: the fields every request and response carries */
    if (m->first[HDR_VIA] == SIP_HDR_NONE)
        note(&st, p + m->head_len, "Missing Via");
    if (m->first[HDR_FROM] == SIP_HDR_NONE)
        note(&st, p + m->head_len, "Missing From");
    if (m->first[HDR_TO] == SIP_HDR_NONE)
        note(&st, p + m->head_len, "Missing To");
    if (m->first[HDR_CALL_ID] == SIP_HDR_NONE)
        note(&st, p + m->head_len, "Missing Call-ID");
    if (m->first[HDR_CSEQ] == SIP_HDR_NONE)
        note(&st, p + m->head_len, "Missing CSeq");
    /* RFC 3261 §8.1.1.7 / RFC 4475 §3.1.2.17 */
    if (m->is_request && m->has_cseq && m->method_name.len &&
        !slice_eq(m->cseq.method_s, m->method_name))
        note(&st, m->cseq.method_s.p, "CSeq method does not match");

    /* Datagram body rules, RFC 3261 §18.3 */
    size_t avail = len - m->head_len;
    if (m->content_length >= 0) {
        if ((size_t)m->content_length > avail)
            note(&st, p + m->head_len, "Content-Length larger than body");
        else
            m->body = slice_make(p + m->head_len, (size_t)m->content_length);
    } else {
        m->body = slice_make(p + m->head_len, avail);
    }
    return st.failed ? SIP_PARSE_BAD : SIP_PARSE_OK;
}

bool sipmsg_can_reply(const struct sipmsg *m)
{
    return m->is_request && m->method != SIP_ACK && m->has_via && m->has_from && m->has_to &&
           m->has_call_id && m->has_cseq;
}

const struct sip_hdr *sipmsg_hdr_by_name(const struct sipmsg *m, struct slice name)
{
    enum hdr_id id = hdr_id_lookup(name.p, name.len);
    if (id != HDR_OTHER)
        return sipmsg_hdr_first(m, id);
    for (const struct sip_hdr *h = sipmsg_hdr_first(m, HDR_OTHER); h; h = sipmsg_hdr_next(m, h))
        if (slice_caseeq(h->name, name))
            return h;
    return NULL;
}
