/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for digest authentication (sec/auth): RFC 7616 vectors,
 * challenge/response round trips, stale nonces, replays, bad credentials. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sec/auth.h"
#include "sec/auth_int.h"
#include "sip/sipmsg.h"

#define REALM "example.com"
#define T0 1000000u

static char dir[] = "/tmp/sw-authXXXXXX";
static char users_path[256];

/* RFC 7616 §3.9.1 parameters. */
static struct auth_creds rfc_creds(void)
{
    struct auth_creds c;
    memset(&c, 0, sizeof(c));
    c.username = SLICE_LIT("Mufasa");
    c.realm = SLICE_LIT("http-auth@example.org");
    c.uri = SLICE_LIT("/dir/index.html");
    c.nonce = SLICE_LIT("7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v");
    c.nc = SLICE_LIT("00000001");
    c.cnonce = SLICE_LIT("f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ");
    c.qop = SLICE_LIT("auth");
    return c;
}

static void check_vector(enum auth_algo algo, const char *expect)
{
    struct auth_creds c = rfc_creds();
    uint8_t ha1[AUTH_HASH_MAX];
    char out[2 * AUTH_HASH_MAX + 1];
    auth_ha1(algo, c.username, c.realm, SLICE_LIT("Circle of Life"), ha1);
    auth_response(algo, ha1, SLICE_LIT("GET"), &c, out);
    assert_string_equal(out, expect);
}

static void test_rfc7616_sha256_example_gives_its_response(void **state)
{
    (void)state;
    check_vector(AUTH_ALG_SHA256,
                 "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
}

static void test_rfc7616_md5_example_gives_its_response(void **state)
{
    (void)state;
    check_vector(AUTH_ALG_MD5, "8ca523f5e9506fed4657c9700eebdbec");
}

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(dir))
        return -1;
    snprintf(users_path, sizeof(users_path), "%s/users.yaml", dir);
    return auth_users_passwd(users_path, REALM, "alice", "s3cret") == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    unlink(users_path);
    rmdir(dir);
    return 0;
}

static struct auth *mk_auth(void)
{
    struct auth_conf c = {0};
    char err[256];
    c.users = users_path;
    c.nonce_ttl_ms = 300000;
    c.nonce_table_size = 1024;
    struct auth *a = auth_new(&c, err, sizeof(err));
    assert_non_null(a);
    return a;
}

static struct sipmsg *mk_req(const char *method, const char *ruri, const char *hdr)
{
    char text[4096];
    struct sip_limits lim = SIP_LIMITS_DEFAULT;
    struct sip_err err;
    int n = snprintf(text, sizeof(text),
                     "%s %s SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1\r\n"
                     "From: <sip:alice@example.com>;tag=1\r\n"
                     "To: <sip:alice@example.com>\r\n"
                     "Call-ID: c1@192.0.2.1\r\n"
                     "CSeq: 1 %s\r\n"
                     "Max-Forwards: 70\r\n"
                     "%s%s"
                     "Content-Length: 0\r\n\r\n",
                     method, ruri, method, hdr ? hdr : "", hdr ? "\r\n" : "");
    struct sipmsg *m = sipmsg_new(text, (size_t)n, &lim);
    assert_non_null(m);
    assert_int_equal(sipmsg_parse(m, &err), SIP_PARSE_OK);
    return m;
}

/* Copies param="..." of a challenge line. */
static void param_of(const char *line, const char *name, char *out, size_t cap)
{
    char pat[32];
    snprintf(pat, sizeof(pat), "%s=\"", name);
    const char *p = strstr(line, pat);
    assert_non_null(p);
    p += strlen(pat);
    const char *e = strchr(p, '"');
    assert_non_null(e);
    assert_true((size_t)(e - p) < cap);
    memcpy(out, p, (size_t)(e - p));
    out[e - p] = '\0';
}

struct client {
    enum auth_algo algo;
    const char *user, *pass, *method, *uri, *nc;
    char nonce[128], opaque[64];
};

/* What a UA sends: an Authorization value answering the challenge. */
static void client_answer(const struct client *cl, char *out, size_t cap)
{
    struct auth_creds c;
    uint8_t ha1[AUTH_HASH_MAX];
    char resp[2 * AUTH_HASH_MAX + 1];
    memset(&c, 0, sizeof(c));
    c.username = slice_cstr(cl->user);
    c.realm = SLICE_LIT(REALM);
    c.uri = slice_cstr(cl->uri);
    c.nonce = slice_cstr(cl->nonce);
    c.nc = slice_cstr(cl->nc);
    c.cnonce = SLICE_LIT("0a4f113b");
    c.qop = SLICE_LIT("auth");
    auth_ha1(cl->algo, c.username, c.realm, slice_cstr(cl->pass), ha1);
    auth_response(cl->algo, ha1, slice_cstr(cl->method), &c, resp);
    snprintf(out, cap,
             "Digest username=\"%s\", realm=\"" REALM "\", nonce=\"%s\", uri=\"%s\", "
             "response=\"%s\", algorithm=%s, cnonce=\"0a4f113b\", nc=%s, qop=auth, opaque=\"%s\"",
             cl->user, cl->nonce, cl->uri, resp, auth_algo_name(cl->algo), cl->nc, cl->opaque);
}

