/* SPDX-License-Identifier: BSD-2-Clause */
/* In-place parsers for header values: lists, parameters, Via, name-addr, CSeq. */
#include "sip/hdr.h"

#include "sip/parse_int.h"
#include "sip/sipmsg.h"

#include <string.h>

static int fail(struct sip_err *err, struct slice base, const char *at, const char *reason)
{
    if (err) {
        err->reason = reason;
        err->offset = (size_t)(at - base.p);
    }
    return SIP_PARSE_BAD;
}

/* Bytes that change the state of the list splitter. */
static const bool list_special[256] = {
    [','] = true, ['"'] = true, ['<'] = true, ['>'] = true, ['\\'] = true,
};

bool hdr_list_next(struct slice *rest, struct slice *item)
{
    const char *p = rest->p;
    size_t len = rest->len, i = 0;
    /* Empty elements ("a,,b") are skipped, as RFC 3261 §7.3.1 lists
     * inherit the HTTP #rule that tolerates them. */
    while (i < len && (cc_lws(p[i]) || p[i] == ','))
        i++;
    if (i >= len) {
        rest->p = p + len;
        rest->len = 0;
        return false;
    }
    size_t start = i;
    bool quoted = false, angle = false;
    for (; i < len; i++) {
        /* skip ordinary bytes with one table lookup each */
        while (i < len && !list_special[(unsigned char)p[i]])
            i++;
        if (i >= len)
            break;
        char c = p[i];
        if (quoted) {
            if (c == '\\' && i + 1 < len)
                i++;
            else if (c == '"')
                quoted = false;
            continue;
        }
        if (c == '"')
            quoted = true;
        else if (c == '<')
            angle = true;
        else if (c == '>')
            angle = false;
        else if (c == ',' && !angle)
            break;
    }
    *item = slice_trim(slice_make(p + start, i - start));
    if (i < len)
        i++; /* the comma */
    rest->p = p + i;
    rest->len = len - i;
    return true;
}

/*
 * Next generic parameter of a header (RFC 3261 §25.1 generic-param,
 * SEMI = SWS ";" SWS, EQUAL = SWS "=" SWS). *pos indexes s, just after a
 * ';' (or at 0 for the first). Returns 1 with name/value, 0 at the end, -1
 * on a syntax error. Values: token, host (IPv6 with or without brackets,
 * which RFC 5118 §4.5 shows for received=) or quoted-string (quotes kept).
 */
static int gparam_next(struct slice s, size_t *pos, struct slice *name, struct slice *value)
{
    const char *p = s.p;
    size_t len = s.len, i = *pos;
    if (i >= len)
        return 0;
    i = sw_skip_lws(p, len, i);
    size_t n = sw_span(p + i, len - i, CC_TOKEN, false);
    if (n == 0)
        return -1;
    *name = slice_make(p + i, n);
    *value = SLICE_NULL;
    i = sw_skip_lws(p, len, i + n);
    if (i < len && p[i] == '=') {
        i = sw_skip_lws(p, len, i + 1);
        if (i < len && p[i] == '"') {
            n = sw_quoted_len(p + i, len - i);
        } else {
            n = 0;
            while (i + n < len && (cc_is(p[i + n], CC_TOKEN) || p[i + n] == ':' ||
                                   p[i + n] == '[' || p[i + n] == ']'))
                n++;
        }
        if (n == 0)
            return -1;
        *value = slice_make(p + i, n);
        i = sw_skip_lws(p, len, i + n);
    }
    if (i < len) {
        if (p[i] != ';')
            return -1;
        i++;
        if (sw_skip_lws(p, len, i) == len)
            return -1; /* a trailing ';' must be followed by a parameter */
    }
    *pos = i;
    return 1;
}

bool sw_params_valid(struct slice params)
{
    struct slice n, v;
    size_t pos = 0;
    int rc;
    if (params.len == 0)
        return false;
    while ((rc = gparam_next(params, &pos, &n, &v)) == 1)
        ;
    return rc == 0;
}

bool hdr_param_find(struct slice params, const char *name, struct slice *value)
{
    struct slice n, v;
    size_t pos = 0;
    struct slice want = slice_cstr(name);
    while (gparam_next(params, &pos, &n, &v) == 1)
        if (slice_caseeq(n, want)) {
            if (value)
                *value = v;
            return true;
        }
    return false;
}

bool sw_parse_uint(struct slice s, uint64_t max, uint64_t *out)
{
    s = slice_trim(s);
    uint64_t v;
    if (slice_to_u64(&v, s, max) < 0)
        return false;
    *out = v;
    return true;
}

