/* SPDX-License-Identifier: BSD-2-Clause */
/* In-place parser and comparison of sip:, sips: and tel: URIs. */
#include "sip/uri.h"

#include "sip/parse_int.h"

#include <string.h>

static int fail(struct sip_err *err, const char *base, const char *at, const char *reason)
{
    if (err) {
        err->reason = reason;
        err->offset = (size_t)(at - base);
    }
    return SIP_PARSE_BAD;
}

size_t sw_quoted_len(const char *p, size_t len)
{
    /* quoted-string = DQUOTE *(qdtext / quoted-pair) DQUOTE;
     * qdtext = LWS / %x21 / %x23-5B / %x5D-7E / UTF8-NONASCII;
     * quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F) */
    size_t i = 1;
    while (i < len) {
        unsigned char c = (unsigned char)p[i];
        if (c == '"')
            return i + 1;
        if (c == '\\') {
            if (i + 1 >= len)
                return 0;
            unsigned char q = (unsigned char)p[i + 1];
            if (q == 0x0a || q == 0x0d || q > 0x7f)
                return 0;
            i += 2;
            continue;
        }
        if (c < 0x20 && c != '\t' && c != '\r' && c != '\n')
            return 0;
        if (c == 0x7f)
            return 0;
        i++;
    }
    return 0;
}

bool sw_ipv4_valid(const char *p, size_t len)
{
    unsigned parts = 0;
    size_t i = 0;
    while (parts < 4) {
        unsigned v = 0, digits = 0;
        while (i < len && p[i] >= '0' && p[i] <= '9' && digits < 4) {
            v = v * 10 + (unsigned)(p[i] - '0');
            i++;
            digits++;
        }
        if (digits == 0 || digits > 3 || v > 255)
            return false;
        parts++;
        if (parts < 4) {
            if (i >= len || p[i] != '.')
                return false;
            i++;
        }
    }
    return i == len;
}

bool sw_ipv6_valid(const char *p, size_t len)
{
    /* RFC 4291 §2.2: up to 8 groups of 1-4 hex digits, one "::" at most,
     * optionally ending in a dotted quad worth two groups. */
    unsigned groups = 0;
    bool dcolon = false;
    size_t i = 0;
    if (len < 2)
        return false;
    if (p[0] == ':') {
        if (p[1] != ':')
            return false;
        dcolon = true;
        i = 2;
        if (i == len)
            return true;
    }
    while (i < len) {
        size_t start = i;
        while (i < len && i - start < 5 && cc_is(p[i], CC_HEX))
            i++;
        size_t n = i - start;
        if (i < len && p[i] == '.') {
            /* embedded IPv4 must be last */
            if (!sw_ipv4_valid(p + start, len - start))
                return false;
            groups += 2;
            i = len;
            break;
        }
        if (n == 0 || n > 4)
            return false;
        groups++;
        if (i == len)
            break;
        if (p[i] != ':')
            return false;
        i++;
        if (i < len && p[i] == ':') {
            if (dcolon)
                return false;
            dcolon = true;
            i++;
            if (i == len)
                break;
        } else if (i == len) {
            return false; /* trailing single ':' */
        }
    }
    return dcolon ? groups <= 7 : groups == 8;
}

bool sw_hostname_valid(const char *p, size_t len)
{
    /* hostname = *( domainlabel "." ) toplabel [ "." ]
     * domainlabel = alphanum / alphanum *( alphanum / "-" ) alphanum
     * toplabel = ALPHA / ALPHA *( alphanum / "-" ) alphanum */
    if (len == 0)
        return false;
    if (p[len - 1] == '.')
        len--;
    size_t i = 0, label_start = 0;
    if (len == 0)
        return false;
    for (;;) {
        label_start = i;
        while (i < len && p[i] != '.') {
            if (!cc_is(p[i], CC_ALNUM) && p[i] != '-')
                return false;
            i++;
        }
        size_t n = i - label_start;
        if (n == 0 || p[label_start] == '-' || p[i - 1] == '-')
            return false;
        if (i == len)
            break;
        i++; /* '.' */
    }
    unsigned char first = cc_lower(p[label_start]);
    return first >= 'a' && first <= 'z';
}

/* host = hostname / IPv4address / IPv6reference; returns length used. */
static size_t parse_host(struct uri *u, const char *p, size_t len)
{
    if (len && p[0] == '[') {
        const char *end = memchr(p, ']', len);
        if (!end || !sw_ipv6_valid(p + 1, (size_t)(end - p - 1)))
            return 0;
        u->host = slice_make(p, (size_t)(end - p + 1));
        u->host_type = URI_HOST_IPV6;
        return u->host.len;
    }
    size_t n = sw_span(p, len, CC_HOST, false);
    if (n == 0)
        return 0;
    if (sw_ipv4_valid(p, n))
        u->host_type = URI_HOST_IPV4;
    else if (sw_hostname_valid(p, n))
        u->host_type = URI_HOST_NAME;
    else
        return 0;
    u->host = slice_make(p, n);
    return n;
}