static void challenge(struct auth *a, struct client *cl, uint64_t now)
{
    struct auth_challenge ch;
    assert_int_equal(auth_challenge_build(a, &ch, AUTH_KIND_WWW, REALM, false, now), 0);
    unsigned i = cl->algo == AUTH_ALG_SHA256 ? 0 : 1;
    param_of(ch.lines[i].p, "nonce", cl->nonce, sizeof(cl->nonce));
    param_of(ch.lines[i].p, "opaque", cl->opaque, sizeof(cl->opaque));
}

static enum auth_result send_creds(struct auth *a, const struct client *cl, uint64_t now,
                                   struct auth_verdict *v)
{
    char val[1024], hdr[1100];
    client_answer(cl, val, sizeof(val));
    snprintf(hdr, sizeof(hdr), "Authorization: %s", val);
    struct sipmsg *m = mk_req(cl->method, "sip:example.com", hdr);
    enum auth_result r = auth_check(a, m, AUTH_KIND_WWW, REALM, now, v);
    sipmsg_unref(m);
    return r;
}

static struct client alice(enum auth_algo algo)
{
    struct client cl = {.algo = algo,
                        .user = "alice",
                        .pass = "s3cret",
                        .method = "REGISTER",
                        .uri = "sip:example.com",
                        .nc = "00000001"};
    return cl;
}

static void round_trip(enum auth_algo algo)
{
    struct auth *a = mk_auth();
    struct auth_verdict v;
    struct client cl = alice(algo);
    challenge(a, &cl, T0);
    assert_int_equal(send_creds(a, &cl, T0 + 10, &v), AUTH_OK);
    assert_string_equal(v.user, "alice");
    assert_int_equal(v.algo, algo);
    auth_free(a);
}

static void test_sha256_challenge_response_round_trip_is_ok(void **state)
{
    (void)state;
    round_trip(AUTH_ALG_SHA256);
}

static void test_md5_challenge_response_round_trip_is_ok(void **state)
{
    (void)state;
    round_trip(AUTH_ALG_MD5);
}

static void test_challenge_offers_sha256_before_md5(void **state)
{
    (void)state;
    struct auth *a = mk_auth();
    struct auth_challenge ch;
    assert_int_equal(auth_challenge_build(a, &ch, AUTH_KIND_WWW, REALM, false, T0), 0);
    assert_int_equal(ch.count, 2);
    assert_non_null(strstr(ch.lines[0].p, "WWW-Authenticate: Digest realm=\"example.com\""));
    assert_non_null(strstr(ch.lines[0].p, "algorithm=SHA-256"));
    assert_non_null(strstr(ch.lines[1].p, "algorithm=MD5"));
    assert_non_null(strstr(ch.lines[0].p, "qop=\"auth\""));
    assert_null(strstr(ch.lines[0].p, "stale"));
    assert_int_equal(auth_challenge_build(a, &ch, AUTH_KIND_PROXY, REALM, true, T0), 0);
    assert_non_null(strstr(ch.lines[0].p, "Proxy-Authenticate: Digest"));
    assert_non_null(strstr(ch.lines[1].p, "stale=true"));
    /* a realm that cannot be quoted is refused */
    assert_int_equal(auth_challenge_build(a, &ch, AUTH_KIND_WWW, "a\r\nX: y", false, T0), -EINVAL);
    auth_free(a);
}

static void test_reply_code_is_401_for_register_and_407_otherwise(void **state)
{
    (void)state;
    struct sipmsg *reg = mk_req("REGISTER", "sip:example.com", NULL);
    struct sipmsg *inv = mk_req("INVITE", "sip:bob@example.com", NULL);
    assert_int_equal(auth_reply_code(auth_kind_for(reg)), 401);
    assert_int_equal(auth_reply_code(auth_kind_for(inv)), 407);
    sipmsg_unref(reg);
    sipmsg_unref(inv);
}

