/* SPDX-License-Identifier: BSD-2-Clause */
/* SDP parser (RFC 4566): real offers, limits and malformed input. */
#include "sip/sdp.h"

#include "core/arena.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static struct arena *g_arena;

static int setup(void **state)
{
    (void)state;
    g_arena = arena_new(4096, 1 << 20);
    return g_arena ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    arena_free(g_arena);
    return 0;
}

/* Test bodies are written with "\n"; crlf() turns them into the CRLF
 * form most peers send, in a buffer owned by the arena. */
static const char *crlf(const char *lf, size_t *len)
{
    size_t n = strlen(lf), k = 0;
    char *out = arena_alloc(g_arena, 2 * n + 1);
    assert_non_null(out);
    for (size_t i = 0; i < n; i++) {
        if (lf[i] == '\n')
            out[k++] = '\r';
        out[k++] = lf[i];
    }
    out[k] = '\0';
    *len = k;
    return out;
}

static int parse_crlf(struct sdp *s, const char *lf, const struct sdp_limits *lim,
                      struct sip_err *err)
{
    size_t len;
    const char *b = crlf(lf, &len);
    return sdp_parse(s, g_arena, b, len, lim, err);
}

static void assert_slice(struct slice s, const char *want)
{
    assert_int_equal(s.len, strlen(want));
    assert_memory_equal(s.p, want, s.len);
}

static const char CISCO[] = "v=0\n"
                            "o=CiscoSystemsSIP-GW-UserAgent 8519 5170 IN IP4 192.0.2.10\n"
                            "s=SIP Call\n"
                            "c=IN IP4 192.0.2.10\n"
                            "t=0 0\n"
                            "m=audio 16434 RTP/AVP 0 8 18 101\n"
                            "c=IN IP4 192.0.2.11\n"
                            "a=rtpmap:0 PCMU/8000\n"
                            "a=rtpmap:8 PCMA/8000\n"
                            "a=rtpmap:18 G729/8000\n"
                            "a=fmtp:18 annexb=no\n"
                            "a=rtpmap:101 telephone-event/8000\n"
                            "a=fmtp:101 0-16\n"
                            "a=ptime:20\n";

static void test_cisco_offer_parses_formats_rtpmap_fmtp_and_ptime(void **state)
{
    (void)state;
    struct sdp s;
    struct sip_err err = {0};
    assert_int_equal(parse_crlf(&s, CISCO, NULL, &err), SIP_PARSE_OK);
    assert_slice(s.origin.username, "CiscoSystemsSIP-GW-UserAgent");
    assert_slice(s.origin.sess_id, "8519");
    assert_slice(s.origin.sess_version, "5170");
    assert_int_equal(s.origin.addrtype, SDP_ADDR_IP4);
    assert_slice(s.origin.addr, "192.0.2.10");
    assert_slice(s.session_name, "SIP Call");
    assert_true(s.conn.present);
    assert_slice(s.conn.addr, "192.0.2.10");
    assert_int_equal(s.time_count, 1);
    assert_int_equal(s.times[0].start, 0);
    assert_int_equal(s.media_count, 1);

    const struct sdp_media *m = &s.media[0];
    assert_slice(m->media, "audio");
    assert_int_equal(m->port, 16434);
    assert_int_equal(m->port_count, 1);
    assert_slice(m->proto, "RTP/AVP");
    assert_int_equal(m->fmt_count, 4);
    assert_int_equal(m->fmts[0].pt, 0);
    assert_true(m->fmts[0].has_rtpmap);
    assert_slice(m->fmts[0].encoding, "PCMU");
    assert_int_equal(m->fmts[0].clock_rate, 8000);
    assert_int_equal(m->fmts[0].channels, 1);
    assert_slice(m->fmts[2].encoding, "G729");
    assert_slice(m->fmts[2].fmtp, "annexb=no");
    assert_slice(m->fmts[3].encoding, "telephone-event");
    assert_slice(m->fmts[3].fmtp, "0-16");
    assert_int_equal(m->ptime_ms, 20);
    assert_int_equal(m->attr_count, 7);
    assert_int_equal(s.attr_count, 0);
    /* media-level c= overrides the session's */
    assert_slice(sdp_media_conn(&s, m)->addr, "192.0.2.11");
    assert_int_equal(sdp_media_dir(&s, m), SDP_DIR_SENDRECV);
    assert_ptr_equal(sdp_media_fmt_by_pt(m, 18), &m->fmts[2]);
    assert_null(sdp_media_fmt_by_pt(m, 9));
    /* the section runs to the end of the body */
    assert_int_equal(m->raw.p + m->raw.len, s.raw.p + s.raw.len);
}

