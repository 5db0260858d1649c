/* SPDX-License-Identifier: BSD-2-Clause */
/* Edit list over a received message and its flat and iovec printers. */
#include "sip/print.h"
#include "sip/parse_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

static size_t off_of(const struct sipedit *e, const char *p)
{
    /* Every slice of a parsed message points into its buffer. */
    SW_ASSERT(p >= e->m->buf && p <= e->m->buf + e->m->len);
    return (size_t)(p - e->m->buf);
}

/* An insertion (empty range) may sit at either end of a range edit but not
 * strictly inside it; two non-empty ranges may touch but not share bytes. */
static bool overlaps(size_t s, size_t en, const struct sipedit_op *o)
{
    if (s < en && o->start < o->end)
        return s < o->end && o->start < en;
    if (s == en)
        return o->start < s && s < o->end;
    return s < o->start && o->start < en;
}

/* Sort key: start; then insertions that complete the text before them
 * (";rport" + "=5060" must stay glued even if ";received=" was appended
 * at the same point first); then other insertions; then a range starting
 * there; ties in order of addition. */
static int op_class(const struct sipedit_op *o)
{
    if (o->start != o->end)
        return 2;
    return o->binds_left ? 0 : 1;
}

static bool op_before(const struct sipedit_op *a, const struct sipedit_op *b)
{
    if (a->start != b->start)
        return a->start < b->start;
    if (op_class(a) != op_class(b))
        return op_class(a) < op_class(b);
    return a->seq < b->seq;
}

/* Records the replacement of [start, end) by the concatenation of parts,
 * copied into the arena. The list is kept sorted so printing is one pass. */
static int add_op_ex(struct sipedit *e, size_t start, size_t end, const struct slice *parts,
                     unsigned n, bool binds_left)
{
    if (start > end || end > e->msg_len)
        return -EINVAL;
    for (unsigned i = 0; i < e->count; i++)
        if (overlaps(start, end, &e->ops[i]))
            return -EINVAL;
    if (e->count == SIPEDIT_MAX)
        return -ENOSPC;
    size_t total = 0;
    for (unsigned i = 0; i < n; i++)
        total += parts[i].len;
    char *t = NULL;
    if (total) {
        t = arena_alloc(e->a, total);
        if (!t)
            return -ENOMEM;
        size_t k = 0;
        for (unsigned i = 0; i < n; i++) {
            if (parts[i].len)
                memcpy(t + k, parts[i].p, parts[i].len);
            k += parts[i].len;
        }
    }
    struct sipedit_op op = {start, end, slice_make(t, total), e->seq++, binds_left};
    unsigned pos = e->count;
    while (pos > 0 && op_before(&op, &e->ops[pos - 1])) {
        e->ops[pos] = e->ops[pos - 1];
        pos--;
    }
    e->ops[pos] = op;
    e->count++;
    return 0;
}

static int add_op(struct sipedit *e, size_t start, size_t end, const struct slice *parts,
                  unsigned n)
{
    return add_op_ex(e, start, end, parts, n, false);
}

static int replace_slice(struct sipedit *e, struct slice range, const struct slice *parts,
                         unsigned n)
{
    size_t s = off_of(e, range.p);
    return add_op(e, s, s + range.len, parts, n);
}

void sipedit_init(struct sipedit *e, const struct sipmsg *m, struct arena *a)
{
    memset(e, 0, sizeof(*e));
    e->m = m;
    e->a = a;
    /* Bytes past Content-Length in a datagram are not part of the message
     * (RFC 3261 §18.3) and are not forwarded. */
    e->msg_len = SW_MIN(m->head_len + m->body.len, m->len);
}

int sipedit_ruri_set(struct sipedit *e, struct slice uri)
{
    if (!e->m->is_request || !e->m->ruri_s.p || uri.len == 0 || sw_has_line_break(uri) ||
        memchr(uri.p, ' ', uri.len) || memchr(uri.p, '\t', uri.len))
        return -EINVAL;
    return replace_slice(e, e->m->ruri_s, &uri, 1);
}