static bool scan_uri_params(struct uri *u, const char *p, size_t len)
{
    /* uri-parameters = *( ";" uri-parameter ); pname [ "=" pvalue ] */
    size_t i = 0;
    for (;;) {
        size_t n = sw_span(p + i, len - i, CC_PARAM, true);
        if (n == 0 || n == (size_t)-1)
            return false;
        struct slice name = slice_make(p + i, n);
        struct slice value = SLICE_NULL;
        i += n;
        if (i < len && p[i] == '=') {
            i++;
            n = sw_span(p + i, len - i, CC_PARAM, true);
            if (n == 0 || n == (size_t)-1)
                return false;
            value = slice_make(p + i, n);
            i += n;
        }
        switch (name.len) {
        case 2:
            if (slice_caseeq_cstr(name, "lr"))
                u->has_lr = true;
            break;
        case 5:
            if (slice_caseeq_cstr(name, "maddr"))
                u->maddr = value;
            break;
        case 9:
            if (slice_caseeq_cstr(name, "transport"))
                u->transport = value;
            break;
        default:
            break;
        }
        if (i == len)
            return true;
        if (p[i] != ';')
            return false;
        i++;
    }
}

static bool scan_uri_headers(const char *p, size_t len)
{
    /* headers = "?" header *( "&" header ); hname "=" hvalue */
    size_t i = 0;
    for (;;) {
        size_t n = sw_span(p + i, len - i, CC_HNV, true);
        if (n == 0 || n == (size_t)-1)
            return false;
        i += n;
        if (i == len || p[i] != '=')
            return false;
        i++;
        n = sw_span(p + i, len - i, CC_HNV, true);
        if (n == (size_t)-1)
            return false;
        i += n;
        if (i == len)
            return true;
        if (p[i] != '&')
            return false;
        i++;
    }
}

static int parse_sip(struct uri *u, const char *base, const char *p, size_t len,
                     struct sip_err *err)
{
    const char *at = memchr(p, '@', len);
    size_t i = 0;
    if (at) {
        /* userinfo = ( user / telephone-subscriber ) [ ":" password ] "@" */
        size_t ulen = (size_t)(at - p);
        size_t n = sw_span(p, ulen, CC_USER, true);
        if (n == 0 || n == (size_t)-1)
            return fail(err, base, p, "Bad URI user");
        u->user = slice_make(p, n);
        u->has_user = true;
        if (n < ulen) {
            if (p[n] != ':')
                return fail(err, base, p + n, "Bad URI user");
            size_t m = sw_span(p + n + 1, ulen - n - 1, CC_PASS, true);
            if (m != ulen - n - 1)
                return fail(err, base, p + n + 1, "Bad URI password");
            u->password = slice_make(p + n + 1, m);
        }
        i = ulen + 1;
    }
    size_t n = parse_host(u, p + i, len - i);
    if (n == 0)
        return fail(err, base, p + i, "Bad URI host");
    i += n;
    if (i < len && p[i] == ':') {
        i++;
        size_t d = 0;
        uint32_t port = 0;
        while (i + d < len && p[i + d] >= '0' && p[i + d] <= '9' && d < 6) {
            port = port * 10 + (uint32_t)(p[i + d] - '0');
            d++;
        }
        if (d == 0 || port == 0 || port > 65535)
            return fail(err, base, p + i, "Bad URI port");
        u->port_s = slice_make(p + i, d);
        u->port = (uint16_t)port;
        u->has_port = true;
        i += d;
    }
    const char *q = memchr(p + i, '?', len - i);
    size_t plen = q ? (size_t)(q - (p + i)) : len - i;
    if (plen > 0) {
        if (p[i] != ';')
            return fail(err, base, p + i, "Bad URI");
        u->params = slice_make(p + i + 1, plen - 1);
        if (!scan_uri_params(u, u->params.p, u->params.len))
            return fail(err, base, p + i, "Bad URI parameter");
    }
    if (q) {
        u->headers = slice_make(q + 1, (size_t)(p + len - q - 1));
        if (!scan_uri_headers(u->headers.p, u->headers.len))
            return fail(err, base, q, "Bad URI header");
    }
    return SIP_PARSE_OK;
}

static bool is_visual_sep(char c)
{
    return c == '-' || c == '.' || c == '(' || c == ')';
}

