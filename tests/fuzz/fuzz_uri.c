/* SPDX-License-Identifier: BSD-2-Clause */
/* libFuzzer target for uri_parse, uri_param_find and uri_equal. The input
 * is split at the first NUL into two URIs so comparison sees pairs. */
#include "sip/uri.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    const char *nul = memchr(p, '\0', size);
    struct slice a = slice_make(p, nul ? (size_t)(nul - p) : size);
    struct slice b = nul ? slice_make(nul + 1, size - a.len - 1) : a;
    struct uri ua, ub;
    struct sip_err err;
    int ra = uri_parse(&ua, a, &err);
    if (ra == SIP_PARSE_BAD && (!err.reason || err.offset > a.len))
        abort();
    if (ra != SIP_PARSE_OK)
        return 0;
    struct slice v;
    (void)uri_param_find(ua.params, "transport", &v);
    (void)uri_param_find(ua.params, "lr", &v);
    /* comparison is reflexive */
    if (ua.scheme != URI_OTHER && !uri_equal(&ua, &ua))
        abort();
    if (uri_parse(&ub, b, &err) == SIP_PARSE_OK) {
        /* and symmetric */
        if (uri_equal(&ua, &ub) != uri_equal(&ub, &ua))
            abort();
    }
    return 0;
}
