/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Full-grammar check of every known header (tests, fuzzers, the parse
 * benchmark). The eager parse already validated the start line and the
 * core fields; this walks every field and every list value so that the
 * benchmark compares like with like against parsers that build a full
 * tree (libosip2, libre).
 */
#include "sip/sipmsg.h"

#include "sip/parse_int.h"

#include <string.h>

typedef bool item_fn(struct slice item);

static bool params_after(const char *p, size_t len, size_t i)
{
    /* the rest after a value: nothing, or SEMI generic-params */
    i = sw_skip_lws(p, len, i);
    if (i == len)
        return true;
    if (p[i] != ';')
        return false;
    return sw_params_valid(slice_make(p + i + 1, len - i - 1));
}

static bool token_params(struct slice v)
{
    size_t n = sw_span(v.p, v.len, CC_TOKEN, false);
    return n > 0 && params_after(v.p, v.len, n);
}

static bool token_only(struct slice v)
{
    return v.len > 0 && sw_span(v.p, v.len, CC_TOKEN, false) == v.len;
}

static bool list_of(struct slice v, bool allow_empty, item_fn *fn)
{
    struct slice rest = v, item;
    bool any = false;
    while (hdr_list_next(&rest, &item)) {
        any = true;
        if (!fn(item))
            return false;
    }
    return any || allow_empty;
}

static bool delta_params(struct slice v, uint64_t max)
{
    /* delta-seconds *( SEMI generic-param ) */
    size_t n = 0;
    while (n < v.len && v.p[n] >= '0' && v.p[n] <= '9')
        n++;
    uint64_t x;
    return n > 0 && sw_parse_uint(slice_make(v.p, n), max, &x) && params_after(v.p, v.len, n);
}

static bool number(struct slice v, uint64_t max)
{
    uint64_t x;
    return sw_parse_uint(v, max, &x);
}

static bool media_type(struct slice v)
{
    /* m-type SLASH m-subtype *( SEMI m-parameter ); SLASH = SWS "/" SWS */
    const char *p = v.p;
    size_t len = v.len;
    size_t n = sw_span(p, len, CC_TOKEN, false);
    if (n == 0)
        return false;
    size_t i = sw_skip_lws(p, len, n);
    if (i >= len || p[i] != '/')
        return false;
    i = sw_skip_lws(p, len, i + 1);
    n = sw_span(p + i, len - i, CC_TOKEN, false);
    if (n == 0)
        return false;
    return params_after(p, len, i + n);
}

static bool media_range(struct slice v)
{
    /* '*' is a token character, so wildcard ranges need nothing more */
    return media_type(v);
}

static bool nameaddr(struct slice v, bool need_angle, bool star_ok)
{
    struct sip_nameaddr na;
    struct sip_err e;
    if (hdr_parse_nameaddr(&na, v, &e) != SIP_PARSE_OK)
        return false;
    if (na.is_star)
        return star_ok;
    if (need_angle && (na.uri_s.p == na.raw.p || na.uri_s.p[-1] != '<'))
        return false;
    return true;
}

static bool nameaddr_plain(struct slice v)
{
    return nameaddr(v, false, false);
}

static bool nameaddr_angle(struct slice v)
{
    return nameaddr(v, true, false);
}

static bool contact_value(struct slice v)
{
    struct sip_nameaddr na;
    struct sip_err e;
    struct slice x;
    if (hdr_parse_nameaddr(&na, v, &e) != SIP_PARSE_OK || na.is_star)
        return false;
    if (hdr_param_find(na.params, "expires", &x) && !number(x, 0xffffffffu))
        return false;
    if (hdr_param_find(na.params, "q", &x)) {
        /* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ) */
        if (x.len == 0 || x.len > 5 || (x.p[0] != '0' && x.p[0] != '1'))
            return false;
        if (x.len > 1 && x.p[1] != '.')
            return false;
        for (size_t i = 2; i < x.len; i++)
            if (x.p[i] < '0' || x.p[i] > (x.p[0] == '1' ? '0' : '9'))
                return false;
    }
    return true;
}