static bool tel_number_valid(struct slice s)
{
    /* RFC 3966: global-number-digits = "+" *phonedigit DIGIT *phonedigit
     * local-number-digits = *phonedigit-hex (HEXDIG / "*" / "#") ... */
    size_t i = 0;
    bool global = s.len && s.p[0] == '+';
    unsigned digits = 0;
    if (global)
        i = 1;
    for (; i < s.len; i++) {
        char c = s.p[i];
        if (is_visual_sep(c))
            continue;
        if (c >= '0' && c <= '9') {
            digits++;
            continue;
        }
        if (!global && (cc_is(c, CC_HEX) || c == '*' || c == '#')) {
            digits++;
            continue;
        }
        return false;
    }
    return digits > 0;
}

static int parse_tel(struct uri *u, const char *base, const char *p, size_t len,
                     struct sip_err *err)
{
    const char *semi = memchr(p, ';', len);
    size_t n = semi ? (size_t)(semi - p) : len;
    u->user = slice_make(p, n);
    u->has_user = true;
    if (!tel_number_valid(u->user))
        return fail(err, base, p, "Bad tel number");
    if (semi) {
        u->params = slice_make(semi + 1, len - n - 1);
        if (!scan_uri_params(u, u->params.p, u->params.len))
            return fail(err, base, semi, "Bad URI parameter");
    }
    if (u->user.p[0] != '+') {
        struct slice ctx;
        /* RFC 3966 §5.1.5: local numbers need a phone-context */
        if (!uri_param_find(u->params, "phone-context", &ctx) || ctx.len == 0)
            return fail(err, base, p, "Bad tel number");
    }
    return SIP_PARSE_OK;
}

int uri_parse(struct uri *u, struct slice s, struct sip_err *err)
{
    struct uri r;
    memset(&r, 0, sizeof(r));
    r.raw = s;
    if (s.len == 0)
        return fail(err, s.p, s.p, "Empty URI");
    /* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
    size_t i = 0;
    unsigned char c0 = cc_lower(s.p[0]);
    if (c0 < 'a' || c0 > 'z')
        return fail(err, s.p, s.p, "Bad URI scheme");
    while (i < s.len &&
           (cc_is(s.p[i], CC_ALNUM) || s.p[i] == '+' || s.p[i] == '-' || s.p[i] == '.'))
        i++;
    if (i == s.len || s.p[i] != ':')
        return fail(err, s.p, s.p + i, "Bad URI scheme");
    r.scheme_s = slice_make(s.p, i);
    const char *rest = s.p + i + 1;
    size_t rlen = s.len - i - 1;
    int rc;
    if (slice_caseeq_cstr(r.scheme_s, "sip") || slice_caseeq_cstr(r.scheme_s, "sips")) {
        r.scheme = r.scheme_s.len == 3 ? URI_SIP : URI_SIPS;
        rc = parse_sip(&r, s.p, rest, rlen, err);
    } else if (slice_caseeq_cstr(r.scheme_s, "tel")) {
        r.scheme = URI_TEL;
        rc = parse_tel(&r, s.p, rest, rlen, err);
    } else {
        /* absoluteURI = scheme ":" ( hier-part / opaque-part ) */
        r.scheme = URI_OTHER;
        size_t n = sw_span(rest, rlen, CC_URIC, false);
        rc = (rlen == 0 || n != rlen) ? fail(err, s.p, rest + n, "Bad URI") : SIP_PARSE_OK;
    }
    if (rc == SIP_PARSE_OK)
        *u = r;
    return rc;
}

bool uri_param_find(struct slice params, const char *name, struct slice *value)
{
    size_t nlen = strlen(name);
    const char *p = params.p;
    size_t len = params.len;
    size_t i = 0;
    while (i < len) {
        const char *semi = memchr(p + i, ';', len - i);
        size_t end = semi ? (size_t)(semi - p) : len;
        const char *eq = memchr(p + i, '=', end - i);
        size_t klen = eq ? (size_t)(eq - (p + i)) : end - i;
        if (klen == nlen && slice_caseeq(slice_make(p + i, klen), slice_make(name, nlen))) {
            if (value)
                *value = eq ? slice_make(eq + 1, (size_t)(p + end - eq - 1)) : SLICE_NULL;
            return true;
        }
        i = end + 1;
    }
    return false;
}

/* Next octet of an escaped string; advances *i. */
static unsigned char unesc_next(struct slice s, size_t *i)
{
    size_t k = *i;
    if (s.p[k] == '%' && k + 2 < s.len + 0 && cc_hexval(s.p[k + 1]) >= 0 &&
        cc_hexval(s.p[k + 2]) >= 0) {
        *i = k + 3;
        return (unsigned char)(cc_hexval(s.p[k + 1]) * 16 + cc_hexval(s.p[k + 2]));
    }
    *i = k + 1;
    return (unsigned char)s.p[k];
}