int sipedit_hdr_remove(struct sipedit *e, unsigned idx)
{
    if (idx >= e->m->hdr_count)
        return -EINVAL;
    return replace_slice(e, e->m->hdrs[idx].raw, NULL, 0);
}

int sipedit_hdr_set_value(struct sipedit *e, unsigned idx, struct slice value)
{
    if (idx >= e->m->hdr_count || sw_has_line_break(value))
        return -EINVAL;
    return replace_slice(e, e->m->hdrs[idx].value, &value, 1);
}

/* Offset of the first header field: just after the start line. */
static size_t hdr_top(const struct sipedit *e)
{
    const struct sipmsg *m = e->m;
    if (m->hdr_count)
        return off_of(e, m->hdrs[0].raw.p);
    const char *nl = memchr(m->buf, '\n', e->msg_len);
    return nl ? (size_t)(nl - m->buf) + 1 : e->msg_len;
}

/* Offset of the empty line that ends the header block. */
static size_t hdr_end(const struct sipedit *e)
{
    const struct sipmsg *m = e->m;
    if (m->hdr_count) {
        const struct sip_hdr *h = &m->hdrs[m->hdr_count - 1];
        return off_of(e, h->raw.p) + h->raw.len;
    }
    return hdr_top(e);
}

int sipedit_hdr_insert(struct sipedit *e, int before, struct slice name, struct slice value)
{
    size_t at;
    if (!sw_token_valid(name) || sw_has_line_break(value))
        return -EINVAL;
    if (before == SIPEDIT_HDR_TOP)
        at = hdr_top(e);
    else if (before == SIPEDIT_HDR_END)
        at = hdr_end(e);
    else if (before >= 0 && (unsigned)before < e->m->hdr_count)
        at = off_of(e, e->m->hdrs[before].raw.p);
    else
        return -EINVAL;
    struct slice parts[] = {name, SLICE_LIT(": "), value, SLICE_LIT("\r\n")};
    return add_op(e, at, at, parts, SW_ARRAY_LEN(parts));
}

int sipedit_hdr_remove_first_value(struct sipedit *e, unsigned idx)
{
    if (idx >= e->m->hdr_count)
        return -EINVAL;
    const struct sip_hdr *h = &e->m->hdrs[idx];
    struct slice rest = h->value, first, second;
    /* RFC 3261 §7.3.1: "Via: a, b" is the same as two Via lines; removing
     * "a, " leaves a field with the remaining values, bytes untouched. */
    if (!hdr_list_next(&rest, &first) || !hdr_list_next(&rest, &second))
        return sipedit_hdr_remove(e, idx);
    size_t s = off_of(e, h->value.p);
    return add_op(e, s, off_of(e, second.p), NULL, 0);
}

int sipedit_via_push(struct sipedit *e, struct slice value)
{
    uint16_t first = e->m->first[HDR_VIA];
    return sipedit_hdr_insert(e, first == SIP_HDR_NONE ? SIPEDIT_HDR_TOP : (int)first,
                              SLICE_LIT("Via"), value);
}

int sipedit_via_pop(struct sipedit *e)
{
    uint16_t first = e->m->first[HDR_VIA];
    if (first == SIP_HDR_NONE)
        return -ENOENT;
    return sipedit_hdr_remove_first_value(e, first);
}

static bool is_lws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool sipedit_param_locate(struct slice params, const char *name, struct slice *pname,
                          struct slice *pvalue, bool *has_value)
{
    const char *p = params.p;
    size_t n = params.len, i = 0;
    while (i < n) {
        while (i < n && is_lws(p[i]))
            i++;
        size_t ns = i;
        while (i < n && p[i] != '=' && p[i] != ';' && !is_lws(p[i]))
            i++;
        size_t ne = i, vs = ne, ve = ne;
        bool eq = false;
        while (i < n && is_lws(p[i]))
            i++;
        if (i < n && p[i] == '=') {
            eq = true;
            i++;
            while (i < n && is_lws(p[i]))
                i++;
            vs = i;
            if (i < n && p[i] == '"') {
                /* quoted-string with \-escapes (RFC 3261 §25.1) */
                for (i++; i < n && p[i] != '"'; i++)
                    if (p[i] == '\\' && i + 1 < n)
                        i++;
                if (i < n)
                    i++;
            } else {
                while (i < n && p[i] != ';' && !is_lws(p[i]))
                    i++;
            }
            ve = i;
        }
        if (ne > ns && slice_caseeq_cstr(slice_make(p + ns, ne - ns), name)) {
            *pname = slice_make(p + ns, ne - ns);
            *pvalue = slice_make(p + vs, ve - vs);
            *has_value = eq;
            return true;
        }
        while (i < n && p[i] != ';')
            i++;
        if (i < n)
            i++;
    }
    return false;
}