static const char ASTERISK[] = "v=0\n"
                               "o=- 1234567890 1234567892 IN IP4 198.51.100.5\n"
                               "s=Asterisk\n"
                               "c=IN IP4 198.51.100.5\n"
                               "t=0 0\n"
                               "a=sendonly\n"
                               "m=audio 10000 RTP/AVP 9 0 8 101\n"
                               "a=rtpmap:9 G722/8000\n"
                               "a=rtpmap:0 PCMU/8000\n"
                               "a=rtpmap:8 PCMA/8000\n"
                               "a=rtpmap:101 telephone-event/8000\n"
                               "a=fmtp:101 0-16\n"
                               "a=ptime:20\n"
                               "a=maxptime:150\n"
                               "m=video 0 RTP/AVP 99\n"
                               "a=rtpmap:99 H264/90000\n"
                               "a=fmtp:99 profile-level-id=42e01f;packetization-mode=1\n"
                               "a=inactive\n";

static void test_asterisk_offer_with_two_media_and_directions(void **state)
{
    (void)state;
    struct sdp s;
    struct sip_err err = {0};
    assert_int_equal(parse_crlf(&s, ASTERISK, NULL, &err), SIP_PARSE_OK);
    assert_int_equal(s.media_count, 2);
    assert_int_equal(s.dir, SDP_DIR_SENDONLY);
    assert_int_equal(s.attr_count, 1);
    /* audio inherits the session's sendonly; video has its own */
    assert_int_equal(sdp_media_dir(&s, &s.media[0]), SDP_DIR_SENDONLY);
    assert_int_equal(sdp_media_dir(&s, &s.media[1]), SDP_DIR_INACTIVE);
    assert_int_equal(s.media[0].maxptime_ms, 150);
    assert_int_equal(s.media[1].port, 0);
    assert_slice(s.media[1].fmts[0].encoding, "H264");
    assert_int_equal(s.media[1].fmts[0].clock_rate, 90000);
    assert_slice(s.media[1].fmts[0].fmtp, "profile-level-id=42e01f;packetization-mode=1");
    /* no media-level c=: the session's applies */
    assert_ptr_equal(sdp_media_conn(&s, &s.media[1]), &s.conn);
    /* sections tile the body after the session part */
    assert_ptr_equal(s.media[0].raw.p + s.media[0].raw.len, s.media[1].raw.p);
    assert_int_equal(strncmp(s.media[1].raw.p, "m=video", 7), 0);
    assert_non_null(sdp_attr_find(s.media[0].attrs, s.media[0].attr_count, "maxptime"));
    assert_null(sdp_attr_find(s.media[0].attrs, s.media[0].attr_count, "inactive"));
}

