/* SPDX-License-Identifier: BSD-2-Clause */
/* libFuzzer target for sip_frame: frames every message of a stream buffer
 * (small limit, to reach the size checks) and parses each one framed. */
#include "sip/sipmsg.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct sip_limits lim = {4096, 64, 16};
    const char *p = (const char *)data;
    size_t off = 0;
    for (int rounds = 0; rounds < 64 && off <= size; rounds++) {
        size_t skip = 0, len = 0;
        struct sip_err err;
        int rc = sip_frame(p + off, size - off, lim.max_msg_size, &skip, &len, &err);
        if (skip > size - off)
            abort();
        if (rc != SIP_PARSE_OK)
            break;
        if (len == 0 || len > lim.max_msg_size || skip + len > size - off)
            abort();
        struct sipmsg *m = sipmsg_new(p + off + skip, len, &lim);
        if (!m)
            abort();
        if (sipmsg_parse(m, &err) == SIP_PARSE_OK)
            (void)!sipmsg_parse_full(m, &err);
        sipmsg_unref(m);
        off += skip + len;
    }
    return 0;
}
