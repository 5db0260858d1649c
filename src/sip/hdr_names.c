/* SPDX-License-Identifier: BSD-2-Clause */
/* Header names to ids and back, and the parser's character class table. */
#include "sip/hdr.h"

#include "sip/parse_int.h"

/*
 * RFC 3261 §25.1 character classes, one bit per class (see parse_int.h),
 * generated once from the ABNF and checked by tests/unit/test_uri.c.
 */
const uint16_t sw_cc[256] = {
    0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, /* 0x00 */
    0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, /* 0x08 */
    0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, /* 0x10 */
    0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, /* 0x18 */
    0x0000, 0x057d, 0x0100, 0x0400, 0x0478, 0x0501, 0x0438, 0x057d, /* 0x20 */
    0x057c, 0x057c, 0x057d, 0x0579, 0x0418, 0x05fd, 0x05fd, 0x0568, /* 0x28 */
    0x07ff, 0x07ff, 0x07ff, 0x07ff, 0x07ff, 0x07ff, 0x07ff, 0x07ff, /* 0x30 */
    0x07ff, 0x07ff, 0x0560, 0x0408, 0x0100, 0x0418, 0x0100, 0x0548, /* 0x38 */
    0x0400, 0x07ff, 0x07ff, 0x07ff, 0x07ff, 0x07ff, 0x07ff, 0x05ff, /* 0x40 */
    0x05ff, 0x05ff, 0x05ff, 0x05ff, 0x05ff, 0x05ff, 0x05ff, 0x05ff, /* 0x48 */
    0x05ff, 0x05ff, 0x05ff, 0x05ff, 0x05ff, 0x05ff, 0x05ff, 0x05ff, /* 0x50 */
    0x05ff, 0x05ff, 0x05ff, 0x0560, 0x0100, 0x0560, 0x0000, 0x057d, /* 0x58 */
    0x0101, 0x07ff, 0x07ff, 0x07ff, 0x07ff, 0x07ff, 0x07ff, 0x05ff, /* 0x60 */
    0x05ff, 0x05ff, 0x05ff, 0x05ff, 0x05ff, 0x05ff, 0x05ff, 0x05ff, /* 0x68 */
    0x05ff, 0x05ff, 0x05ff, 0x05ff, 0x05ff, 0x05ff, 0x05ff, 0x05ff, /* 0x70 */
    0x05ff, 0x05ff, 0x05ff, 0x0100, 0x0000, 0x0100, 0x057d, 0x0000, /* 0x78 */
    0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, /* 0x80 */
    0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, /* 0x88 */
    0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, /* 0x90 */
    0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, /* 0x98 */
    0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, /* 0xa0 */
    0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, /* 0xa8 */
    0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, /* 0xb0 */
    0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, /* 0xb8 */
    0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, /* 0xc0 */
    0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, /* 0xc8 */
    0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, /* 0xd0 */
    0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, /* 0xd8 */
    0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, /* 0xe0 */
    0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, /* 0xe8 */
    0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, /* 0xf0 */
    0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, /* 0xf8 */
};

struct hdr_info {
    const char *name;       /* canonical long form */
    const char *bad_reason; /* 400 reason phrase when the value is malformed */
    bool is_list;           /* grammar allows comma-separated values */
};