static const char TEAMS[] =
    "v=0\n"
    "o=- 0 0 IN IP4 52.114.76.76\n"
    "s=session\n"
    "c=IN IP4 52.114.76.76\n"
    "b=CT:10000000\n"
    "t=0 0\n"
    "m=audio 52236 RTP/SAVP 104 9 111 18 0 8 97 101 13 118\n"
    "c=IN IP4 52.114.76.76\n"
    "a=rtcp:52237\n"
    "a=ice-ufrag:Tnbw\n"
    "a=ice-pwd:ZlJN5zFxIhhRxMXlKRHfXOMv\n"
    "a=candidate:1 1 UDP 2130706431 52.114.76.76 52236 typ srflx raddr 10.0.0.4 rport 52236\n"
    "a=x-candidate-ipv6:1 1 UDP 2130706431 2603:1063:2:3::17 52236 typ host\n"
    "a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:Ip0z7b2C6tI3W9+zh8QxS3dP7j0iQeQ2nA1Gq8Qy|2^31\n"
    "a=label:main-audio\n"
    "a=rtpmap:104 SILK/16000\n"
    "a=rtpmap:9 G722/8000\n"
    "a=rtpmap:111 SIREN/16000\n"
    "a=fmtp:111 bitrate=16000\n"
    "a=rtpmap:18 G729/8000\n"
    "a=fmtp:18 annexb=no\n"
    "a=rtpmap:0 PCMU/8000\n"
    "a=rtpmap:8 PCMA/8000\n"
    "a=rtpmap:97 RED/8000\n"
    "a=rtpmap:101 telephone-event/8000\n"
    "a=fmtp:101 0-16\n"
    "a=rtpmap:13 CN/8000\n"
    "a=rtpmap:118 CN/16000\n"
    "a=ptime:20\n";

static void test_teams_offer_with_srtp_ice_and_rtcp(void **state)
{
    (void)state;
    struct sdp s;
    struct sip_err err = {0};
    assert_int_equal(parse_crlf(&s, TEAMS, NULL, &err), SIP_PARSE_OK);
    assert_int_equal(s.bw_count, 1);
    assert_slice(s.bws[0].type, "CT");
    assert_int_equal(s.bws[0].value, 10000000);
    const struct sdp_media *m = &s.media[0];
    assert_slice(m->proto, "RTP/SAVP");
    assert_int_equal(m->fmt_count, 10);
    assert_true(m->has_rtcp);
    assert_int_equal(m->rtcp_port, 52237);
    assert_false(m->rtcp_conn.present);
    for (unsigned i = 0; i < m->fmt_count; i++)
        assert_true(m->fmts[i].has_rtpmap);
    assert_slice(sdp_media_fmt_by_pt(m, 118)->encoding, "CN");
    assert_int_equal(sdp_media_fmt_by_pt(m, 118)->clock_rate, 16000);
    const struct sdp_attr *cr = sdp_attr_find(m->attrs, m->attr_count, "crypto");
    assert_non_null(cr);
    assert_true(cr->has_value);
    assert_int_equal(strncmp(cr->value.p, "2 AES_CM_128_HMAC_SHA1_80 inline:", 33), 0);
}

/* WebRTC-style offer over IPv6, LF-only line ends, no final line end. */
static const char IPV6_LF[] = "v=0\n"
                              "o=alice 2890844526 2890844527 IN IP6 2001:db8::1\n"
                              "s=-\n"
                              "c=IN IP6 2001:db8::1\n"
                              "t=0 0\n"
                              "a=group:BUNDLE 0 1\n"
                              "m=audio 49170 UDP/TLS/RTP/SAVPF 111 0\n"
                              "a=rtpmap:111 opus/48000/2\n"
                              "a=fmtp:111 minptime=10;useinbandfec=1\n"
                              "a=rtcp:49171 IN IP6 2001:db8::2\n"
                              "a=recvonly\n"
                              "m=video 49172 RTP/AVPF 96\n"
                              "c=IN IP6 2001:db8::3\n"
                              "a=rtpmap:96 VP8/90000\n"
                              "m=application 5000 UDP/DTLS/SCTP webrtc-datachannel\n"
                              "a=sctp-port:5000";

