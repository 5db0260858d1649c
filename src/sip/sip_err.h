/* SPDX-License-Identifier: BSD-2-Clause */
/* Parser results shared by the SIP, URI and SDP parsers. */
#ifndef SW_SIP_SIP_ERR_H
#define SW_SIP_SIP_ERR_H

#include <stddef.h>

enum sip_parse_rc {
    SIP_PARSE_BAD = -1,
    SIP_PARSE_OK = 0,
    SIP_PARSE_INCOMPLETE = 1, /* stream transports: need more bytes */
};

/* Filled on SIP_PARSE_BAD. reason is a static string fit to be a 400
 * reason phrase ("Bad CSeq", "Missing Call-ID", ...); offset is where in
 * the input the problem was found. */
struct sip_err {
    const char *reason;
    size_t offset;
};

#endif