static const struct hdr_info hdr_info[HDR_COUNT] = {
    [HDR_OTHER] = {"", "", false},
    [HDR_VIA] = {"Via", "Bad Via", true},
    [HDR_FROM] = {"From", "Bad From", false},
    [HDR_TO] = {"To", "Bad To", false},
    [HDR_CALL_ID] = {"Call-ID", "Bad Call-ID", false},
    [HDR_CSEQ] = {"CSeq", "Bad CSeq", false},
    [HDR_CONTACT] = {"Contact", "Bad Contact", true},
    [HDR_MAX_FORWARDS] = {"Max-Forwards", "Bad Max-Forwards", false},
    [HDR_CONTENT_LENGTH] = {"Content-Length", "Bad Content-Length", false},
    [HDR_CONTENT_TYPE] = {"Content-Type", "Bad Content-Type", false},
    [HDR_CONTENT_ENCODING] = {"Content-Encoding", "Bad Content-Encoding", true},
    [HDR_CONTENT_DISPOSITION] = {"Content-Disposition", "Bad Content-Disposition", false},
    [HDR_ROUTE] = {"Route", "Bad Route", true},
    [HDR_RECORD_ROUTE] = {"Record-Route", "Bad Record-Route", true},
    [HDR_PATH] = {"Path", "Bad Path", true},
    [HDR_EXPIRES] = {"Expires", "Bad Expires", false},
    [HDR_MIN_EXPIRES] = {"Min-Expires", "Bad Min-Expires", false},
    [HDR_AUTHORIZATION] = {"Authorization", "Bad Authorization", false},
    [HDR_PROXY_AUTHORIZATION] = {"Proxy-Authorization", "Bad Proxy-Authorization", false},
    [HDR_WWW_AUTHENTICATE] = {"WWW-Authenticate", "Bad WWW-Authenticate", false},
    [HDR_PROXY_AUTHENTICATE] = {"Proxy-Authenticate", "Bad Proxy-Authenticate", false},
    [HDR_USER_AGENT] = {"User-Agent", "Bad User-Agent", false},
    [HDR_SERVER] = {"Server", "Bad Server", false},
    [HDR_ALLOW] = {"Allow", "Bad Allow", true},
    [HDR_ALLOW_EVENTS] = {"Allow-Events", "Bad Allow-Events", true},
    [HDR_SUPPORTED] = {"Supported", "Bad Supported", true},
    [HDR_REQUIRE] = {"Require", "Bad Require", true},
    [HDR_PROXY_REQUIRE] = {"Proxy-Require", "Bad Proxy-Require", true},
    [HDR_UNSUPPORTED] = {"Unsupported", "Bad Unsupported", true},
    [HDR_ACCEPT] = {"Accept", "Bad Accept", true},
    [HDR_ACCEPT_ENCODING] = {"Accept-Encoding", "Bad Accept-Encoding", true},
    [HDR_ACCEPT_LANGUAGE] = {"Accept-Language", "Bad Accept-Language", true},
    [HDR_EVENT] = {"Event", "Bad Event", false},
    [HDR_SUBJECT] = {"Subject", "Bad Subject", false},
    [HDR_SESSION_EXPIRES] = {"Session-Expires", "Bad Session-Expires", false},
    [HDR_MIN_SE] = {"Min-SE", "Bad Min-SE", false},
    [HDR_P_ASSERTED_IDENTITY] = {"P-Asserted-Identity", "Bad P-Asserted-Identity", true},
    [HDR_P_PREFERRED_IDENTITY] = {"P-Preferred-Identity", "Bad P-Preferred-Identity", true},
    [HDR_PRIVACY] = {"Privacy", "Bad Privacy", false},
    [HDR_REFER_TO] = {"Refer-To", "Bad Refer-To", false},
    [HDR_REFERRED_BY] = {"Referred-By", "Bad Referred-By", false},
    [HDR_RSEQ] = {"RSeq", "Bad RSeq", false},
    [HDR_RACK] = {"RAck", "Bad RAck", false},
    [HDR_REASON] = {"Reason", "Bad Reason", true},
    [HDR_DATE] = {"Date", "Bad Date", false},
    [HDR_TIMESTAMP] = {"Timestamp", "Bad Timestamp", false},
    [HDR_ORGANIZATION] = {"Organization", "Bad Organization", false},
    [HDR_WARNING] = {"Warning", "Bad Warning", true},
    [HDR_RETRY_AFTER] = {"Retry-After", "Bad Retry-After", false},
    [HDR_IDENTITY] = {"Identity", "Bad Identity", false},
    [HDR_ACCEPT_CONTACT] = {"Accept-Contact", "Bad Accept-Contact", true},
    [HDR_REJECT_CONTACT] = {"Reject-Contact", "Bad Reject-Contact", true},
    [HDR_REQUEST_DISPOSITION] = {"Request-Disposition", "Bad Request-Disposition", true},
    [HDR_MIME_VERSION] = {"MIME-Version", "Bad MIME-Version", false},
    [HDR_CALL_INFO] = {"Call-Info", "Bad Call-Info", true},
    [HDR_ALERT_INFO] = {"Alert-Info", "Bad Alert-Info", true},
    [HDR_ERROR_INFO] = {"Error-Info", "Bad Error-Info", true},
    [HDR_IN_REPLY_TO] = {"In-Reply-To", "Bad In-Reply-To", true},
    [HDR_PRIORITY] = {"Priority", "Bad Priority", false},
    [HDR_REPLY_TO] = {"Reply-To", "Bad Reply-To", false},
    [HDR_CONTENT_LANGUAGE] = {"Content-Language", "Bad Content-Language", true},
    [HDR_SUBSCRIPTION_STATE] = {"Subscription-State", "Bad Subscription-State", false},
};

