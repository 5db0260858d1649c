/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Private helpers of the SIP parser files (uri.c, hdr.c, hdr_names.c,
 * sipmsg.c, frame.c, full.c): character classes of RFC 3261 §25.1 and
 * small scanning primitives. Not for use outside src/sip/.
 */
#ifndef SW_SIP_PARSE_INT_H
#define SW_SIP_PARSE_INT_H

#include "core/util.h"
#include "sip/sip_err.h"

#include <stdbool.h>
#include <stdint.h>

/* Character classes (bits of sw_cc[]), RFC 3261 §25.1. */
enum {
    CC_TOKEN = 1u << 0, /* token */
    CC_ALNUM = 1u << 1, /* alphanum */
    CC_UNRES = 1u << 2, /* unreserved */
    CC_USER = 1u << 3,  /* unreserved / user-unreserved (no escapes) */
    CC_PASS = 1u << 4,  /* password chars (no escapes) */
    CC_PARAM = 1u << 5, /* paramchar (no escapes) */
    CC_HNV = 1u << 6,   /* hname / hvalue chars (no escapes) */
    CC_HOST = 1u << 7,  /* hostname / IPv4 chars */
    CC_WORD = 1u << 8,  /* word (Call-ID) */
    CC_HEX = 1u << 9,   /* HEXDIG */
    CC_URIC = 1u << 10, /* uric of absoluteURI, '%' and '#' included */
};
extern const uint16_t sw_cc[256];

static inline bool cc_is(char c, unsigned cls)
{
    return (sw_cc[(unsigned char)c] & cls) != 0;
}

static inline bool cc_lws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static inline unsigned char cc_lower(char c)
{
    unsigned char u = (unsigned char)c;
    return (u >= 'A' && u <= 'Z') ? (unsigned char)(u | 0x20) : u;
}

static inline int cc_hexval(char c)
{
    unsigned char u = (unsigned char)c;
    if (u >= '0' && u <= '9')
        return u - '0';
    u = cc_lower(c);
    if (u >= 'a' && u <= 'f')
        return u - 'a' + 10;
    return -1;
}

/* Length of the run of class-cls characters (with %HH escapes when
 * escapes is true) at the start of p[0..len); stops at the first other
 * byte. Returns (size_t)-1 on a malformed escape. Inline: it is the inner
 * loop of every scan. */
static inline size_t sw_span(const char *p, size_t len, unsigned cls, bool escapes)
{
    size_t i = 0;
    for (;;) {
        while (i < len && (sw_cc[(unsigned char)p[i]] & cls))
            i++;
        if (!escapes || i >= len || p[i] != '%')
            return i;
        /* RFC 3261 §25.1: escaped = "%" HEXDIG HEXDIG */
        if (len - i < 3 || !cc_is(p[i + 1], CC_HEX) || !cc_is(p[i + 2], CC_HEX))
            return (size_t)-1;
        i += 3;
    }
}

/* Skips linear white space (SP, HTAB, and CR/LF of folded lines). */
static inline size_t sw_skip_lws(const char *p, size_t len, size_t i)
{
    while (i < len && cc_lws(p[i]))
        i++;
    return i;
}

/* Length of a quoted-string starting at p[0] == '"' (RFC 3261 §25.1,
 * quoted-pair with backslash), including both quotes; 0 if unterminated
 * or holding a byte qdtext does not allow. */
size_t sw_quoted_len(const char *p, size_t len);

/* Validates an IPv6 address (RFC 4291 §2.2 text forms, embedded IPv4
 * included), without brackets. */
bool sw_ipv6_valid(const char *p, size_t len);
/* Validates a dotted-quad IPv4 address. */
bool sw_ipv4_valid(const char *p, size_t len);
/* Validates a hostname (RFC 3261 §25.1 hostname). */
bool sw_hostname_valid(const char *p, size_t len);

/* Validates generic header parameters: params is the text after the
 * first ';' (without it). Each is token [ EQUAL ( token / host /
 * quoted-string ) ] with LWS allowed around ';' and '='. */
bool sw_params_valid(struct slice params);

/* Parses 1*DIGIT with optional surrounding LWS; fails above max. */
bool sw_parse_uint(struct slice s, uint64_t max, uint64_t *out);

/* RFC 3261 §25.1 token: non-empty, token characters only. */
static inline bool sw_token_valid(struct slice s)
{
    return s.len > 0 && sw_span(s.p, s.len, CC_TOKEN, false) == s.len;
}

/* RFC 3261 §25.1 callid = word [ "@" word ]. */
bool sw_call_id_valid(struct slice v);

/* True when s holds CR, LF or NUL: text that would break a header line
 * (refused by the builder and the edit list: no header injection). */
static inline bool sw_has_line_break(struct slice s)
{
    for (size_t i = 0; i < s.len; i++)
        if (s.p[i] == '\r' || s.p[i] == '\n' || s.p[i] == '\0')
            return true;
    return false;
}

/* "Bad <header>" reason phrase for a header id. */
const char *hdr_bad_reason(unsigned id);

#endif
