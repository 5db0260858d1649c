/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * SIP message model and zero-copy parser (RFC 3261 §7, §20, §25).
 *
 * A struct sipmsg is one heap block: the struct, its header index and a
 * private copy of the received bytes. Every slice points into that copy,
 * so the message is immutable after parsing and can be handed to another
 * worker whole. Owner: refcount (sipmsg_ref/unref); any thread may hold a
 * ref, but only one thread at a time may use a given ref.
 *
 * Parsed eagerly: start line, header index (names mapped to ids, compact
 * forms included), top Via, From, To (+tags), Call-ID, CSeq, Max-Forwards,
 * Content-Length, request-URI. Everything else is parsed on demand with
 * the sip/hdr.h helpers, or all at once by sipmsg_parse_full().
 */
#ifndef SW_SIP_SIPMSG_H
#define SW_SIP_SIPMSG_H

#include "core/util.h"
#include "sip/hdr.h"
#include "sip/sip_err.h"
#include "sip/uri.h"

#include <stdbool.h>
#include <stdint.h>

enum sip_method {
    SIP_METHOD_OTHER = 0,
    SIP_INVITE,
    SIP_ACK,
    SIP_BYE,
    SIP_CANCEL,
    SIP_REGISTER,
    SIP_OPTIONS,
    SIP_INFO,
    SIP_PRACK,
    SIP_UPDATE,
    SIP_SUBSCRIBE,
    SIP_NOTIFY,
    SIP_REFER,
    SIP_MESSAGE,
    SIP_PUBLISH,
};

enum sip_method sip_method_lookup(struct slice name);
const char *sip_method_name(enum sip_method m);

/* Bounds for one message; every field configurable (limits section). */
struct sip_limits {
    size_t max_msg_size;  /* bytes, whole message incl. body */
    unsigned max_headers; /* header fields (not values) */
    unsigned max_via;     /* Via values (multi-value fields count each) */
};
#define SIP_LIMITS_DEFAULT ((struct sip_limits){65535, 128, 70})

#define SIP_HDR_NONE UINT16_MAX

/* One header field as received (one line after unfolding). */
struct sip_hdr {
    struct slice name;  /* as received, e.g. "v" or "VIA" */
    struct slice value; /* trimmed; may contain folded CRLF+WSP inside */
    struct slice raw;   /* the whole field including its terminating CRLF */
    uint16_t id;        /* enum hdr_id */
    uint16_t next;      /* index of the next field with the same id, or SIP_HDR_NONE */
};

struct sipmsg {
    /* private: refcount and block bookkeeping */
    _Atomic unsigned refs;
    unsigned max_via; /* private: lim->max_via given to sipmsg_new */

    const char *buf; /* owned (same block): the received bytes */
    size_t len;

    bool is_request;
    /* request line */
    enum sip_method method;
    struct slice method_name;
    struct slice ruri_s;
    struct uri ruri;
    /* status line */
    unsigned status;
    struct slice reason;

    struct slice version; /* "SIP/2.0" */

    /* header index, in order of appearance */
    struct sip_hdr *hdrs; /* owned (same block) */
    unsigned hdr_count;
    unsigned hdr_cap;
    uint16_t first[HDR_COUNT]; /* first field per id, or SIP_HDR_NONE */
    uint16_t last[HDR_COUNT];  /* last field per id (for appending chains) */

    /* eagerly parsed */
    struct sip_via via1; /* first value of the first Via field */
    unsigned via_count;  /* Via values across all fields */
    struct sip_nameaddr from;
    struct sip_nameaddr to;
    struct slice call_id;
    struct sip_cseq cseq;
    int max_forwards;    /* -1 when absent */
    long content_length; /* -1 when absent */
    size_t head_len;     /* bytes up to and including the empty line */
    struct slice body;

    /* which of the five fields a 400 needs were parsed correctly */
    bool has_via, has_from, has_to, has_call_id, has_cseq;
};

/* Allocates a message holding a copy of data[0..len). NULL on ENOMEM or
 * when len exceeds lim->max_msg_size (errno EMSGSIZE). refs = 1. */
struct sipmsg *sipmsg_new(const char *data, size_t len, const struct sip_limits *lim);
struct sipmsg *sipmsg_ref(struct sipmsg *m);
void sipmsg_unref(struct sipmsg *m);

/* Parses the message (datagram semantics: the body is everything after
 * the empty line, and a Content-Length larger than that is an error, one
 * smaller truncates the body, RFC 3261 §18.3). Returns SIP_PARSE_OK or
 * SIP_PARSE_BAD with err filled. After BAD the has_* flags still tell
 * whether a 400 can be built (sipmsg_can_reply). */
int sipmsg_parse(struct sipmsg *m, struct sip_err *err) warn_unused_result;

/* Parses every header this code knows the grammar of (all Via, Contact,
 * Route, Record-Route values, From/To/Contact URIs, Expires, ...) and
 * reports the first error. Used by tests, fuzzers and the parse bench. */
int sipmsg_parse_full(const struct sipmsg *m, struct sip_err *err) warn_unused_result;

/* True when a request had Via, From, To, Call-ID and CSeq good enough to
 * address a 400 (RFC 3261 §8.2.2 / DESIGN.md input rules). Always false
 * for ACK, which never gets a response (RFC 3261 §17.2.1). */
bool sipmsg_can_reply(const struct sipmsg *m);

/* Stream framing (TCP/TLS, RFC 3261 §18.3): looks at buf[0..len) and
 * finds the end of the next message from its Content-Length (mandatory
 * on streams). Leading CRLFs (keep-alives, RFC 5626 §3.5.1) are counted in
 * *skip and are not part of the message. Returns SIP_PARSE_OK with
 * *msg_len set, SIP_PARSE_INCOMPLETE, or SIP_PARSE_BAD (no Content-Length,
 * or the message would exceed max). */
int sip_frame(const char *buf, size_t len, size_t max, size_t *skip, size_t *msg_len,
              struct sip_err *err) warn_unused_result;

/* Header access */
static inline const struct sip_hdr *sipmsg_hdr_first(const struct sipmsg *m, enum hdr_id id)
{
    return m->first[id] == SIP_HDR_NONE ? NULL : &m->hdrs[m->first[id]];
}
static inline const struct sip_hdr *sipmsg_hdr_next(const struct sipmsg *m, const struct sip_hdr *h)
{
    return h->next == SIP_HDR_NONE ? NULL : &m->hdrs[h->next];
}
/* First field whose name matches (case-insensitive; for HDR_OTHER names). */
const struct sip_hdr *sipmsg_hdr_by_name(const struct sipmsg *m, struct slice name);

#endif
