/* SPDX-License-Identifier: BSD-2-Clause */
/* libFuzzer target for the message parser: sipmsg_new, sipmsg_parse,
 * sipmsg_parse_full, sipmsg_can_reply, and the on-demand header helpers
 * over every field. No state crosses inputs. */
#include "sip/sipmsg.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_slice(const struct sipmsg *m, struct slice s)
{
    /* every slice the parser hands out lies inside the message copy */
    if (s.len && (s.p < m->buf || s.p + s.len > m->buf + m->len))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct sip_limits lim = {65535, 64, 16};
    struct sipmsg *m = sipmsg_new((const char *)data, size, &lim);
    if (!m)
        return 0;
    struct sip_err err;
    int rc = sipmsg_parse(m, &err);
    if (rc == SIP_PARSE_BAD && (!err.reason || err.offset > m->len))
        abort();
    (void)sipmsg_can_reply(m);
    if (rc == SIP_PARSE_OK) {
        if (sipmsg_parse_full(m, &err) == SIP_PARSE_BAD && !err.reason)
            abort();
        check_slice(m, m->body);
        check_slice(m, m->via1.branch);
        check_slice(m, m->from.tag);
        check_slice(m, m->ruri.host);
    }
    for (unsigned i = 0; i < m->hdr_count; i++) {
        const struct sip_hdr *h = &m->hdrs[i];
        check_slice(m, h->value);
        check_slice(m, h->raw);
        (void)sipmsg_hdr_by_name(m, h->name);
        struct slice rest = h->value, item, v;
        unsigned n = 0;
        while (hdr_list_next(&rest, &item) && n++ < 64) {
            check_slice(m, item);
            struct sip_nameaddr na;
            if (hdr_parse_nameaddr(&na, item, &err) == SIP_PARSE_OK) {
                (void)hdr_param_find(na.params, "expires", &v);
                (void)uri_param_find(na.uri.params, "transport", &v);
            }
        }
    }
    sipmsg_unref(m);
    return 0;
}