/* Compares two hosts as addresses when both are IP literals (so "::1" and
 * "0:0::1" match), else as case-insensitive text. */
static bool host_same(struct slice a, struct slice b)
{
    char ta[INET6_ADDRSTRLEN + 1], tb[INET6_ADDRSTRLEN + 1];
    unsigned char ba[16], bb[16];
    if (a.len >= 2 && a.p[0] == '[' && a.p[a.len - 1] == ']')
        a = slice_make(a.p + 1, a.len - 2);
    if (b.len >= 2 && b.p[0] == '[' && b.p[b.len - 1] == ']')
        b = slice_make(b.p + 1, b.len - 2);
    if (a.len < sizeof(ta) && b.len < sizeof(tb)) {
        memcpy(ta, a.p, a.len);
        ta[a.len] = '\0';
        memcpy(tb, b.p, b.len);
        tb[b.len] = '\0';
        int af = memchr(a.p, ':', a.len) ? AF_INET6 : AF_INET;
        if (inet_pton(af, ta, ba) == 1 && inet_pton(af, tb, bb) == 1)
            return memcmp(ba, bb, af == AF_INET6 ? 16 : 4) == 0;
    }
    return slice_caseeq(a, b);
}

bool sipedit_via_needs_received(const struct sip_via *v, struct slice src_ip)
{
    /* RFC 3581 §4: with rport the server MUST add received even when it
     * equals sent-by; RFC 3261 §18.2.1: otherwise only when they differ. */
    return v->has_rport || !host_same(v->host, src_ip);
}

int sipedit_via_set_param(struct sipedit *e, const char *name, struct slice value)
{
    const struct sip_via *v = &e->m->via1;
    struct slice pname, pvalue, n = slice_cstr(name);
    bool has_value;
    if (!e->m->has_via || !v->raw.p)
        return -ENOENT;
    if (!sw_token_valid(n) || sw_has_line_break(value) ||
        memchr(value.p ? value.p : "", ';', value.len) ||
        memchr(value.p ? value.p : "", ',', value.len))
        return -EINVAL;
    if (v->params.p && sipedit_param_locate(v->params, name, &pname, &pvalue, &has_value)) {
        if (has_value)
            return value.len ? replace_slice(e, pvalue, &value, 1) : 0;
        if (!value.len)
            return 0;
        struct slice parts[] = {SLICE_LIT("="), value};
        size_t at = off_of(e, pname.p) + pname.len;
        return add_op_ex(e, at, at, parts, SW_ARRAY_LEN(parts), true);
    }
    struct slice parts[] = {SLICE_LIT(";"), n, SLICE_LIT("="), value};
    size_t at = off_of(e, v->raw.p) + v->raw.len;
    return add_op(e, at, at, parts, value.len ? 4 : 2);
}

int sipedit_via_received(struct sipedit *e, struct slice src_ip, uint16_t src_port)
{
    const struct sip_via *v = &e->m->via1;
    struct sipedit saved;
    char port[8];
    int rc = 0;
    if (!e->m->has_via)
        return -ENOENT;
    if (src_ip.len == 0)
        return -EINVAL;
    saved = *e; /* all or nothing */
    if (sipedit_via_needs_received(v, src_ip))
        rc = sipedit_via_set_param(e, "received", src_ip);
    if (rc == 0 && v->has_rport) {
        int n = snprintf(port, sizeof(port), "%u", (unsigned)src_port);
        rc = sipedit_via_set_param(e, "rport", slice_make(port, (size_t)n));
    }
    if (rc != 0)
        *e = saved;
    return rc;
}

