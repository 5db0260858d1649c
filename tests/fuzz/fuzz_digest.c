/* SPDX-License-Identifier: BSD-2-Clause */
/* libFuzzer target for the digest credentials parser (auth_creds_parse):
 * the input is one Authorization header value. */
#include "sec/auth_int.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_inside(const struct auth_creds *c, struct slice s)
{
    if (s.p && (s.p < c->store || s.p + s.len > c->store + sizeof(c->store)))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct auth_creds c;
    const char *why = NULL;
    if (size > 8192)
        return 0;
    int rc = auth_creds_parse(&c, slice_make((const char *)data, size), &why);
    if (rc < 0 && !why)
        abort();
    if (rc != 1)
        return 0;
    const struct slice all[] = {c.username,  c.realm,  c.nonce, c.uri, c.response,
                                c.algorithm, c.cnonce, c.nc,    c.qop, c.opaque};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        check_inside(&c, all[i]);
        if (all[i].len > AUTH_VALUE_MAX)
            abort();
    }
    (void)auth_algo_parse(c.algorithm);
    return 0;
}