/* Compares two %-escaped strings by their unescaped octets. */
static bool esc_eq(struct slice a, struct slice b, bool icase)
{
    size_t i = 0, j = 0;
    while (i < a.len && j < b.len) {
        unsigned char x = unesc_next(a, &i);
        unsigned char y = unesc_next(b, &j);
        if (icase) {
            x = cc_lower((char)x);
            y = cc_lower((char)y);
        }
        if (x != y)
            return false;
    }
    return i == a.len && j == b.len;
}

/* Iterates ";name[=value]" items of a URI parameter or header list. */
static bool next_item(struct slice *rest, char sep, struct slice *name, struct slice *value)
{
    if (rest->len == 0)
        return false;
    const char *p = rest->p;
    const char *s = memchr(p, sep, rest->len);
    size_t end = s ? (size_t)(s - p) : rest->len;
    const char *eq = memchr(p, '=', end);
    *name = slice_make(p, eq ? (size_t)(eq - p) : end);
    *value = eq ? slice_make(eq + 1, (size_t)(p + end - eq - 1)) : SLICE_NULL;
    rest->p += s ? end + 1 : end;
    rest->len -= s ? end + 1 : end;
    return true;
}

static bool find_esc(struct slice list, char sep, struct slice name, struct slice *value)
{
    struct slice n, v;
    while (next_item(&list, sep, &n, &v))
        if (esc_eq(n, name, true)) {
            *value = v;
            return true;
        }
    return false;
}

/* True when item name n (a slice of list) is the first of its name in
 * list: repeated parameters are compared by their first occurrence only,
 * which keeps the comparison reflexive and symmetric. */
static bool is_first(struct slice list, char sep, struct slice n)
{
    struct slice m, v;
    while (next_item(&list, sep, &m, &v)) {
        if (m.p == n.p)
            return true;
        if (esc_eq(m, n, true))
            return false;
    }
    return true;
}

static bool is_sticky_param(struct slice name)
{
    /* RFC 3261 §19.1.4: user, ttl, method, maddr and transport must
     * match when present in either URI. */
    static const char *const sticky[] = {"user", "ttl", "method", "maddr", "transport"};
    for (size_t k = 0; k < SW_ARRAY_LEN(sticky); k++)
        if (esc_eq(name, slice_cstr(sticky[k]), true))
            return true;
    return false;
}

static bool params_equal(struct slice a, struct slice b)
{
    struct slice rest = a, n, v, w;
    while (next_item(&rest, ';', &n, &v)) {
        if (!is_first(a, ';', n))
            continue;
        if (find_esc(b, ';', n, &w)) {
            if (!esc_eq(v, w, true))
                return false;
        } else if (is_sticky_param(n)) {
            return false;
        }
    }
    rest = b;
    while (next_item(&rest, ';', &n, &v))
        if (!find_esc(a, ';', n, &w) && is_sticky_param(n))
            return false;
    return true;
}

static bool headers_equal(struct slice a, struct slice b)
{
    /* Header components are never ignored: same set, same values. */
    struct slice rest = a, n, v, w;
    while (next_item(&rest, '&', &n, &v))
        if (is_first(a, '&', n) && (!find_esc(b, '&', n, &w) || !esc_eq(v, w, false)))
            return false;
    rest = b;
    while (next_item(&rest, '&', &n, &v))
        if (!find_esc(a, '&', n, &w))
            return false;
    return true;
}

static bool tel_digits_equal(struct slice a, struct slice b)
{
    /* RFC 3966 §4: visual separators are ignored in comparison. */
    size_t i = 0, j = 0;
    for (;;) {
        while (i < a.len && is_visual_sep(a.p[i]))
            i++;
        while (j < b.len && is_visual_sep(b.p[j]))
            j++;
        if (i == a.len || j == b.len)
            return i == a.len && j == b.len;
        if (cc_lower(a.p[i]) != cc_lower(b.p[j]))
            return false;
        i++;
        j++;
    }
}

bool uri_equal(const struct uri *a, const struct uri *b)
{
    if (a->scheme != b->scheme)
        return false;
    if (a->scheme == URI_OTHER)
        return slice_eq(a->raw, b->raw);
    if (a->scheme == URI_TEL) {
        if (!tel_digits_equal(a->user, b->user))
            return false;
        return params_equal(a->params, b->params) && params_equal(b->params, a->params);
    }
    /* RFC 3261 §19.1.4: userinfo case-sensitive, the rest case-insensitive,
     * escaped and unescaped characters equivalent; a default port is not
     * the same as an absent one. */
    if (a->has_user != b->has_user || !esc_eq(a->user, b->user, false) ||
        !esc_eq(a->password, b->password, false))
        return false;
    if (!slice_caseeq(a->host, b->host))
        return false;
    if (a->has_port != b->has_port || a->port != b->port)
        return false;
    return params_equal(a->params, b->params) && headers_equal(a->headers, b->headers);
}
