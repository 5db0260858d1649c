/* SPDX-License-Identifier: BSD-2-Clause */
/* Option tables of the auth: and security: config sections. */
#include "sec/sec_conf.h"

#include "sec/acl.h"

static const char *check_algorithm(const char *s, size_t len)
{
    struct slice v = slice_make(s, len);
    return slice_caseeq_cstr(v, "SHA-256") || slice_caseeq_cstr(v, "MD5")
               ? NULL
               : "expected SHA-256 or MD5";
}

/* A realm ends up in a quoted-string of every challenge. */
static const char *check_realm(const char *s, size_t len)
{
    if (len == 0 || len > AUTH_REALM_MAX)
        return "expected 1 to 255 characters";
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f || s[i] == '"' || s[i] == '\\')
            return "contains a space, quote, backslash or control character";
    return NULL;
}

const struct cfg_opt auth_cfg_opts[] = {
    CFG_STRLIST("realms", struct auth_conf, realms, NULL, check_realm, true,
                "Digest realms (usually the served domains); a request's domain picks its realm."),
    CFG_STRING("users", struct auth_conf, users, "", NULL, true,
               "Users file (YAML of HA1 hashes, written by `sipwarden passwd`); reread on reload."),
    CFG_STRLIST("algorithms", struct auth_conf, algorithms, "[SHA-256, MD5]", check_algorithm, true,
                "Digest algorithms offered, in this order (RFC 8760: SHA-256 first)."),
    CFG_DURATION("nonce_ttl", struct auth_conf, nonce_ttl_ms, "300s", CFG_UNIT_S, 1000, 86400000,
                 true, "Nonce lifetime; an older nonce gets a challenge with stale=true."),
    CFG_UINT("nonce_table_size", struct auth_conf, nonce_table_size, "65536", 128, 16777216, false,
             "Nonces whose highest nonce-count is remembered (replay protection)."),
    CFG_END,
};

static const struct cfg_opt auth_failures_opts[] = {
    CFG_UINT("max", struct sec_auth_failures, max, "10", 1, 64, true,
             "Failed authentications from one source within the window that cause a ban."),
    CFG_DURATION("window", struct sec_auth_failures, window_ms, "60s", CFG_UNIT_S, 1000, 86400000,
                 true, "Sliding window over which failures are counted."),
    CFG_DURATION("ban", struct sec_auth_failures, ban_ms, "900s", CFG_UNIT_S, 1000, 604800000, true,
                 "How long a banned source is ignored."),
    CFG_END,
};

const struct cfg_opt security_cfg_opts[] = {
    CFG_SECTION("auth_failures", struct security_conf, auth_failures, auth_failures_opts,
                "Registration-scanning protection: bans by source IP (never by account)."),
    CFG_UINT("ban_table_size", struct security_conf, ban_table_size, "65536", 64, 16777216, false,
             "Sources tracked for failures and bans; the oldest and least failing are evicted."),
    CFG_STRLIST("scanners", struct security_conf, scanners,
                "[friendly-scanner, sipvicious, sipcli, sip-scan, sundayddr, iWar, "
                "VaxSIPUserAgent, smap, SIPBomber]",
                NULL, true,
                "User-Agent substrings (case-insensitive) of attack tools; their requests are "
                "dropped."),
    CFG_STRLIST("trusted", struct security_conf, trusted, NULL, acl_cidr_check, true,
                "Networks (CIDR) never banned for failed authentications."),
    CFG_END,
};