static bool contact_list(struct slice v)
{
    /* Contact: "*" alone, or a list of contact-params */
    if (v.len == 1 && v.p[0] == '*')
        return true;
    return list_of(v, false, contact_value);
}

static bool via_value(struct slice v)
{
    struct sip_via via;
    struct sip_err e;
    return hdr_parse_via(&via, v, &e) == SIP_PARSE_OK;
}

static bool angle_uri_params(struct slice v)
{
    /* Call-Info / Alert-Info / Error-Info: LAQUOT absoluteURI RAQUOT params */
    struct uri u;
    struct sip_err e;
    if (v.len < 2 || v.p[0] != '<')
        return false;
    const char *gt = memchr(v.p, '>', v.len);
    if (!gt)
        return false;
    if (uri_parse(&u, slice_make(v.p + 1, (size_t)(gt - v.p - 1)), &e) != SIP_PARSE_OK)
        return false;
    return params_after(v.p, v.len, (size_t)(gt - v.p) + 1);
}

static bool star_params(struct slice v)
{
    /* ac-value / rc-value = "*" *( SEMI ... ) */
    return v.len && v.p[0] == '*' && params_after(v.p, v.len, 1);
}

static bool text_utf8(struct slice v)
{
    for (size_t i = 0; i < v.len; i++) {
        unsigned char c = (unsigned char)v.p[i];
        if ((c < 0x20 && !cc_lws((char)c)) || c == 0x7f)
            return false;
    }
    return true;
}

static bool auth_value(struct slice v)
{
    /* auth-scheme LWS auth-param *( COMMA auth-param ) */
    size_t n = sw_span(v.p, v.len, CC_TOKEN, false);
    if (n == 0)
        return false;
    size_t i = sw_skip_lws(v.p, v.len, n);
    if (i == n)
        return i == v.len;
    struct slice rest = slice_make(v.p + i, v.len - i), item;
    bool any = false;
    while (hdr_list_next(&rest, &item)) {
        size_t k = sw_span(item.p, item.len, CC_TOKEN, false);
        size_t j = sw_skip_lws(item.p, item.len, k);
        if (k == 0 || j >= item.len || item.p[j] != '=')
            return false;
        j = sw_skip_lws(item.p, item.len, j + 1);
        struct slice val = slice_make(item.p + j, item.len - j);
        if (val.len && val.p[0] == '"') {
            if (sw_quoted_len(val.p, val.len) != val.len)
                return false;
        } else if (!token_only(val)) {
            return false;
        }
        any = true;
    }
    return any;
}

static bool rack_value(struct slice v)
{
    /* RAck = response-num LWS CSeq-num LWS Method (RFC 3262 §7.2) */
    const char *p = v.p;
    size_t len = v.len, i = 0;
    for (int k = 0; k < 2; k++) {
        size_t s = i;
        while (i < len && p[i] >= '0' && p[i] <= '9')
            i++;
        uint64_t x;
        if (i == s || !sw_parse_uint(slice_make(p + s, i - s), 0xffffffffu, &x))
            return false;
        size_t j = sw_skip_lws(p, len, i);
        if (j == i)
            return false;
        i = j;
    }
    return token_only(slice_make(p + i, len - i));
}

static bool warning_value(struct slice v)
{
    /* warn-code SP warn-agent SP warn-text */
    const char *p = v.p;
    size_t len = v.len;
    if (len < 7 || p[3] != ' ')
        return false;
    for (int k = 0; k < 3; k++)
        if (p[k] < '0' || p[k] > '9')
            return false;
    size_t i = 4;
    while (i < len && p[i] != ' ')
        i++;
    if (i == 4 || i + 1 >= len)
        return false;
    return sw_quoted_len(p + i + 1, len - i - 1) == len - i - 1 && p[i + 1] == '"';
}

