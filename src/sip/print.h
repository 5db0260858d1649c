/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Edit list ("sipedit") for forwarding a received message: a proxy records
 * what it changes (Request-URI, a Via on top, a removed Route, received=
 * and rport= on the top Via, a new body ...) and the printer emits the
 * original bytes with the edits spliced in, so untouched spans are copied
 * verbatim or, with sipedit_print_iov(), not copied at all (Kamailio's
 * lumps idea). The received message is never modified.
 *
 * Each edit replaces one byte range [start, end) of the original message
 * (an insertion is an empty range). Edits are applied in buffer order
 * whatever order they were added in; several insertions at one point keep
 * the order they were added in, before any edit that starts there. An edit
 * that overlaps another (or inserts strictly inside another's range) is
 * rejected with -EINVAL, so two parts of a proxy cannot silently clobber
 * each other.
 *
 * Owner: the caller (usually on the stack). m and a are borrowed and must
 * outlive the sipedit; the texts given to the edit functions are copied
 * into a (the iteration arena), so callers may pass temporaries. Texts
 * that end up inside a header line (values, names, URIs) are refused with
 * -EINVAL if they hold CR or LF: no header injection through an edit.
 * Single thread.
 */
#ifndef SW_SIP_PRINT_H
#define SW_SIP_PRINT_H

#include "core/arena.h"
#include "core/util.h"
#include "sip/sipmsg.h"

#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

/* Bound on edits per message: a proxy makes a handful; 32 leaves room for
 * header rules without letting a rule set build an unbounded list. */
#define SIPEDIT_MAX 32

/* Positions for sipedit_hdr_insert() besides a header index. */
#define SIPEDIT_HDR_TOP (-1) /* before the first header field */
#define SIPEDIT_HDR_END (-2) /* after the last header field */

struct sipedit_op {
    size_t start, end; /* range of the original message replaced */
    struct slice text; /* borrowed from the arena; may be empty */
    unsigned seq;      /* order of addition, for insertions at one point */
    bool binds_left;   /* insertion that completes the text before it ("=5060"
                          after a bare ";rport"): printed before others there */
};

struct sipedit {
    const struct sipmsg *m; /* borrowed */
    struct arena *a;        /* borrowed: holds the edit texts */
    size_t msg_len;         /* bytes of the original message (head + body) */
    unsigned count;
    unsigned seq;
    struct sipedit_op ops[SIPEDIT_MAX];
};

/* Starts an empty edit list for a parsed message. */
void sipedit_init(struct sipedit *e, const struct sipmsg *m, struct arena *a);

/* Replaces the Request-URI (requests only; -EINVAL on a response or a
 * URI with CR, LF, SP or HTAB). */
int sipedit_ruri_set(struct sipedit *e, struct slice uri) warn_unused_result;

/* Removes header field idx (index in m->hdrs) with its line end. */
int sipedit_hdr_remove(struct sipedit *e, unsigned idx) warn_unused_result;

/* Replaces the whole value of field idx; the name stays as received. */
int sipedit_hdr_set_value(struct sipedit *e, unsigned idx, struct slice value) warn_unused_result;

/* Inserts "name: value\r\n" before field 'before' (an index into m->hdrs),
 * or at SIPEDIT_HDR_TOP / SIPEDIT_HDR_END of the header block. */
int sipedit_hdr_insert(struct sipedit *e, int before, struct slice name,
                       struct slice value) warn_unused_result;

/* Removes the first value of a comma-separated field (RFC 3261 §7.3.1),
 * with its comma; removes the whole field when it holds one value. */
int sipedit_hdr_remove_first_value(struct sipedit *e, unsigned idx) warn_unused_result;

/* Inserts a Via value on top of the message (before the first Via field,
 * or at the top of the headers if there is none; RFC 3261 §16.6 step 8). */
int sipedit_via_push(struct sipedit *e, struct slice value) warn_unused_result;

/* Removes the topmost Via value, even when it shares its line with others
 * (a proxy forwarding a response, RFC 3261 §16.7 step 3). -ENOENT if the
 * message has no Via. */
int sipedit_via_pop(struct sipedit *e) warn_unused_result;

/* Sets ";name=value" on the top Via value: appends it, fills a bare
 * ";name" ("rport" -> "rport=5060", RFC 3581 §4) or replaces an existing
 * value. An empty value appends a bare ";name" (left alone if present).
 * -ENOENT if the message has no parsed top Via. */
int sipedit_via_set_param(struct sipedit *e, const char *name,
                          struct slice value) warn_unused_result;

/* Applies RFC 3261 §18.2.1 and RFC 3581 §4 for a request received from
 * src_ip:src_port: adds received=src_ip when the sent-by host differs from
 * it or the Via has rport, and fills rport with src_port when the Via has a
 * rport parameter. src_ip is an IP literal without brackets. */
int sipedit_via_received(struct sipedit *e, struct slice src_ip,
                         uint16_t src_port) warn_unused_result;

/* Replaces the body. Content-Length is set to body.len (its value
 * replaced, or a field added at the end of the headers). A non-empty
 * content_type sets Content-Type the same way; an empty body removes any
 * Content-Type (RFC 3261 §20.15 ties it to a body). */
int sipedit_body_set(struct sipedit *e, struct slice content_type,
                     struct slice body) warn_unused_result;

/* Adds "Content-Length: <body length>" when the message has none, as a
 * message going out on a stream transport needs (RFC 3261 §18.3,
 * §20.14). 0 (nothing to do) when the field is there. */
int sipedit_content_length_fix(struct sipedit *e) warn_unused_result;

/* Bytes the printed message will take. */
size_t sipedit_len(const struct sipedit *e);

/* Prints the edited message into out[0..cap). Returns its length, or
 * -EMSGSIZE when it does not fit (out is then unspecified). */
ssize_t sipedit_print(const struct sipedit *e, char *out, size_t cap) warn_unused_result;

/* Fills iov[0..cap) for writev/sendmsg: untouched spans point into the
 * received buffer, edit texts into the arena (both borrowed: keep the
 * message and the arena until the send is done). Returns the number of
 * entries used, at most 2 * count + 1, or -EMSGSIZE when cap is too small. */
int sipedit_print_iov(const struct sipedit *e, struct iovec *iov, unsigned cap) warn_unused_result;

/* Locates ";name[=value]" in a
 * parameter list (without its leading ';'), name case-insensitive, LWS
 * around ';' and '=' allowed. On success *pname and *pvalue are slices of
 * params (pvalue empty with p at the end of the name for a bare name). */
bool sipedit_param_locate(struct slice params, const char *name, struct slice *pname,
                          struct slice *pvalue, bool *has_value);

/* True when RFC 3261 §18.2.1 / RFC 3581 §4 want received= on this Via for
 * a request from src_ip (sent-by differs, or the Via asked for rport). */
bool sipedit_via_needs_received(const struct sip_via *v, struct slice src_ip);

#endif