static void test_ipv6_lf_only_offer_with_opus_channels_and_datachannel(void **state)
{
    (void)state;
    struct sdp s;
    struct sip_err err = {0};
    assert_int_equal(sdp_parse(&s, g_arena, IPV6_LF, strlen(IPV6_LF), NULL, &err), SIP_PARSE_OK);
    assert_int_equal(s.origin.addrtype, SDP_ADDR_IP6);
    assert_int_equal(s.conn.addrtype, SDP_ADDR_IP6);
    assert_slice(s.conn.addr, "2001:db8::1");
    assert_false(s.conn.is_name);
    assert_int_equal(s.media_count, 3);
    const struct sdp_media *a = &s.media[0];
    assert_slice(a->fmts[0].encoding, "opus");
    assert_int_equal(a->fmts[0].clock_rate, 48000);
    assert_int_equal(a->fmts[0].channels, 2);
    assert_slice(a->fmts[0].fmtp, "minptime=10;useinbandfec=1");
    assert_false(a->fmts[1].has_rtpmap); /* static PT 0 without rtpmap */
    assert_int_equal(a->rtcp_port, 49171);
    assert_true(a->rtcp_conn.present);
    assert_slice(a->rtcp_conn.addr, "2001:db8::2");
    assert_int_equal(a->dir, SDP_DIR_RECVONLY);
    assert_slice(s.media[1].conn.addr, "2001:db8::3");
    const struct sdp_media *d = &s.media[2];
    assert_slice(d->media, "application");
    assert_int_equal(d->fmts[0].pt, -1); /* not an RTP profile */
    assert_slice(d->fmts[0].fmt, "webrtc-datachannel");
    assert_slice(d->attrs[0].value, "5000");
}

static void test_multicast_connection_ttl_and_count(void **state)
{
    (void)state;
    struct sdp s;
    struct sip_err err = {0};
    const char *b = "v=0\no=- 1 1 IN IP4 host.example.com\ns=x\nc=IN IP4 224.2.1.1/127/3\n"
                    "t=2873397496 2873404696\nr=7d 1h 0 25h\nr=604800 3600 0 90000\n"
                    "z=2882844526 -1h 2898848070 0\n"
                    "m=audio 49170/2 RTP/AVP 0\nc=IN IP6 ff15::101/3\n";
    assert_int_equal(parse_crlf(&s, b, NULL, &err), SIP_PARSE_OK);
    assert_true(s.origin.addr.len > 0);
    assert_int_equal(s.conn.ttl, 127);
    assert_int_equal(s.conn.addr_count, 3);
    assert_slice(s.conn.addr, "224.2.1.1");
    assert_int_equal(s.times[0].start, 2873397496u);
    assert_int_equal(s.times[0].repeat_count, 2);
    assert_int_equal(strncmp(s.times[0].repeats.p, "r=7d 1h 0 25h\r\nr=604800", 23), 0);
    assert_slice(s.zone, "2882844526 -1h 2898848070 0");
    assert_int_equal(s.media[0].port_count, 2);
    assert_int_equal(s.media[0].conn.addr_count, 3);
    assert_slice(s.media[0].conn.addr, "ff15::101");
}

static void test_fqdn_connection_address_is_marked_as_name(void **state)
{
    (void)state;
    struct sdp s;
    struct sip_err err = {0};
    const char *b = "v=0\no=- 1 1 IN IP4 a.example\ns=x\nc=IN IP4 media.example.net\nt=0 0\n"
                    "m=audio 4000 RTP/AVP 8\n";
    assert_int_equal(parse_crlf(&s, b, NULL, &err), SIP_PARSE_OK);
    assert_true(s.conn.is_name);
}

static void test_trailing_empty_line_is_tolerated(void **state)
{
    (void)state;
    struct sdp s;
    struct sip_err err = {0};
    const char *b = "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=x\nt=0 0\nm=audio 4000 RTP/AVP 8\n\n";
    assert_int_equal(parse_crlf(&s, b, NULL, &err), SIP_PARSE_OK);
    assert_int_equal(s.media_count, 1);
}

/* Each case: body (LF form, sent as CRLF) -> expected reason and the line
 * where the offset must point. */
struct bad_case {
    const char *body;
    const char *reason;
    const char *at; /* err.offset is its last occurrence in the body; NULL: not checked */
};

#define HDR "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=x\n"