static bool privacy_value(struct slice v)
{
    /* priv-value *( ";" priv-value ) */
    size_t i = 0;
    for (;;) {
        i = sw_skip_lws(v.p, v.len, i);
        size_t n = sw_span(v.p + i, v.len - i, CC_TOKEN, false);
        if (n == 0)
            return false;
        i = sw_skip_lws(v.p, v.len, i + n);
        if (i == v.len)
            return true;
        if (v.p[i] != ';')
            return false;
        i++;
    }
}

static bool date_value(struct slice v)
{
    /* rfc1123-date = wkday "," SP date1 SP time SP "GMT" (RFC 3261 §20.17)
     * e.g. "Sat, 13 Nov 2010 23:29:00 GMT" */
    static const char wk[] = "MonTueWedThuFriSatSun";
    static const char mon[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    const char *p = v.p;
    if (v.len != 29 || p[3] != ',' || p[4] != ' ' || p[7] != ' ' || p[11] != ' ' || p[16] != ' ' ||
        p[19] != ':' || p[22] != ':' || p[25] != ' ' || memcmp(p + 26, "GMT", 3) != 0)
        return false;
    bool ok = false;
    for (int k = 0; k < 7; k++)
        ok |= memcmp(p, wk + 3 * k, 3) == 0;
    if (!ok)
        return false;
    ok = false;
    for (int k = 0; k < 12; k++)
        ok |= memcmp(p + 8, mon + 3 * k, 3) == 0;
    static const int digits[] = {5, 6, 12, 13, 14, 15, 17, 18, 20, 21, 23, 24};
    for (size_t k = 0; k < SW_ARRAY_LEN(digits); k++)
        if (p[digits[k]] < '0' || p[digits[k]] > '9')
            return false;
    return ok;
}

static bool timestamp_value(struct slice v)
{
    /* 1*(DIGIT) [ "." *(DIGIT) ] [ LWS delay ] */
    size_t i = 0;
    while (i < v.len && ((v.p[i] >= '0' && v.p[i] <= '9') || v.p[i] == '.'))
        i++;
    if (i == 0 || v.p[0] == '.')
        return false;
    size_t j = sw_skip_lws(v.p, v.len, i);
    if (j == v.len)
        return true;
    if (j == i)
        return false;
    while (j < v.len && ((v.p[j] >= '0' && v.p[j] <= '9') || v.p[j] == '.'))
        j++;
    return j == v.len;
}

static bool retry_after_value(struct slice v)
{
    /* delta-seconds [ comment ] *( SEMI retry-param ) */
    size_t n = 0;
    while (n < v.len && v.p[n] >= '0' && v.p[n] <= '9')
        n++;
    uint64_t x;
    if (n == 0 || !sw_parse_uint(slice_make(v.p, n), 0xffffffffu, &x))
        return false;
    size_t i = sw_skip_lws(v.p, v.len, n);
    if (i < v.len && v.p[i] == '(') {
        const char *close = memchr(v.p + i, ')', v.len - i);
        if (!close)
            return false;
        i = (size_t)(close - v.p) + 1;
    }
    return params_after(v.p, v.len, i);
}

static bool mime_version(struct slice v)
{
    size_t i = 0, a, b;
    while (i < v.len && v.p[i] >= '0' && v.p[i] <= '9')
        i++;
    a = i;
    if (a == 0 || i >= v.len || v.p[i] != '.')
        return false;
    i++;
    while (i < v.len && v.p[i] >= '0' && v.p[i] <= '9')
        i++;
    b = i - a - 1;
    return b > 0 && i == v.len;
}

static bool cseq_value(struct slice v)
{
    struct sip_cseq c;
    struct sip_err e;
    return hdr_parse_cseq(&c, v, &e) == SIP_PARSE_OK;
}

static bool language_value(struct slice v)
{
    return token_params(v);
}

static bool header_valid(const struct sip_hdr *h)
{
    struct slice v = h->value;
    switch ((enum hdr_id)h->id) {
    case HDR_VIA:
        return list_of(v, false, via_value);
    case HDR_FROM:
    case HDR_TO:
    case HDR_REPLY_TO:
    case HDR_REFER_TO:
    case HDR_REFERRED_BY:
        return nameaddr_plain(v);
    case HDR_CONTACT:
        return contact_list(v);
    case HDR_ROUTE:
    case HDR_RECORD_ROUTE:
    case HDR_PATH:
        return list_of(v, false, nameaddr_angle);
    case HDR_P_ASSERTED_IDENTITY:
    case HDR_P_PREFERRED_IDENTITY:
        return list_of(v, false, nameaddr_plain);
    case HDR_CALL_ID:
        return sw_call_id_valid(v);
    case HDR_IN_REPLY_TO:
        return list_of(v, false, sw_call_id_valid);
    case HDR_CSEQ:
        return cseq_value(v);
    case HDR_MAX_FORWARDS:
        return number(v, 255);
    case HDR_CONTENT_LENGTH:
        return number(v, 0x7fffffff);
    case HDR_EXPIRES:
    case HDR_MIN_EXPIRES:
        return number(v, 0xffffffffu);
    case HDR_RSEQ:
        return number(v, 0xffffffffu);
    case HDR_RACK:
        return rack_value(v);
    case HDR_SESSION_EXPIRES:
    case HDR_MIN_SE:
        return delta_params(v, 0xffffffffu);
    case HDR_CONTENT_TYPE:
        return media_type(v);
    case HDR_ACCEPT:
        return list_of(v, true, media_range);
    case HDR_ALLOW:
    case HDR_SUPPORTED:
        return list_of(v, true, token_only);
    case HDR_REQUIRE:
    case HDR_PROXY_REQUIRE:
    case HDR_UNSUPPORTED:
    case HDR_ALLOW_EVENTS:
    case HDR_CONTENT_ENCODING:
    case HDR_REQUEST_DISPOSITION:
        return list_of(v, false, token_only);
    case HDR_ACCEPT_ENCODING:
    case HDR_ACCEPT_LANGUAGE:
        return list_of(v, true, token_params);
    case HDR_CONTENT_LANGUAGE:
        return list_of(v, false, language_value);
    case HDR_EVENT:
    case HDR_SUBSCRIPTION_STATE:
    case HDR_CONTENT_DISPOSITION:
        return token_params(v);
    case HDR_REASON:
        return list_of(v, false, token_params);
    case HDR_PRIVACY:
        return privacy_value(v);
    case HDR_PRIORITY:
        return token_only(v);
    case HDR_AUTHORIZATION:
    case HDR_PROXY_AUTHORIZATION:
    case HDR_WWW_AUTHENTICATE:
    case HDR_PROXY_AUTHENTICATE:
        return auth_value(v);
    case HDR_CALL_INFO:
    case HDR_ALERT_INFO:
    case HDR_ERROR_INFO:
        return list_of(v, false, angle_uri_params);
    case HDR_ACCEPT_CONTACT:
    case HDR_REJECT_CONTACT:
        return list_of(v, false, star_params);
    case HDR_WARNING:
        return list_of(v, false, warning_value);
    case HDR_DATE:
        return date_value(v);
    case HDR_TIMESTAMP:
        return timestamp_value(v);
    case HDR_RETRY_AFTER:
        return retry_after_value(v);
    case HDR_MIME_VERSION:
        return mime_version(v);
    case HDR_SUBJECT:
    case HDR_ORGANIZATION:
    case HDR_USER_AGENT:
    case HDR_SERVER:
    case HDR_IDENTITY:
        return text_utf8(v);
    case HDR_OTHER:
    case HDR_COUNT:
        break;
    }
    return true;
}

int sipmsg_parse_full(const struct sipmsg *m, struct sip_err *err)
{
    for (unsigned i = 0; i < m->hdr_count; i++) {
        const struct sip_hdr *h = &m->hdrs[i];
        if (!header_valid(h)) {
            if (err) {
                err->reason = hdr_bad_reason(h->id);
                err->offset = (size_t)(h->value.p - m->buf);
            }
            return SIP_PARSE_BAD;
        }
    }
    return SIP_PARSE_OK;
}
