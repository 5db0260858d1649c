/* SPDX-License-Identifier: BSD-2-Clause */
/* Internals of sec/auth shared by auth.c, digest.c and users.c. */
#ifndef SW_SEC_AUTH_INT_H
#define SW_SEC_AUTH_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/util.h"
#include "sec/auth.h"

#define AUTH_HASH_MAX 32 /* bytes of the longest digest (SHA-256) */
#define AUTH_PARAMS_MAX 32
#define AUTH_CREDS_STORE 2048

/*
 * Parsed digest credentials (RFC 7616 §3.4, RFC 3261 §25.1 "credentials").
 * Values are unescaped copies held in store[]; a missing parameter is an
 * empty slice with p == NULL.
 */
struct auth_creds {
    struct slice username, realm, nonce, uri, response, algorithm, cnonce, nc, qop, opaque;
    bool has_userhash; /* userhash=true (RFC 7616 §3.4.4): we never offer it */
    bool has_username_star;
    size_t used;
    char store[AUTH_CREDS_STORE];
};

/*
 * Parses one Authorization / Proxy-Authorization value. Returns 1 when it
 * is a Digest credential (filled *c), 0 for another scheme (ignored), or
 * -EINVAL with *reason set (a static phrase for a 400) when malformed.
 */
int auth_creds_parse(struct auth_creds *c, struct slice value, const char **reason);

/* The OpenSSL digest of algo, fetched once (digest.c). */
typedef struct evp_md_st EVP_MD;
const EVP_MD *auth_md(enum auth_algo algo);
/* Digest length in bytes of algo (16 or 32). */
size_t auth_hash_len(enum auth_algo algo);
/* Parses "SHA-256" / "MD5" (case-insensitive); -1 for anything else. */
int auth_algo_parse(struct slice name);
/* H(data) for algo into out; returns the length. */
size_t auth_hash(enum auth_algo algo, const void *data, size_t len, uint8_t out[AUTH_HASH_MAX]);
/* Lower-case hex of in[0..len) into out (2*len chars + NUL). */
void auth_hex(char *out, const uint8_t *in, size_t len);
/* Parses exactly 2*len hex digits (either case); -EINVAL otherwise. */
int auth_unhex(uint8_t *out, size_t len, struct slice hex);
/* HA1 = H(user:realm:password) (RFC 7616 §3.4.2). */
void auth_ha1(enum auth_algo algo, struct slice user, struct slice realm, struct slice password,
              uint8_t out[AUTH_HASH_MAX]);
/*
 * Expected response for qop=auth (RFC 7616 §3.4.1, §3.4.3):
 * H(hex(HA1):nonce:nc:cnonce:qop:hex(H(method:uri))), as lower-case hex.
 */
void auth_response(enum auth_algo algo, const uint8_t *ha1, struct slice method,
                   const struct auth_creds *c, char out[2 * AUTH_HASH_MAX + 1]);

/* --- users snapshot ------------------------------------------------------ */

/* One (realm, user) with its HA1 per algorithm. */
struct auth_user {
    char *realm; /* owned */
    char *user;  /* owned */
    uint8_t ha1[AUTH_ALG_COUNT][AUTH_HASH_MAX];
    bool has[AUTH_ALG_COUNT];
};

/* Immutable after loading; owner: struct auth (one current snapshot),
 * readers only under the auth's reader count (see auth.c). */
struct auth_users {
    struct auth_user *items; /* owned array, sorted by (realm, user) */
    size_t count;
};

/* Loads a users file. 0 or negative errno, err gets "file:line: what". */
int auth_users_load(struct auth_users **out, const char *file, char *err, size_t errlen);
void auth_users_free(struct auth_users *u);
/* Binary search; NULL if absent. */
const struct auth_user *auth_users_find(const struct auth_users *u, struct slice realm,
                                        struct slice user);

#endif