static const struct bad_case bad_cases[] = {
    {"o=- 1 1 IN IP4 192.0.2.1\nv=0\ns=x\n", "SDP does not start with v=", "o="},
    {"v=1\no=- 1 1 IN IP4 192.0.2.1\ns=x\n", "Unsupported SDP version", "v=1"},
    {"v=0\ns=x\no=- 1 1 IN IP4 192.0.2.1\n", "SDP o= line must follow v=", "s=x"},
    {"v=0\no=- 1 1 IN IP4 192.0.2.1\nt=0 0\n", "SDP s= line must follow o=", "t=0"},
    {"v=0\no=- 1 1 IN IP4 192.0.2.1\n", "SDP lacks v=, o= or s= line", NULL},
    {"v=0\no=- 1 IN IP4 192.0.2.1\ns=x\n", "Bad SDP origin line", "o="},
    {"v=0\no=- x1 1 IN IP4 192.0.2.1\ns=x\n", "Bad session id in SDP origin", "o="},
    {HDR "c=IN IP4 192.0.2.300\n", "Bad IPv4 address in SDP", "c="},
    {HDR "c=IN IP6 2001:db8::g\n", "Bad IPv6 address in SDP", "c="},
    {HDR "c=IN IP4\n", "Bad SDP connection line", "c="},
    {HDR "c=IN IP4 192.0.2.1\nc=IN IP4 192.0.2.2\n", "Duplicate session-level SDP connection line",
     "c=IN IP4 192.0.2.2"},
    {HDR "t=0 0\ny=0100000001\n", "Unknown SDP line type", "y="},
    {HDR "r=7d 1h 0\n", "SDP repeat line without time line", "r="},
    {HDR "t=0 0\na=x\nr=7d 1h 0\n", "SDP repeat line without time line", "r="},
    {HDR "t=0 0\nr=7d 1h\n", "Bad SDP repeat line", "r="},
    {HDR "t=0\n", "Bad SDP time line", "t="},
    {HDR "t=0 0\nm=audio 4000 RTP/AVP 0\nu=http://x\n", "Session-level SDP line in media section",
     "u="},
    {HDR "t=0 0\nm=audio 4000 RTP/AVP 0\nt=0 0\n", "Session-level SDP line in media section",
     "t=0 0"},
    {HDR "m=audio 70000 RTP/AVP 0\n", "Bad SDP media port", "m="},
    {HDR "m=audio 4000 RTP/AVP 200\n", "Bad RTP payload type in SDP media line", "m="},
    {HDR "m=audio 4000 RTP/AVP\n", "No formats in SDP media line", "m="},
    {HDR "m=audio 4000\n", "Bad SDP media line", "m="},
    {HDR "m=audio 4000/0 RTP/AVP 0\n", "Bad SDP media port count", "m="},
    {HDR "m=audio 4000 RTP/AVP 0\na=rtpmap:0 PCMU\n", "Bad SDP rtpmap attribute", "a=rtpmap"},
    {HDR "m=audio 4000 RTP/AVP 0\na=rtpmap:0 PCMU/0\n", "Bad clock rate in SDP rtpmap", "a=rtpmap"},
    {HDR "m=audio 4000 RTP/AVP 0\na=rtpmap:0 PCMU/8000/x\n", "Bad channels in SDP rtpmap",
     "a=rtpmap"},
    {HDR "m=audio 4000 RTP/AVP 0\na=ptime:abc\n", "Bad SDP ptime attribute", "a=ptime"},
    {HDR "m=audio 4000 RTP/AVP 0\na=rtcp:99999\n", "Bad SDP rtcp attribute", "a=rtcp"},
    {HDR "a=:x\n", "Bad SDP attribute name", "a=:"},
    {HDR "b=AS\n", "Bad SDP bandwidth line", "b="},
    {HDR "b=AS:fast\n", "Bad SDP bandwidth value", "b="},
    {HDR "\nt=0 0\n", "Empty line in SDP", NULL},
    {HDR "t 0 0\n", "Bad SDP line", "t 0"},
    {HDR "T=0 0\n", "Bad SDP line type", "T="},
    {HDR "v=0\n", "Duplicate SDP v=, o= or s= line", "v=0"},
};

