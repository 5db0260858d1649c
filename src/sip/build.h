/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Building new SIP messages: local responses to a received request (a 100,
 * a 400 for a malformed request, a 404, a registrar's 200 ...) and small
 * requests of our own (OPTIONS pings). The B2BUA builds each leg's
 * messages here; a proxy forwarding a message uses sip/print.h instead.
 *
 * Output goes either to a struct buf (appended; on failure buf->len is
 * restored) or to a caller buffer. Every text that ends up inside a line
 * is refused with -EINVAL if it holds CR, LF or NUL (no header injection).
 * Nothing is retained: all arguments are borrowed for the call only.
 */
#ifndef SW_SIP_BUILD_H
#define SW_SIP_BUILD_H

#include "core/buf.h"
#include "core/util.h"
#include "sip/sipmsg.h"

#include <stdint.h>
#include <sys/types.h>

/* Options for a response; zero-initialise and set what applies. */
struct sipmsg_reply_opts {
    /* To tag to add when the request's To has none and code > 100
     * (RFC 3261 §8.2.6.2). Empty: one is made from rand[0..rand_len) as
     * hex (at most 16 bytes used); the caller supplies the randomness so
     * tags can carry a worker id and tests can be deterministic. */
    struct slice to_tag;
    const uint8_t *rand;
    size_t rand_len;
    /* Where the request came from, as the transport tells. When set,
     * received=src_ip is added to the top Via if RFC 3261 §18.2.1 or
     * RFC 3581 §4 want it, and a ";rport" asked for is filled with
     * src_port. src_ip is an IP literal without brackets. */
    struct slice src_ip;
    uint16_t src_port;
    struct slice server; /* Server value; empty: no Server field */
    /* Extra header lines, each "Name: value" without line end. */
    const struct slice *extra;
    unsigned extra_count;
    struct slice content_type; /* required when body is not empty */
    struct slice body;
};

/*
 * Appends to out a response to req with the given code (100..699) and
 * reason (empty: the RFC 3261 §21 phrase for code). Copies every Via field
 * in order (RFC 3261 §8.2.6.2), From, To (+ tag), Call-ID, CSeq, and for a
 * 100 the Timestamp (§8.2.6.1); then Server, the extra lines, Content-Type,
 * Content-Length and the body. req may be one whose parse failed as long
 * as sipmsg_can_reply() is true: only the eagerly parsed top Via and To
 * tag and the raw values of the other fields are used.
 * Returns 0, -EINVAL (bad arguments, no Via/From/To/Call-ID/CSeq, or a
 * tag is needed and neither to_tag nor rand is given), -ENOMEM/-EMSGSIZE
 * from the buf.
 */
int sipmsg_reply_build(struct buf *out, const struct sipmsg *req, unsigned code,
                       struct slice reason, const struct sipmsg_reply_opts *o) warn_unused_result;

/* Same into out[0..cap); returns the length or -EMSGSIZE / -EINVAL. */
ssize_t sipmsg_reply_build_into(char *out, size_t cap, const struct sipmsg *req, unsigned code,
                                struct slice reason,
                                const struct sipmsg_reply_opts *o) warn_unused_result;

/* RFC 3261 §21 reason phrase for a code ("Not Found"); the class's
 * generic phrase for unknown codes of a known class. Static string. */
const char *sip_reason_phrase(unsigned code);

/* A request of our own; zero-initialise and set the fields. */
struct sipmsg_request_opts {
    struct slice method;  /* "OPTIONS" */
    struct slice ruri;    /* Request-URI */
    struct slice via;     /* whole Via value, branch included */
    struct slice from;    /* whole From value, tag included */
    struct slice to;      /* whole To value */
    struct slice call_id; /* Call-ID value */
    uint32_t cseq;
    unsigned max_forwards; /* 0 means the default 70 (RFC 3261 §8.1.1.6) */
    struct slice contact;  /* empty: none */
    struct slice user_agent;
    const struct slice *extra; /* "Name: value" lines without line end */
    unsigned extra_count;
    struct slice content_type;
    struct slice body;
};

/* Appends the request to out: request line, Via, Max-Forwards, From, To,
 * Call-ID, CSeq (number and method), Contact, User-Agent, extra lines,
 * Content-Type, Content-Length, body. 0, -EINVAL, -ENOMEM, -EMSGSIZE. */
int sipmsg_request_build(struct buf *out, const struct sipmsg_request_opts *r) warn_unused_result;

#endif
