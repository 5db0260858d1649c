/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * HTTP Digest authentication for SIP (RFC 3261 §22, RFC 7616, RFC 8760):
 * challenges with SHA-256 and MD5 offered together, stateless HMAC nonces
 * with an expiry, nonce-count replay protection, and a users snapshot of
 * HA1 hashes loaded from a YAML file.
 *
 * The caller (registrar, proxy) does, per request that needs credentials:
 *
 *     struct auth_verdict v;
 *     enum auth_kind kind = auth_kind_for(req);        // 401 or 407 world
 *     switch (auth_check(a, req, kind, realm, now_ms, &v)) {
 *     case AUTH_OK: ... v.user is authenticated ...
 *     case AUTH_BAD: reply 400 with reason v.reason
 *     case AUTH_FAILED: ban_auth_failure(...); fall through
 *     case AUTH_CHALLENGE: case AUTH_STALE:
 *         auth_challenge_build(a, &ch, kind, realm, v.result == AUTH_STALE, now_ms);
 *         reply auth_reply_code(kind) with opts.extra = ch.lines, ch.count
 *     }
 *
 * Threading: one struct auth is shared by all workers; every function but
 * auth_new/auth_free may be called from any thread at any time.
 */
#ifndef SW_SEC_AUTH_H
#define SW_SEC_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cfg.h"
#include "core/util.h"
#include "sip/sipmsg.h"

/* Digest algorithms, in the order they are offered (RFC 8760 §2: the
 * preferred one first). */
enum auth_algo {
    AUTH_ALG_SHA256 = 0,
    AUTH_ALG_MD5,
    AUTH_ALG_COUNT,
};

enum auth_result {
    AUTH_OK = 0,    /* credentials valid; v.user is the user */
    AUTH_CHALLENGE, /* no credentials for this realm, or a nonce not ours: challenge */
    AUTH_STALE,     /* right password, expired nonce: challenge with stale=true */
    AUTH_FAILED,    /* wrong response, unknown user or replay: count, challenge */
    AUTH_BAD,       /* malformed credentials: 400 with v.reason */
};

/* WWW-Authenticate/Authorization (UAS, 401) or Proxy-* (proxy, 407). */
enum auth_kind {
    AUTH_KIND_WWW = 0,
    AUTH_KIND_PROXY,
};

#define AUTH_USER_MAX 128  /* longest username accepted */
#define AUTH_VALUE_MAX 512 /* longest parameter value accepted */
#define AUTH_LINE_MAX 768  /* one challenge header line */
#define AUTH_REALM_MAX 255

/* The auth: section of the config (see sec/sec_conf.h for its table). */
struct auth_conf {
    struct cfg_strlist realms;     /* realms we challenge for (domains) */
    char *users;                   /* owned: users file path, "" = none */
    struct cfg_strlist algorithms; /* "SHA-256", "MD5", in offer order */
    uint64_t nonce_ttl_ms;         /* nonce lifetime */
    unsigned int nonce_table_size; /* nonce-count entries kept */
};

/* Outcome of auth_check. */
struct auth_verdict {
    enum auth_result result;
    enum auth_algo algo;          /* algorithm the credentials used */
    const char *reason;           /* static: why (log text; 400 reason for BAD) */
    char user[AUTH_USER_MAX + 1]; /* username given ("" if none); valid on OK */
};

/* Header lines for a 401/407 ("WWW-Authenticate: Digest ..."), ready for
 * sipmsg_reply_opts.extra / extra_count. lines[] point into buf. */
struct auth_challenge {
    struct slice lines[AUTH_ALG_COUNT];
    unsigned count;
    char buf[AUTH_ALG_COUNT][AUTH_LINE_MAX];
};

/* Optional user source consulted instead of the users file (the SQLite
 * store plugs in here later). Writes the HA1 of (realm, user) for algo
 * into ha1 (16 bytes for MD5, 32 for SHA-256) and returns 0, or -ENOENT.
 * Called from any worker; must not block for long. */
typedef int (*auth_lookup_fn)(void *arg, struct slice realm, struct slice user, enum auth_algo algo,
                              uint8_t ha1[32]);

struct auth;

/*
 * Creates the authenticator: draws the per-start nonce secret and the
 * dummy HA1 from getrandom(), and loads c->users if set. The config is
 * copied (c may be freed afterwards). On a users file error writes
 * "file:line: what" into err and returns NULL with errno EINVAL; NULL with
 * ENOMEM otherwise.
 */
struct auth *auth_new(const struct auth_conf *c, char *err, size_t errlen);
void auth_free(struct auth *a);

/*
 * Verifies the Authorization (kind WWW) or Proxy-Authorization (PROXY)
 * credentials of req for realm (RFC 7616 §3.4, RFC 3261 §22.4): the field
 * whose realm is 'realm' is used. Unknown users cost the same work as
 * known ones and get the same answer (AUTH_FAILED), so accounts cannot be
 * enumerated. Fills *v and returns v->result.
 */
enum auth_result auth_check(struct auth *a, const struct sipmsg *req, enum auth_kind kind,
                            const char *realm, uint64_t now_ms, struct auth_verdict *v);

/*
 * Builds the challenge lines for realm: one per enabled algorithm,
 * SHA-256 first (RFC 8760 §2), each with a fresh nonce, opaque, qop="auth"
 * and stale=true when asked. 0, or -EINVAL if realm holds characters that
 * cannot be quoted (CR, LF, NUL, other controls) or is too long.
 */
int auth_challenge_build(struct auth *a, struct auth_challenge *ch, enum auth_kind kind,
                         const char *realm, bool is_stale, uint64_t now_ms) warn_unused_result;

/* AUTH_KIND_WWW for REGISTER (a registrar is a UAS, RFC 3261 §22.2),
 * AUTH_KIND_PROXY for any other request (§22.3). */
enum auth_kind auth_kind_for(const struct sipmsg *req);
/* 401 for AUTH_KIND_WWW, 407 for AUTH_KIND_PROXY. */
unsigned auth_reply_code(enum auth_kind kind);
/* The configured realm equal (case-insensitively) to host, or NULL. */
const char *auth_realm_find(const struct auth *a, struct slice host);

/*
 * Reloads the users file into a new snapshot and swaps it in; lookups in
 * flight finish on the old one. On error the old snapshot stays and err
 * gets "file:line: what". 0, -EINVAL, -ENOMEM or -errno of the read.
 */
int auth_users_reload(struct auth *a, const char *file, char *err,
                      size_t errlen) warn_unused_result;
/* Number of (realm, user) entries in the current snapshot. */
size_t auth_users_count(struct auth *a);
/* Installs a user source (NULL to remove); call before workers start. */
void auth_set_lookup(struct auth *a, auth_lookup_fn fn, void *arg);

/*
 * `sipwarden passwd`: adds or replaces user@realm in the users file with
 * the HA1 of every supported algorithm, keeping every other entry, and
 * writes the file atomically (temporary file, fsync, rename) with mode
 * 0600. The password is not kept. 0, -EINVAL (bad name, realm or file
 * content; message on stderr), or -errno.
 */
int auth_users_passwd(const char *file, const char *realm, const char *user,
                      const char *password) warn_unused_result;

/* Algorithm names as in the challenge ("SHA-256", "MD5"). */
const char *auth_algo_name(enum auth_algo algo);

#endif