static void test_malformed_lines_are_rejected_with_reason_and_offset(void **state)
{
    (void)state;
    for (size_t i = 0; i < SW_ARRAY_LEN(bad_cases); i++) {
        const struct bad_case *c = &bad_cases[i];
        struct sdp s;
        struct sip_err err = {0};
        /* LF form so the offsets can be checked against the literal */
        int rc = sdp_parse(&s, g_arena, c->body, strlen(c->body), NULL, &err);
        if (rc != SIP_PARSE_BAD || strcmp(err.reason, c->reason) != 0)
            fail_msg("case %zu: rc %d reason '%s', want '%s'", i, rc,
                     err.reason ? err.reason : "(null)", c->reason);
        if (c->at) {
            const char *found = NULL;
            for (const char *p = strstr(c->body, c->at); p; p = strstr(p + 1, c->at))
                found = p;
            assert_non_null(found);
            if (err.offset != (size_t)(found - c->body))
                fail_msg("case %zu: offset %zu, want %zu", i, err.offset,
                         (size_t)(found - c->body));
        }
        /* the CRLF form gives the same verdict */
        struct sip_err err2 = {0};
        assert_int_equal(parse_crlf(&s, c->body, NULL, &err2), SIP_PARSE_BAD);
        assert_string_equal(err2.reason, c->reason);
    }
}

static void test_nul_and_bare_cr_inside_a_line_are_rejected(void **state)
{
    (void)state;
    struct sdp s;
    struct sip_err err = {0};
    static const char nul[] = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=a\0b\r\n";
    assert_int_equal(sdp_parse(&s, g_arena, nul, sizeof(nul) - 1, NULL, &err), SIP_PARSE_BAD);
    assert_string_equal(err.reason, "NUL in SDP line");
    assert_int_equal(err.offset, 34);
    static const char cr[] = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=a\rb\r\n";
    assert_int_equal(sdp_parse(&s, g_arena, cr, sizeof(cr) - 1, NULL, &err), SIP_PARSE_BAD);
    assert_string_equal(err.reason, "Bare CR in SDP line");
}

static void test_limits_on_media_attrs_formats_bandwidth_and_size_are_enforced(void **state)
{
    (void)state;
    struct sdp s;
    struct sip_err err = {0};
    struct sdp_limits lim = SDP_LIMITS_DEFAULT;

    lim.max_media = 1;
    assert_int_equal(parse_crlf(&s, ASTERISK, &lim, &err), SIP_PARSE_BAD);
    assert_string_equal(err.reason, "Too many SDP media sections");
    lim = SDP_LIMITS_DEFAULT;
    lim.max_media = 2;
    assert_int_equal(parse_crlf(&s, ASTERISK, &lim, &err), SIP_PARSE_OK);

    lim = SDP_LIMITS_DEFAULT;
    lim.max_attrs = 5;
    assert_int_equal(parse_crlf(&s, CISCO, &lim, &err), SIP_PARSE_BAD);
    assert_string_equal(err.reason, "Too many SDP attributes");

    lim = SDP_LIMITS_DEFAULT;
    lim.max_formats = 9;
    assert_int_equal(parse_crlf(&s, TEAMS, &lim, &err), SIP_PARSE_BAD);
    assert_string_equal(err.reason, "Too many SDP formats");
    lim.max_formats = 10;
    assert_int_equal(parse_crlf(&s, TEAMS, &lim, &err), SIP_PARSE_OK);

    lim = SDP_LIMITS_DEFAULT;
    lim.max_bandwidths = 0;
    assert_int_equal(parse_crlf(&s, TEAMS, &lim, &err), SIP_PARSE_BAD);
    assert_string_equal(err.reason, "Too many SDP bandwidth lines");

    lim = SDP_LIMITS_DEFAULT;
    lim.max_times = 0;
    assert_int_equal(parse_crlf(&s, CISCO, &lim, &err), SIP_PARSE_BAD);
    assert_string_equal(err.reason, "Too many SDP time lines");

    lim = SDP_LIMITS_DEFAULT;
    lim.max_len = 64;
    assert_int_equal(parse_crlf(&s, CISCO, &lim, &err), SIP_PARSE_BAD);
    assert_string_equal(err.reason, "SDP too large");

    assert_int_equal(sdp_parse(&s, g_arena, "", 0, NULL, &err), SIP_PARSE_BAD);
    assert_string_equal(err.reason, "Empty SDP");
}