static void test_request_without_credentials_is_challenged(void **state)
{
    (void)state;
    struct auth *a = mk_auth();
    struct auth_verdict v;
    struct sipmsg *m = mk_req("REGISTER", "sip:example.com", NULL);
    assert_int_equal(auth_check(a, m, AUTH_KIND_WWW, REALM, T0, &v), AUTH_CHALLENGE);
    /* credentials for another realm are not ours either */
    sipmsg_unref(m);
    m = mk_req("REGISTER", "sip:example.com",
               "Authorization: Digest username=\"a\", realm=\"other.org\", nonce=\"n\", "
               "uri=\"sip:example.com\", response=\"00\"");
    assert_int_equal(auth_check(a, m, AUTH_KIND_WWW, REALM, T0, &v), AUTH_CHALLENGE);
    sipmsg_unref(m);
    auth_free(a);
}

static void test_expired_nonce_with_right_password_is_stale(void **state)
{
    (void)state;
    struct auth *a = mk_auth();
    struct auth_verdict v;
    struct client cl = alice(AUTH_ALG_SHA256);
    challenge(a, &cl, T0);
    assert_int_equal(send_creds(a, &cl, T0 + 300001, &v), AUTH_STALE);
    /* but a wrong password on an expired nonce is a failure, not stale */
    cl.pass = "guess";
    assert_int_equal(send_creds(a, &cl, T0 + 300001, &v), AUTH_FAILED);
    auth_free(a);
}

static void test_replayed_nonce_count_is_refused(void **state)
{
    (void)state;
    struct auth *a = mk_auth();
    struct auth_verdict v;
    struct client cl = alice(AUTH_ALG_SHA256);
    challenge(a, &cl, T0);
    assert_int_equal(send_creds(a, &cl, T0 + 1, &v), AUTH_OK);
    assert_int_equal(send_creds(a, &cl, T0 + 2, &v), AUTH_FAILED);
    assert_string_equal(v.reason, "nonce-count replayed");
    cl.nc = "00000002";
    assert_int_equal(send_creds(a, &cl, T0 + 3, &v), AUTH_OK);
    cl.nc = "00000001"; /* lower than the highest seen */
    assert_int_equal(send_creds(a, &cl, T0 + 4, &v), AUTH_FAILED);
    auth_free(a);
}

static void test_wrong_password_fails(void **state)
{
    (void)state;
    struct auth *a = mk_auth();
    struct auth_verdict v;
    struct client cl = alice(AUTH_ALG_MD5);
    cl.pass = "guess";
    challenge(a, &cl, T0);
    assert_int_equal(send_creds(a, &cl, T0 + 1, &v), AUTH_FAILED);
    assert_string_equal(v.user, "alice");
    auth_free(a);
}

static void test_unknown_user_fails_like_a_wrong_password(void **state)
{
    (void)state;
    struct auth *a = mk_auth();
    struct auth_verdict v, w;
    struct client cl = alice(AUTH_ALG_SHA256);
    cl.user = "mallory";
    challenge(a, &cl, T0);
    assert_int_equal(send_creds(a, &cl, T0 + 1, &v), AUTH_FAILED);
    cl = alice(AUTH_ALG_SHA256);
    cl.pass = "guess";
    challenge(a, &cl, T0);
    assert_int_equal(send_creds(a, &cl, T0 + 1, &w), AUTH_FAILED);
    /* the same result, so the same reply; only the log reason differs */
    assert_int_equal(v.result, w.result);
    assert_string_equal(v.reason, "unknown user");
    auth_free(a);
}

static void test_malformed_credentials_are_bad(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "Authorization: Digest",
        "Authorization: Digest username",
        "Authorization: Digest username=\"alice",
        "Authorization: Digest username=alice realm=example.com",
        "Authorization: Digest username=\"a\", username=\"b\", realm=\"example.com\"",
        "Authorization: Digest realm=\"example.com\", username=\"a\\",
        "Authorization: Digest realm=\"example.com\", ,",
        /* missing qop/nc/cnonce for our realm */
        "Authorization: Digest username=\"alice\", realm=\"example.com\", nonce=\"x\", "
        "uri=\"sip:example.com\", response=\"00\"",
        /* unsupported algorithm */
        "Authorization: Digest username=\"alice\", realm=\"example.com\", nonce=\"x\", "
        "uri=\"sip:example.com\", response=\"00\", algorithm=SHA-512-256, qop=auth, "
        "nc=00000001, cnonce=\"c\"",
        /* nc not 8 hex digits */
        "Authorization: Digest username=\"alice\", realm=\"example.com\", nonce=\"x\", "
        "uri=\"sip:example.com\", response=\"00\", qop=auth, nc=1, cnonce=\"c\"",
        /* response of the wrong length for MD5 */
        "Authorization: Digest username=\"alice\", realm=\"example.com\", nonce=\"x\", "
        "uri=\"sip:example.com\", response=\"00\", qop=auth, nc=00000001, cnonce=\"c\"",
    };
    struct auth *a = mk_auth();
    struct auth_verdict v;
    for (size_t i = 0; i < SW_ARRAY_LEN(bad); i++) {
        struct sipmsg *m = mk_req("REGISTER", "sip:example.com", bad[i]);
        assert_int_equal(auth_check(a, m, AUTH_KIND_WWW, REALM, T0, &v), AUTH_BAD);
        assert_non_null(v.reason);
        sipmsg_unref(m);
    }
    auth_free(a);
}

