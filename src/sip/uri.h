/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sip:, sips: and tel: URIs (RFC 3261 §19.1, §25.1; RFC 3966), parsed in
 * place: every field is a slice of the input, which must outlive the uri.
 */
#ifndef SW_SIP_URI_H
#define SW_SIP_URI_H

#include "core/util.h"
#include "sip/sip_err.h"

#include <stdbool.h>
#include <stdint.h>

enum uri_scheme { URI_SIP, URI_SIPS, URI_TEL, URI_OTHER };
enum uri_host_type { URI_HOST_NONE, URI_HOST_NAME, URI_HOST_IPV4, URI_HOST_IPV6 };

struct uri {
    enum uri_scheme scheme;
    enum uri_host_type host_type;
    struct slice raw;      /* the whole URI */
    struct slice scheme_s; /* "sip", "SIPS", ... as written */
    struct slice user;     /* still %-escaped; tel: the number */
    struct slice password;
    struct slice host; /* IPv6 references keep their brackets */
    struct slice port_s;
    uint16_t port; /* 0 when absent */
    bool has_port;
    bool has_user;
    struct slice params;  /* after the first ';' of the hostport, without it */
    struct slice headers; /* after '?', without it */
    /* Frequently used parameters, found during the parse. */
    struct slice transport;
    struct slice maddr;
    bool has_lr;
};

/* Parses s (no surrounding <>). Non-sip/tel schemes are accepted as
 * URI_OTHER (absoluteURI) with only scheme_s and raw set.
 * Returns SIP_PARSE_OK or SIP_PARSE_BAD (err filled). */
int uri_parse(struct uri *u, struct slice s, struct sip_err *err) warn_unused_result;
/* Finds ";name[=value]" in a parameter list (without leading ';'),
 * case-insensitive on the name. value is empty for a flag parameter. */
bool uri_param_find(struct slice params, const char *name, struct slice *value);
/* RFC 3261 §19.1.4 comparison of two sip/sips URIs. */
bool uri_equal(const struct uri *a, const struct uri *b);

#endif