static void test_exhausted_arena_is_reported_not_crashed(void **state)
{
    (void)state;
    struct sdp s;
    struct sip_err err = {0};
    struct arena *tiny = arena_new(256, 256);
    assert_non_null(tiny);
    int rc = sdp_parse(&s, tiny, TEAMS, strlen(TEAMS), NULL, &err);
    assert_int_equal(rc, SIP_PARSE_BAD);
    assert_string_equal(err.reason, "SDP too large");
    arena_free(tiny);
}

static void test_duplicate_rtpmap_keeps_first_and_unknown_pt_is_ignored(void **state)
{
    (void)state;
    struct sdp s;
    struct sip_err err = {0};
    const char *b =
        HDR "t=0 0\nm=audio 4000 RTP/AVP 96\na=rtpmap:96 AMR/8000\n"
            "a=rtpmap:96 AMR-WB/16000\na=rtpmap:97 iLBC/8000\na=fmtp:96 octet-align=1\n";
    assert_int_equal(parse_crlf(&s, b, NULL, &err), SIP_PARSE_OK);
    assert_slice(s.media[0].fmts[0].encoding, "AMR");
    assert_int_equal(s.media[0].fmts[0].clock_rate, 8000);
    assert_slice(s.media[0].fmts[0].fmtp, "octet-align=1");
}

static void test_t38_image_section_keeps_non_numeric_formats(void **state)
{
    (void)state;
    struct sdp s;
    struct sip_err err = {0};
    const char *b =
        HDR "c=IN IP4 192.0.2.1\nt=0 0\nm=image 4002 udptl t38\n"
            "a=T38FaxVersion:0\na=T38MaxBitRate:14400\na=T38FaxRateManagement:transferredTCF\n";
    assert_int_equal(parse_crlf(&s, b, NULL, &err), SIP_PARSE_OK);
    assert_slice(s.media[0].media, "image");
    assert_int_equal(s.media[0].fmts[0].pt, -1);
    assert_slice(s.media[0].fmts[0].fmt, "t38");
    assert_int_equal(s.media[0].attr_count, 3);
    assert_string_equal(sdp_dir_name(SDP_DIR_SENDONLY), "sendonly");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cisco_offer_parses_formats_rtpmap_fmtp_and_ptime),
        cmocka_unit_test(test_asterisk_offer_with_two_media_and_directions),
        cmocka_unit_test(test_teams_offer_with_srtp_ice_and_rtcp),
        cmocka_unit_test(test_ipv6_lf_only_offer_with_opus_channels_and_datachannel),
        cmocka_unit_test(test_multicast_connection_ttl_and_count),
        cmocka_unit_test(test_fqdn_connection_address_is_marked_as_name),
        cmocka_unit_test(test_trailing_empty_line_is_tolerated),
        cmocka_unit_test(test_malformed_lines_are_rejected_with_reason_and_offset),
        cmocka_unit_test(test_nul_and_bare_cr_inside_a_line_are_rejected),
        cmocka_unit_test(test_limits_on_media_attrs_formats_bandwidth_and_size_are_enforced),
        cmocka_unit_test(test_exhausted_arena_is_reported_not_crashed),
        cmocka_unit_test(test_duplicate_rtpmap_keeps_first_and_unknown_pt_is_ignored),
        cmocka_unit_test(test_t38_image_section_keeps_non_numeric_formats),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
