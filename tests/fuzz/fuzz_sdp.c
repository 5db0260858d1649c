/* SPDX-License-Identifier: BSD-2-Clause */
/* libFuzzer target for the SDP parser: sdp_parse() on arbitrary bodies,
 * then every accessor on what it returned. No state crosses inputs: the
 * arena is created and freed per input. */
#include "sip/sdp.h"

#include "core/arena.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Touches every slice so ASan sees any that points outside the input. */
static size_t touch(struct slice s)
{
    size_t sum = 0;
    for (size_t i = 0; i < s.len; i++)
        sum += (unsigned char)s.p[i];
    return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    /* A private copy with no spare bytes after it, so a read past the end
     * is caught. */
    char *body = malloc(size ? size : 1);
    if (!body)
        return 0;
    if (size)
        memcpy(body, data, size);
    struct arena *a = arena_new(4096, 1 << 20);
    struct sdp s;
    struct sip_err err;
    struct sdp_limits lim = SDP_LIMITS_DEFAULT;
    lim.max_media = 8;
    lim.max_attrs = 64;
    volatile size_t sink = 0;
    if (a && sdp_parse(&s, a, body, size, &lim, &err) == SIP_PARSE_OK) {
        sink += touch(s.origin.addr) + touch(s.session_name) + touch(s.conn.addr);
        for (unsigned i = 0; i < s.attr_count; i++)
            sink += touch(s.attrs[i].name) + touch(s.attrs[i].value);
        for (unsigned i = 0; i < s.time_count; i++)
            sink += touch(s.times[i].repeats);
        for (unsigned i = 0; i < s.media_count; i++) {
            const struct sdp_media *m = &s.media[i];
            sink += touch(m->raw) + touch(m->proto) + sdp_media_dir(&s, m);
            const struct sdp_conn *c = sdp_media_conn(&s, m);
            if (c)
                sink += touch(c->addr);
            for (unsigned k = 0; k < m->fmt_count; k++)
                sink += touch(m->fmts[k].fmt) + touch(m->fmts[k].encoding) + touch(m->fmts[k].fmtp);
            for (unsigned k = 0; k < m->attr_count; k++)
                sink += touch(m->attrs[k].value);
            for (unsigned k = 0; k < m->bw_count; k++)
                sink += m->bws[k].value;
            if (sdp_attr_find(m->attrs, m->attr_count, "rtpmap"))
                sink++;
        }
    } else if (a) {
        /* the error offset must be inside the input (or at its end) */
        if (err.offset > size)
            abort();
    }
    (void)sink;
    arena_free(a);
    free(body);
    return 0;
}