/* Compares name[1..len) against the lowercase literal lc[1..len); the
 * first character was matched by the switch. */
static inline bool tail_eq(const char *name, const char *lc, size_t len)
{
    for (size_t i = 1; i < len; i++)
        if (cc_lower(name[i]) != (unsigned char)lc[i])
            return false;
    return true;
}

/*
 * A hand-written perfect-hash-like dispatch: the length and the folded
 * first character select at most two candidates, compared case-
 * insensitively (RFC 3261 §7.3.1: field names are case-insensitive).
 * Written out instead of generated by gperf to keep the build free of it.
 */
enum hdr_id hdr_id_lookup(const char *name, size_t len)
{
    if (len == 0)
        return HDR_OTHER;
    unsigned char c = cc_lower(name[0]);
    switch (len) {
    case 1:
        switch (c) {
        case 'a':
            return HDR_ACCEPT_CONTACT;
        case 'b':
            return HDR_REFERRED_BY;
        case 'c':
            return HDR_CONTENT_TYPE;
        case 'd':
            return HDR_REQUEST_DISPOSITION;
        case 'e':
            return HDR_CONTENT_ENCODING;
        case 'f':
            return HDR_FROM;
        case 'i':
            return HDR_CALL_ID;
        case 'j':
            return HDR_REJECT_CONTACT;
        case 'k':
            return HDR_SUPPORTED;
        case 'l':
            return HDR_CONTENT_LENGTH;
        case 'm':
            return HDR_CONTACT;
        case 'o':
            return HDR_EVENT;
        case 'r':
            return HDR_REFER_TO;
        case 's':
            return HDR_SUBJECT;
        case 't':
            return HDR_TO;
        case 'u':
            return HDR_ALLOW_EVENTS;
        case 'v':
            return HDR_VIA;
        case 'x':
            return HDR_SESSION_EXPIRES;
        case 'y':
            return HDR_IDENTITY;
        default:
            return HDR_OTHER;
        }
    case 2:
        switch (c) {
        case 't':
            if (tail_eq(name, "to", 2))
                return HDR_TO;
            return HDR_OTHER;
        default:
            return HDR_OTHER;
        }
    case 3:
        switch (c) {
        case 'v':
            if (tail_eq(name, "via", 3))
                return HDR_VIA;
            return HDR_OTHER;
        default:
            return HDR_OTHER;
        }
    case 4:
        switch (c) {
        case 'c':
            if (tail_eq(name, "cseq", 4))
                return HDR_CSEQ;
            return HDR_OTHER;
        case 'd':
            if (tail_eq(name, "date", 4))
                return HDR_DATE;
            return HDR_OTHER;
        case 'f':
            if (tail_eq(name, "from", 4))
                return HDR_FROM;
            return HDR_OTHER;
        case 'p':
            if (tail_eq(name, "path", 4))
                return HDR_PATH;
            return HDR_OTHER;
        case 'r':
            if (tail_eq(name, "rseq", 4))
                return HDR_RSEQ;
            if (tail_eq(name, "rack", 4))
                return HDR_RACK;
            return HDR_OTHER;
        default:
            return HDR_OTHER;
        }
    case 5:
        switch (c) {
        case 'a':
            if (tail_eq(name, "allow", 5))
                return HDR_ALLOW;
            return HDR_OTHER;
        case 'e':
            if (tail_eq(name, "event", 5))
                return HDR_EVENT;
            return HDR_OTHER;
        case 'r':
            if (tail_eq(name, "route", 5))
                return HDR_ROUTE;
            return HDR_OTHER;
        default:
            return HDR_OTHER;
        }
    case 6:
        switch (c) {
        case 'a':
            if (tail_eq(name, "accept", 6))
                return HDR_ACCEPT;
            return HDR_OTHER;
        case 'm':
            if (tail_eq(name, "min-se", 6))
                return HDR_MIN_SE;
            return HDR_OTHER;
        case 'r':
            if (tail_eq(name, "reason", 6))
                return HDR_REASON;
            return HDR_OTHER;
        case 's':
            if (tail_eq(name, "server", 6))
                return HDR_SERVER;
            return HDR_OTHER;
        default:
            return HDR_OTHER;
        }
    case 7:
        switch (c) {
        case 'c':
            if (tail_eq(name, "call-id", 7))
                return HDR_CALL_ID;
            if (tail_eq(name, "contact", 7))
                return HDR_CONTACT;
            return HDR_OTHER;
        case 'e':
            if (tail_eq(name, "expires", 7))
                return HDR_EXPIRES;
            return HDR_OTHER;
        case 'p':
            if (tail_eq(name, "privacy", 7))
                return HDR_PRIVACY;
            return HDR_OTHER;
        case 'r':
            if (tail_eq(name, "require", 7))
                return HDR_REQUIRE;
            return HDR_OTHER;
        case 's':
            if (tail_eq(name, "subject", 7))
                return HDR_SUBJECT;
            return HDR_OTHER;
        case 'w':
            if (tail_eq(name, "warning", 7))
                return HDR_WARNING;
            return HDR_OTHER;
        default:
            return HDR_OTHER;
        }
    case 8:
        switch (c) {
        case 'i':
            if (tail_eq(name, "identity", 8))
                return HDR_IDENTITY;
            return HDR_OTHER;
        case 'p':
            if (tail_eq(name, "priority", 8))
                return HDR_PRIORITY;
            return HDR_OTHER;
        case 'r':
            if (tail_eq(name, "refer-to", 8))
                return HDR_REFER_TO;
            if (tail_eq(name, "reply-to", 8))
                return HDR_REPLY_TO;
            return HDR_OTHER;
        default:
            return HDR_OTHER;
        }
    case 9:
        switch (c) {
        case 'c':
            if (tail_eq(name, "call-info", 9))
                return HDR_CALL_INFO;
            return HDR_OTHER;
        case 's':
            if (tail_eq(name, "supported", 9))
                return HDR_SUPPORTED;
            return HDR_OTHER;
        case 't':
            if (tail_eq(name, "timestamp", 9))
                return HDR_TIMESTAMP;
            return HDR_OTHER;
        default:
            return HDR_OTHER;
        }
    case 10:
        switch (c) {
        case 'a':
            if (tail_eq(name, "alert-info", 10))
                return HDR_ALERT_INFO;
            return HDR_OTHER;
        case 'e':
            if (tail_eq(name, "error-info", 10))
                return HDR_ERROR_INFO;
            return HDR_OTHER;
        case 'u':
            if (tail_eq(name, "user-agent", 10))
                return HDR_USER_AGENT;
            return HDR_OTHER;
        default:
            return HDR_OTHER;
        }
    case 11:
        switch (c) {
        case 'i':
            if (tail_eq(name, "in-reply-to", 11))
                return HDR_IN_REPLY_TO;
            return HDR_OTHER;
        case 'm':
            if (tail_eq(name, "min-expires", 11))
                return HDR_MIN_EXPIRES;
            return HDR_OTHER;
        case 'r':
            if (tail_eq(name, "referred-by", 11))
                return HDR_REFERRED_BY;
            if (tail_eq(name, "retry-after", 11))
                return HDR_RETRY_AFTER;
            return HDR_OTHER;
        case 'u':
            if (tail_eq(name, "unsupported", 11))
                return HDR_UNSUPPORTED;
            return HDR_OTHER;
        default:
            return HDR_OTHER;
        }
    case 12:
        switch (c) {
        case 'a':
            if (tail_eq(name, "allow-events", 12))
                return HDR_ALLOW_EVENTS;
            return HDR_OTHER;
        case 'c':
            if (tail_eq(name, "content-type", 12))
                return HDR_CONTENT_TYPE;
            return HDR_OTHER;
        case 'm':
            if (tail_eq(name, "max-forwards", 12))
                return HDR_MAX_FORWARDS;
            if (tail_eq(name, "mime-version", 12))
                return HDR_MIME_VERSION;
            return HDR_OTHER;
        case 'o':
            if (tail_eq(name, "organization", 12))
                return HDR_ORGANIZATION;
            return HDR_OTHER;
        case 'r':
            if (tail_eq(name, "record-route", 12))
                return HDR_RECORD_ROUTE;
            return HDR_OTHER;
        default:
            return HDR_OTHER;
        }
    case 13:
        switch (c) {
        case 'a':
            if (tail_eq(name, "authorization", 13))
                return HDR_AUTHORIZATION;
            return HDR_OTHER;
        case 'p':
            if (tail_eq(name, "proxy-require", 13))
                return HDR_PROXY_REQUIRE;
            return HDR_OTHER;
        default:
            return HDR_OTHER;
        }
    case 14:
        switch (c) {
        case 'a':
            if (tail_eq(name, "accept-contact", 14))
                return HDR_ACCEPT_CONTACT;
            return HDR_OTHER;
        case 'c':
            if (tail_eq(name, "content-length", 14))
                return HDR_CONTENT_LENGTH;
            return HDR_OTHER;
        case 'r':
            if (tail_eq(name, "reject-contact", 14))
                return HDR_REJECT_CONTACT;
            return HDR_OTHER;
        default:
            return HDR_OTHER;
        }
    case 15:
        switch (c) {
        case 'a':
            if (tail_eq(name, "accept-encoding", 15))
                return HDR_ACCEPT_ENCODING;
            if (tail_eq(name, "accept-language", 15))
                return HDR_ACCEPT_LANGUAGE;
            return HDR_OTHER;
        case 's':
            if (tail_eq(name, "session-expires", 15))
                return HDR_SESSION_EXPIRES;
            return HDR_OTHER;
        default:
            return HDR_OTHER;
        }
    case 16:
        switch (c) {
        case 'c':
            if (tail_eq(name, "content-encoding", 16))
                return HDR_CONTENT_ENCODING;
            if (tail_eq(name, "content-language", 16))
                return HDR_CONTENT_LANGUAGE;
            return HDR_OTHER;
        case 'w':
            if (tail_eq(name, "www-authenticate", 16))
                return HDR_WWW_AUTHENTICATE;
            return HDR_OTHER;
        default:
            return HDR_OTHER;
        }
    case 18:
        switch (c) {
        case 'p':
            if (tail_eq(name, "proxy-authenticate", 18))
                return HDR_PROXY_AUTHENTICATE;
            return HDR_OTHER;
        case 's':
            if (tail_eq(name, "subscription-state", 18))
                return HDR_SUBSCRIPTION_STATE;
            return HDR_OTHER;
        default:
            return HDR_OTHER;
        }
    case 19:
        switch (c) {
        case 'c':
            if (tail_eq(name, "content-disposition", 19))
                return HDR_CONTENT_DISPOSITION;
            return HDR_OTHER;
        case 'p':
            if (tail_eq(name, "proxy-authorization", 19))
                return HDR_PROXY_AUTHORIZATION;
            if (tail_eq(name, "p-asserted-identity", 19))
                return HDR_P_ASSERTED_IDENTITY;
            return HDR_OTHER;
        case 'r':
            if (tail_eq(name, "request-disposition", 19))
                return HDR_REQUEST_DISPOSITION;
            return HDR_OTHER;
        default:
            return HDR_OTHER;
        }
    case 20:
        switch (c) {
        case 'p':
            if (tail_eq(name, "p-preferred-identity", 20))
                return HDR_P_PREFERRED_IDENTITY;
            return HDR_OTHER;
        default:
            return HDR_OTHER;
        }
    default:
        return HDR_OTHER;
    }
}

const char *hdr_name(enum hdr_id id)
{
    return (unsigned)id < HDR_COUNT ? hdr_info[id].name : "";
}

bool hdr_is_list(enum hdr_id id)
{
    return (unsigned)id < HDR_COUNT && hdr_info[id].is_list;
}

const char *hdr_bad_reason(unsigned id)
{
    return id < HDR_COUNT && id != HDR_OTHER ? hdr_info[id].bad_reason : "Bad header";
}