/* host [ COLON port ]; returns bytes used or 0. */
static size_t parse_hostport(const char *p, size_t len, struct slice *host, uint16_t *port,
                             bool *has_port)
{
    size_t i;
    if (len && p[0] == '[') {
        const char *end = memchr(p, ']', len);
        if (!end || !sw_ipv6_valid(p + 1, (size_t)(end - p - 1)))
            return 0;
        i = (size_t)(end - p) + 1;
    } else {
        i = sw_span(p, len, CC_HOST, false);
        if (i == 0 || (!sw_ipv4_valid(p, i) && !sw_hostname_valid(p, i)))
            return 0;
    }
    *host = slice_make(p, i);
    size_t j = sw_skip_lws(p, len, i);
    if (j < len && p[j] == ':') {
        j = sw_skip_lws(p, len, j + 1);
        size_t d = 0;
        uint32_t v = 0;
        while (j + d < len && p[j + d] >= '0' && p[j + d] <= '9' && d < 6) {
            v = v * 10 + (uint32_t)(p[j + d] - '0');
            d++;
        }
        if (d == 0 || v == 0 || v > 65535)
            return 0;
        *port = (uint16_t)v;
        *has_port = true;
        i = j + d;
    }
    return i;
}

static bool via_host_value(struct slice v)
{
    /* received = IPv4address / IPv6address (RFC 3261 §20.42, brackets
     * tolerated as RFC 5118 §4.5 shows both) */
    if (v.len >= 2 && v.p[0] == '[' && v.p[v.len - 1] == ']')
        return sw_ipv6_valid(v.p + 1, v.len - 2);
    return sw_ipv4_valid(v.p, v.len) || sw_ipv6_valid(v.p, v.len);
}

static bool via_param(struct sip_via *v, struct slice n, struct slice val)
{
    uint64_t num;
    switch (n.len) {
    case 3:
        if (slice_caseeq_cstr(n, "ttl"))
            return sw_parse_uint(val, 255, &num);
        break;
    case 5:
        if (slice_caseeq_cstr(n, "maddr")) {
            v->maddr = val;
            return val.len && (sw_ipv4_valid(val.p, val.len) || sw_hostname_valid(val.p, val.len) ||
                               via_host_value(val));
        }
        if (slice_caseeq_cstr(n, "rport")) {
            v->rport = val;
            v->has_rport = true;
            return val.len == 0 || (sw_parse_uint(val, 65535, &num) && num > 0);
        }
        break;
    case 6:
        if (slice_caseeq_cstr(n, "branch")) {
            v->branch = val;
            return sw_span(val.p, val.len, CC_TOKEN, false) == val.len && val.len > 0;
        }
        break;
    case 8:
        if (slice_caseeq_cstr(n, "received")) {
            v->received = val;
            return via_host_value(val);
        }
        break;
    default:
        break;
    }
    return true;
}

int hdr_parse_via(struct sip_via *v, struct slice item, struct sip_err *err)
{
    struct sip_via r;
    memset(&r, 0, sizeof(r));
    item = slice_trim(item);
    r.raw = item;
    const char *p = item.p;
    size_t len = item.len, i, n;
    /* sent-protocol = protocol-name SLASH protocol-version SLASH transport */
    n = sw_span(p, len, CC_TOKEN, false);
    if (n == 0)
        return fail(err, item, p, "Bad Via");
    i = sw_skip_lws(p, len, n);
    if (i >= len || p[i] != '/')
        return fail(err, item, p + i, "Bad Via");
    i = sw_skip_lws(p, len, i + 1);
    n = sw_span(p + i, len - i, CC_TOKEN, false);
    if (n == 0)
        return fail(err, item, p + i, "Bad Via");
    r.protocol = slice_make(p, i + n);
    i = sw_skip_lws(p, len, i + n);
    if (i >= len || p[i] != '/')
        return fail(err, item, p + i, "Bad Via");
    i = sw_skip_lws(p, len, i + 1);
    n = sw_span(p + i, len - i, CC_TOKEN, false);
    if (n == 0)
        return fail(err, item, p + i, "Bad Via");
    r.transport = slice_make(p + i, n);
    i += n;
    size_t j = sw_skip_lws(p, len, i);
    if (j == i || j >= len)
        return fail(err, item, p + j, "Bad Via");
    n = parse_hostport(p + j, len - j, &r.host, &r.port, &r.has_port);
    if (n == 0)
        return fail(err, item, p + j, "Bad Via");
    i = sw_skip_lws(p, len, j + n);
    if (i < len) {
        if (p[i] != ';')
            return fail(err, item, p + i, "Bad Via");
        r.params = slice_make(p + i + 1, len - i - 1);
        struct slice pn, pv;
        size_t pos = 0;
        int rc;
        while ((rc = gparam_next(r.params, &pos, &pn, &pv)) == 1)
            if (!via_param(&r, pn, pv))
                return fail(err, item, pn.p, "Bad Via");
        if (rc < 0 || r.params.len == 0)
            return fail(err, item, p + i, "Bad Via");
    }
    *v = r;
    return SIP_PARSE_OK;
}

