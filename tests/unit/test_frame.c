/* SPDX-License-Identifier: BSD-2-Clause */
/* Stream framing (sip_frame in sip/sipmsg.h). */
#include "sip/sipmsg.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static const char MSG[] = "OPTIONS sip:a@example.com SIP/2.0\r\n"
                          "Via: SIP/2.0/TCP h.example.com;branch=z9hG4bK1\r\n"
                          "Content-Length: 5\r\n"
                          "\r\n"
                          "hello";

static int frame(const char *buf, size_t len, size_t max, size_t *skip, size_t *msg_len,
                 const char **reason)
{
    struct sip_err err = {NULL, 0};
    int rc = sip_frame(buf, len, max, skip, msg_len, &err);
    if (reason)
        *reason = err.reason;
    return rc;
}

static void test_complete_message_is_framed_by_content_length(void **state)
{
    (void)state;
    size_t skip = 99, len = 0;
    assert_int_equal(frame(MSG, strlen(MSG), 65535, &skip, &len, NULL), SIP_PARSE_OK);
    assert_int_equal(skip, 0);
    assert_int_equal(len, strlen(MSG));
}

static void test_keepalive_crlfs_are_skipped_before_a_message(void **state)
{
    (void)state;
    char buf[512];
    snprintf(buf, sizeof(buf), "\r\n\r\n\r\n%s", MSG);
    size_t skip = 0, len = 0;
    assert_int_equal(frame(buf, strlen(buf), 65535, &skip, &len, NULL), SIP_PARSE_OK);
    assert_int_equal(skip, 6);
    assert_int_equal(len, strlen(MSG));
}

static void test_keepalive_alone_is_incomplete_with_its_bytes_skipped(void **state)
{
    (void)state;
    size_t skip = 0, len = 0;
    assert_int_equal(frame("\r\n\r\n", 4, 65535, &skip, &len, NULL), SIP_PARSE_INCOMPLETE);
    assert_int_equal(skip, 4);
    assert_int_equal(frame("\r\n", 2, 65535, &skip, &len, NULL), SIP_PARSE_INCOMPLETE);
    assert_int_equal(skip, 2);
    assert_int_equal(frame("", 0, 65535, &skip, &len, NULL), SIP_PARSE_INCOMPLETE);
    assert_int_equal(skip, 0);
}

static void test_every_proper_prefix_is_incomplete(void **state)
{
    (void)state;
    for (size_t n = 1; n < strlen(MSG); n++) {
        size_t skip = 0, len = 0;
        if (frame(MSG, n, 65535, &skip, &len, NULL) != SIP_PARSE_INCOMPLETE)
            fail_msg("prefix of %zu bytes not incomplete", n);
    }
}

static void test_second_message_in_the_buffer_is_left_for_the_next_call(void **state)
{
    (void)state;
    char buf[1024];
    snprintf(buf, sizeof(buf), "%s%s", MSG, MSG);
    size_t skip = 0, len = 0;
    assert_int_equal(frame(buf, strlen(buf), 65535, &skip, &len, NULL), SIP_PARSE_OK);
    assert_int_equal(len, strlen(MSG));
    assert_int_equal(frame(buf + len, strlen(buf) - len, 65535, &skip, &len, NULL), SIP_PARSE_OK);
    assert_int_equal(len, strlen(MSG));
}

static void test_compact_content_length_and_bare_lf_are_understood(void **state)
{
    (void)state;
    const char *m = "OPTIONS sip:a@b SIP/2.0\nl:  3\n\nabc";
    size_t skip = 0, len = 0;
    assert_int_equal(frame(m, strlen(m), 65535, &skip, &len, NULL), SIP_PARSE_OK);
    assert_int_equal(len, strlen(m));
    const char *f = "OPTIONS sip:a@b SIP/2.0\r\nContent-Length:\r\n 3\r\n\r\nabc";
    assert_int_equal(frame(f, strlen(f), 65535, &skip, &len, NULL), SIP_PARSE_OK);
    assert_int_equal(len, strlen(f));
}

static void test_missing_or_bad_content_length_is_rejected(void **state)
{
    (void)state;
    size_t skip = 0, len = 0;
    const char *reason = NULL;
    const char *m = "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h\r\n\r\n";
    assert_int_equal(frame(m, strlen(m), 65535, &skip, &len, &reason), SIP_PARSE_BAD);
    assert_string_equal(reason, "Missing Content-Length");
    m = "OPTIONS sip:a@b SIP/2.0\r\nContent-Length: -1\r\n\r\n";
    assert_int_equal(frame(m, strlen(m), 65535, &skip, &len, &reason), SIP_PARSE_BAD);
    assert_string_equal(reason, "Bad Content-Length");
    m = "OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 1\r\nl: 2\r\n\r\nab";
    assert_int_equal(frame(m, strlen(m), 65535, &skip, &len, &reason), SIP_PARSE_BAD);
    assert_string_equal(reason, "Duplicate Content-Length");
}

static void test_oversized_messages_are_rejected_before_they_arrive(void **state)
{
    (void)state;
    size_t skip = 0, len = 0;
    const char *reason = NULL;
    /* headers never end within the limit */
    char big[300];
    memset(big, 'a', sizeof(big));
    memcpy(big, "OPTIONS sip:a@b SIP/2.0\r\nX: ", 28);
    assert_int_equal(frame(big, sizeof(big), 256, &skip, &len, &reason), SIP_PARSE_BAD);
    assert_string_equal(reason, "Message too large");
    assert_int_equal(frame(big, 200, 256, &skip, &len, &reason), SIP_PARSE_INCOMPLETE);
    /* Content-Length announces more than the limit */
    const char *m = "OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 1000\r\n\r\n";
    assert_int_equal(frame(m, strlen(m), 256, &skip, &len, &reason), SIP_PARSE_BAD);
    assert_string_equal(reason, "Message too large");
    m = "OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 99999999999999999999\r\n\r\n";
    assert_int_equal(frame(m, strlen(m), 256, &skip, &len, &reason), SIP_PARSE_BAD);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_complete_message_is_framed_by_content_length),
        cmocka_unit_test(test_keepalive_crlfs_are_skipped_before_a_message),
        cmocka_unit_test(test_keepalive_alone_is_incomplete_with_its_bytes_skipped),
        cmocka_unit_test(test_every_proper_prefix_is_incomplete),
        cmocka_unit_test(test_second_message_in_the_buffer_is_left_for_the_next_call),
        cmocka_unit_test(test_compact_content_length_and_bare_lf_are_understood),
        cmocka_unit_test(test_missing_or_bad_content_length_is_rejected),
        cmocka_unit_test(test_oversized_messages_are_rejected_before_they_arrive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