static void test_digest_uri_other_than_request_uri_is_bad(void **state)
{
    (void)state;
    struct auth *a = mk_auth();
    struct auth_verdict v;
    struct client cl = alice(AUTH_ALG_SHA256);
    cl.uri = "sip:other.example.com";
    challenge(a, &cl, T0);
    assert_int_equal(send_creds(a, &cl, T0 + 1, &v), AUTH_BAD);
    assert_string_equal(v.reason, "Digest uri does not match Request-URI");
    /* an equivalent spelling (host case) is accepted, RFC 3261 §19.1.4 */
    cl.uri = "sip:EXAMPLE.com";
    challenge(a, &cl, T0);
    assert_int_equal(send_creds(a, &cl, T0 + 1, &v), AUTH_OK);
    auth_free(a);
}

static void test_nonce_not_issued_here_is_challenged(void **state)
{
    (void)state;
    struct auth *a = mk_auth(), *b = mk_auth();
    struct auth_verdict v;
    struct client cl = alice(AUTH_ALG_SHA256);
    challenge(b, &cl, T0); /* another start: another secret */
    assert_int_equal(send_creds(a, &cl, T0 + 1, &v), AUTH_CHALLENGE);
    auth_free(a);
    auth_free(b);
}

static void test_proxy_authorization_is_read_for_proxy_kind(void **state)
{
    (void)state;
    struct auth *a = mk_auth();
    struct auth_verdict v;
    struct client cl = alice(AUTH_ALG_SHA256);
    char val[1024], hdr[1100];
    cl.method = "INVITE";
    cl.uri = "sip:bob@example.com";
    challenge(a, &cl, T0);
    client_answer(&cl, val, sizeof(val));
    snprintf(hdr, sizeof(hdr), "Proxy-Authorization: %s", val);
    struct sipmsg *m = mk_req("INVITE", "sip:bob@example.com", hdr);
    assert_int_equal(auth_check(a, m, AUTH_KIND_WWW, REALM, T0, &v), AUTH_CHALLENGE);
    assert_int_equal(auth_check(a, m, AUTH_KIND_PROXY, REALM, T0, &v), AUTH_OK);
    sipmsg_unref(m);
    auth_free(a);
}

static void test_parser_unescapes_quoted_pairs_and_skips_unknown_params(void **state)
{
    (void)state;
    struct auth_creds c;
    const char *why = NULL;
    struct slice v = SLICE_LIT("Digest username=\"a\\\"b\\\\c\" ,realm = \"r\",\r\n foo=bar, "
                               "qop=auth");
    assert_int_equal(auth_creds_parse(&c, v, &why), 1);
    assert_true(slice_eq(c.username, SLICE_LIT("a\"b\\c")));
    assert_true(slice_eq(c.realm, SLICE_LIT("r")));
    assert_true(slice_eq(c.qop, SLICE_LIT("auth")));
    assert_null(c.nonce.p);
    assert_int_equal(auth_creds_parse(&c, SLICE_LIT("Basic YWxhZGRpbg=="), &why), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc7616_sha256_example_gives_its_response),
        cmocka_unit_test(test_rfc7616_md5_example_gives_its_response),
        cmocka_unit_test(test_sha256_challenge_response_round_trip_is_ok),
        cmocka_unit_test(test_md5_challenge_response_round_trip_is_ok),
        cmocka_unit_test(test_challenge_offers_sha256_before_md5),
        cmocka_unit_test(test_reply_code_is_401_for_register_and_407_otherwise),
        cmocka_unit_test(test_request_without_credentials_is_challenged),
        cmocka_unit_test(test_expired_nonce_with_right_password_is_stale),
        cmocka_unit_test(test_replayed_nonce_count_is_refused),
        cmocka_unit_test(test_wrong_password_fails),
        cmocka_unit_test(test_unknown_user_fails_like_a_wrong_password),
        cmocka_unit_test(test_malformed_credentials_are_bad),
        cmocka_unit_test(test_digest_uri_other_than_request_uri_is_bad),
        cmocka_unit_test(test_nonce_not_issued_here_is_challenged),
        cmocka_unit_test(test_proxy_authorization_is_read_for_proxy_kind),
        cmocka_unit_test(test_parser_unescapes_quoted_pairs_and_skips_unknown_params),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