int hdr_parse_nameaddr(struct sip_nameaddr *na, struct slice item, struct sip_err *err)
{
    struct sip_nameaddr r;
    memset(&r, 0, sizeof(r));
    item = slice_trim(item);
    r.raw = item;
    const char *p = item.p;
    size_t len = item.len, i = 0;
    const char *bad = "Bad address";
    if (len == 0)
        return fail(err, item, p, bad);
    if (len == 1 && p[0] == '*') {
        r.is_star = true;
        *na = r;
        return SIP_PARSE_OK;
    }
    bool name_addr = false;
    if (p[0] == '"') {
        size_t q = sw_quoted_len(p, len);
        if (q == 0)
            return fail(err, item, p, "Unterminated quoted string");
        r.display = slice_make(p, q);
        i = sw_skip_lws(p, len, q);
        if (i >= len || p[i] != '<')
            return fail(err, item, p + i, bad);
        name_addr = true;
    } else {
        /* display-name = *(token LWS): scan tokens and LWS up to '<' */
        size_t j = 0;
        while (j < len && (cc_is(p[j], CC_TOKEN) || cc_lws(p[j])))
            j++;
        if (j < len && p[j] == '<') {
            r.display = slice_trim(slice_make(p, j));
            i = j;
            name_addr = true;
        }
    }
    if (name_addr) {
        const char *gt = memchr(p + i, '>', len - i);
        if (!gt)
            return fail(err, item, p + i, bad);
        r.uri_s = slice_make(p + i + 1, (size_t)(gt - p - i - 1));
        i = (size_t)(gt - p) + 1;
    } else {
        /* addr-spec: RFC 3261 §20.10, the URI ends at ';' or LWS, and a
         * URI with ',', ';' or '?' must be in <> */
        size_t j = 0;
        while (j < len && p[j] != ';' && !cc_lws(p[j]))
            j++;
        r.uri_s = slice_make(p, j);
        if (memchr(p, '?', j))
            return fail(err, item, p, "URI with headers must be in <>");
        i = j;
    }
    if (uri_parse(&r.uri, r.uri_s, err) != SIP_PARSE_OK) {
        if (err)
            err->offset += (size_t)(r.uri_s.p - p);
        return SIP_PARSE_BAD;
    }
    i = sw_skip_lws(p, len, i);
    if (i < len) {
        if (p[i] != ';')
            return fail(err, item, p + i, bad);
        r.params = slice_make(p + i + 1, len - i - 1);
        struct slice pn, pv;
        size_t pos = 0;
        int rc;
        while ((rc = gparam_next(r.params, &pos, &pn, &pv)) == 1)
            if (pn.len == 3 && slice_caseeq_cstr(pn, "tag")) {
                if (pv.len == 0 || sw_span(pv.p, pv.len, CC_TOKEN, false) != pv.len)
                    return fail(err, item, pn.p, "Bad tag");
                r.tag = pv;
            }
        if (rc < 0 || r.params.len == 0)
            return fail(err, item, p + i, "Bad header parameter");
    }
    *na = r;
    return SIP_PARSE_OK;
}

int hdr_parse_cseq(struct sip_cseq *c, struct slice value, struct sip_err *err)
{
    /* CSeq = 1*DIGIT LWS Method; RFC 3261 §8.1.1.5: less than 2^31 */
    value = slice_trim(value);
    const char *p = value.p;
    size_t len = value.len, i = 0;
    uint64_t num = 0;
    while (i < len && p[i] >= '0' && p[i] <= '9') {
        num = num * 10 + (uint64_t)(p[i] - '0');
        if (num > 0x7fffffffu)
            return fail(err, value, p + i, "Bad CSeq");
        i++;
    }
    if (i == 0)
        return fail(err, value, p, "Bad CSeq");
    size_t j = sw_skip_lws(p, len, i);
    if (j == i)
        return fail(err, value, p + j, "Bad CSeq");
    size_t n = sw_span(p + j, len - j, CC_TOKEN, false);
    if (n == 0 || j + n != len)
        return fail(err, value, p + j, "Bad CSeq");
    c->num = (uint32_t)num;
    c->method_s = slice_make(p + j, n);
    c->method = (int)sip_method_lookup(c->method_s);
    return SIP_PARSE_OK;
}