static int set_or_add(struct sipedit *e, enum hdr_id id, struct slice name, struct slice value)
{
    uint16_t idx = e->m->first[id];
    if (idx != SIP_HDR_NONE)
        return sipedit_hdr_set_value(e, idx, value);
    return sipedit_hdr_insert(e, SIPEDIT_HDR_END, name, value);
}

int sipedit_body_set(struct sipedit *e, struct slice content_type, struct slice body)
{
    struct sipedit saved = *e; /* all or nothing */
    char num[24];
    int rc, n = snprintf(num, sizeof(num), "%zu", body.len);
    if (sw_has_line_break(content_type))
        return -EINVAL;
    size_t hl = SW_MIN(e->m->head_len, e->msg_len);
    rc = add_op(e, hl, e->msg_len, &body, 1);
    if (rc == 0)
        rc = set_or_add(e, HDR_CONTENT_LENGTH, SLICE_LIT("Content-Length"),
                        slice_make(num, (size_t)n));
    if (rc == 0 && body.len && content_type.len)
        rc = set_or_add(e, HDR_CONTENT_TYPE, SLICE_LIT("Content-Type"), content_type);
    if (rc == 0 && body.len == 0) {
        const struct sip_hdr *h = sipmsg_hdr_first(e->m, HDR_CONTENT_TYPE);
        for (; h && rc == 0; h = sipmsg_hdr_next(e->m, h))
            rc = sipedit_hdr_remove(e, (unsigned)(h - e->m->hdrs));
    }
    if (rc != 0)
        *e = saved;
    return rc;
}

int sipedit_content_length_fix(struct sipedit *e)
{
    char num[24];
    if (e->m->first[HDR_CONTENT_LENGTH] != SIP_HDR_NONE)
        return 0;
    int n = snprintf(num, sizeof(num), "%zu", e->m->body.len);
    return sipedit_hdr_insert(e, SIPEDIT_HDR_END, SLICE_LIT("Content-Length"),
                              slice_make(num, (size_t)n));
}

size_t sipedit_len(const struct sipedit *e)
{
    size_t len = e->msg_len;
    for (unsigned i = 0; i < e->count; i++)
        len = len - (e->ops[i].end - e->ops[i].start) + e->ops[i].text.len;
    return len;
}

ssize_t sipedit_print(const struct sipedit *e, char *out, size_t cap)
{
    size_t need = sipedit_len(e), pos = 0, k = 0;
    if (need > cap || need > SSIZE_MAX)
        return -EMSGSIZE;
    for (unsigned i = 0; i < e->count; i++) {
        const struct sipedit_op *o = &e->ops[i];
        memcpy(out + k, e->m->buf + pos, o->start - pos);
        k += o->start - pos;
        if (o->text.len)
            memcpy(out + k, o->text.p, o->text.len);
        k += o->text.len;
        pos = o->end;
    }
    memcpy(out + k, e->m->buf + pos, e->msg_len - pos);
    k += e->msg_len - pos;
    SW_ASSERT(k == need);
    return (ssize_t)k;
}

int sipedit_print_iov(const struct sipedit *e, struct iovec *iov, unsigned cap)
{
    unsigned n = 0;
    size_t pos = 0;
    for (unsigned i = 0; i <= e->count; i++) {
        size_t start = i < e->count ? e->ops[i].start : e->msg_len;
        if (start > pos) {
            if (n == cap)
                return -EMSGSIZE;
            /* sendmsg only reads: the const is cast away for struct iovec */
            iov[n++] = (struct iovec){(void *)(e->m->buf + pos), start - pos};
        }
        if (i == e->count)
            break;
        if (e->ops[i].text.len) {
            if (n == cap)
                return -EMSGSIZE;
            iov[n++] = (struct iovec){(void *)e->ops[i].text.p, e->ops[i].text.len};
        }
        pos = e->ops[i].end;
    }
    return (int)n;
}
