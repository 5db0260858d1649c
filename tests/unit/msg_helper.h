/* SPDX-License-Identifier: BSD-2-Clause */
/* Shared by the unit tests: a message that must parse. Include after
 * <cmocka.h>. */
#ifndef SW_TEST_MSG_HELPER_H
#define SW_TEST_MSG_HELPER_H

#include "sip/sipmsg.h"

#include <string.h>

/* Parses s[0..len) with the default limits; fails the test, naming the
 * parser's reason and offset, if it does not parse. Caller unrefs. */
static inline struct sipmsg *test_msg_parse(const char *s, size_t len)
{
    struct sip_limits lim = SIP_LIMITS_DEFAULT;
    struct sip_err err = {0};
    struct sipmsg *m = sipmsg_new(s, len, &lim);
    assert_non_null(m);
    if (sipmsg_parse(m, &err) != SIP_PARSE_OK)
        fail_msg("parse: %s at %zu in:\n%.*s", err.reason, err.offset, (int)len, s);
    return m;
}

static inline struct sipmsg *test_msg_parse_str(const char *s)
{
    return test_msg_parse(s, strlen(s));
}

#endif
