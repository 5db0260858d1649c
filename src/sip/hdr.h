/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Header ids (long and compact names, RFC 3261 §7.3.3 and later RFCs) and
 * in-place parsers for header values: comma-separated lists with quotes,
 * angle brackets and escapes respected (RFC 3261 §7.3.1), Via, name-addr /
 * addr-spec with parameters, CSeq, generic parameters.
 */
#ifndef SW_SIP_HDR_H
#define SW_SIP_HDR_H

#include "core/util.h"
#include "sip/sip_err.h"
#include "sip/uri.h"

#include <stdbool.h>
#include <stdint.h>

enum hdr_id {
    HDR_OTHER = 0,
    HDR_VIA,
    HDR_FROM,
    HDR_TO,
    HDR_CALL_ID,
    HDR_CSEQ,
    HDR_CONTACT,
    HDR_MAX_FORWARDS,
    HDR_CONTENT_LENGTH,
    HDR_CONTENT_TYPE,
    HDR_CONTENT_ENCODING,
    HDR_CONTENT_DISPOSITION,
    HDR_ROUTE,
    HDR_RECORD_ROUTE,
    HDR_PATH,
    HDR_EXPIRES,
    HDR_MIN_EXPIRES,
    HDR_AUTHORIZATION,
    HDR_PROXY_AUTHORIZATION,
    HDR_WWW_AUTHENTICATE,
    HDR_PROXY_AUTHENTICATE,
    HDR_USER_AGENT,
    HDR_SERVER,
    HDR_ALLOW,
    HDR_ALLOW_EVENTS,
    HDR_SUPPORTED,
    HDR_REQUIRE,
    HDR_PROXY_REQUIRE,
    HDR_UNSUPPORTED,
    HDR_ACCEPT,
    HDR_ACCEPT_ENCODING,
    HDR_ACCEPT_LANGUAGE,
    HDR_EVENT,
    HDR_SUBJECT,
    HDR_SESSION_EXPIRES,
    HDR_MIN_SE,
    HDR_P_ASSERTED_IDENTITY,
    HDR_P_PREFERRED_IDENTITY,
    HDR_PRIVACY,
    HDR_REFER_TO,
    HDR_REFERRED_BY,
    HDR_RSEQ,
    HDR_RACK,
    HDR_REASON,
    HDR_DATE,
    HDR_TIMESTAMP,
    HDR_ORGANIZATION,
    HDR_WARNING,
    HDR_RETRY_AFTER,
    HDR_IDENTITY,
    HDR_ACCEPT_CONTACT,
    HDR_REJECT_CONTACT,
    HDR_REQUEST_DISPOSITION,
    HDR_MIME_VERSION,
    HDR_CALL_INFO,
    HDR_ALERT_INFO,
    HDR_ERROR_INFO,
    HDR_IN_REPLY_TO,
    HDR_PRIORITY,
    HDR_REPLY_TO,
    HDR_CONTENT_LANGUAGE,
    HDR_SUBSCRIPTION_STATE,
    HDR_COUNT
};

/* Maps a header name (long or compact, any case) to its id; HDR_OTHER if
 * unknown. */
enum hdr_id hdr_id_lookup(const char *name, size_t len);
/* Canonical long name ("Call-ID"); "" for HDR_OTHER. */
const char *hdr_name(enum hdr_id id);
/* True for headers whose grammar allows a comma-separated list
 * (Via, Contact, Route, Record-Route, Allow, Supported, ...). */
bool hdr_is_list(enum hdr_id id);

/*
 * Iterates the comma-separated values of a field value. *rest is the
 * unread remainder (start with the field value); on success *item is the
 * next trimmed value. Commas inside "quoted strings" (with \-escapes) and
 * <angle brackets> do not split. Returns false when no value is left.
 */
bool hdr_list_next(struct slice *rest, struct slice *item);

/* Finds ";name[=value]" in params (the text after the first ';', without
 * it); case-insensitive name; value has surrounding quotes kept. */
bool hdr_param_find(struct slice params, const char *name, struct slice *value);

/* One Via value (RFC 3261 §20.42, §18.2.1, RFC 3581). */
struct sip_via {
    struct slice raw;       /* the whole via-parm */
    struct slice protocol;  /* "SIP/2.0" */
    struct slice transport; /* "UDP", "TCP", ... */
    struct slice host;      /* sent-by host, IPv6 with brackets */
    uint16_t port;          /* 0 when absent */
    bool has_port;
    struct slice params; /* after the first ';', without it */
    struct slice branch;
    struct slice received;
    struct slice maddr;
    struct slice rport; /* value; empty for a bare ";rport" */
    bool has_rport;
};
int hdr_parse_via(struct sip_via *v, struct slice item, struct sip_err *err) warn_unused_result;

/* name-addr or addr-spec with header parameters (From, To, Contact,
 * Route, Record-Route, Path, P-Asserted-Identity, Refer-To, ...). For an
 * addr-spec without <>, parameters after the URI belong to the header
 * (RFC 3261 §20.10). */
struct sip_nameaddr {
    struct slice raw;
    struct slice display; /* without quotes' removal; may be empty */
    struct slice uri_s;
    struct uri uri;
    struct slice params; /* header params after the first ';', without it */
    struct slice tag;
    bool is_star; /* Contact: * */
};
int hdr_parse_nameaddr(struct sip_nameaddr *na, struct slice item,
                       struct sip_err *err) warn_unused_result;

struct sip_cseq {
    uint32_t num;
    struct slice method_s;
    int method; /* enum sip_method */
};
int hdr_parse_cseq(struct sip_cseq *c, struct slice value, struct sip_err *err) warn_unused_result;

#endif
