/* SPDX-License-Identifier: BSD-2-Clause */
/* Digest credentials parser and the RFC 7616 hash computations. */
#include "sec/auth_int.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <openssl/evp.h>

/* RFC 3261 §25.1 token characters. */
static bool is_token_char(unsigned char ch)
{
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
        return true;
    return ch != 0 && strchr("-.!%*_+`'~", ch) != NULL;
}

/* LWS inside a header value: the value may still hold folded CRLF+WSP. */
static bool is_lws(unsigned char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

struct cursor {
    const char *p, *end;
};

static void skip_lws(struct cursor *cu)
{
    while (cu->p < cu->end && is_lws((unsigned char)*cu->p))
        cu->p++;
}

static struct slice take_token(struct cursor *cu)
{
    const char *s = cu->p;
    while (cu->p < cu->end && is_token_char((unsigned char)*cu->p))
        cu->p++;
    return slice_make(s, (size_t)(cu->p - s));
}

/*
 * Copies a parameter value (token or quoted-string, RFC 3261 §25.1) into
 * the store, unescaping quoted-pairs. Folding (CRLF WSP) inside quotes is
 * unfolded to the WSP. NUL and bare CR/LF are refused.
 */
static int take_value(struct auth_creds *c, struct cursor *cu, struct slice *out,
                      const char **reason)
{
    char *dst = c->store + c->used;
    size_t room = sizeof(c->store) - c->used;
    size_t n = 0;

    if (cu->p < cu->end && *cu->p == '"') {
        cu->p++;
        for (;;) {
            if (cu->p >= cu->end) {
                *reason = "Unterminated quoted string in credentials";
                return -EINVAL;
            }
            unsigned char ch = (unsigned char)*cu->p++;
            if (ch == '"')
                break;
            if (ch == '\\') {
                if (cu->p >= cu->end) {
                    *reason = "Unterminated quoted string in credentials";
                    return -EINVAL;
                }
                ch = (unsigned char)*cu->p++;
                /* quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F) */
                if (ch == '\r' || ch == '\n' || ch == 0 || ch > 0x7f) {
                    *reason = "Bad escape in credentials";
                    return -EINVAL;
                }
            } else if (ch == '\r' || ch == '\n') {
                /* only CRLF + WSP (folding) is allowed here */
                if (cu->p >= cu->end || !is_lws((unsigned char)*cu->p)) {
                    *reason = "Bad line break in credentials";
                    return -EINVAL;
                }
                continue;
            } else if (ch == 0) {
                *reason = "NUL in credentials";
                return -EINVAL;
            }
            if (n >= room || n >= AUTH_VALUE_MAX) {
                *reason = "Credentials parameter too long";
                return -EINVAL;
            }
            dst[n++] = (char)ch;
        }
    } else {
        struct slice t = take_token(cu);
        if (t.len == 0) {
            *reason = "Missing credentials parameter value";
            return -EINVAL;
        }
        if (t.len > room || t.len > AUTH_VALUE_MAX) {
            *reason = "Credentials parameter too long";
            return -EINVAL;
        }
        memcpy(dst, t.p, t.len);
        n = t.len;
    }
    /* Every value points into store, so empty ones need a non-NULL p too. */
    *out = slice_make(dst, n);
    c->used += n;
    return 0;
}

static struct slice *param_slot(struct auth_creds *c, struct slice name)
{
    static const struct {
        const char *name;
        size_t off;
    } slots[] = {
        {"username", offsetof(struct auth_creds, username)},
        {"realm", offsetof(struct auth_creds, realm)},
        {"nonce", offsetof(struct auth_creds, nonce)},
        {"uri", offsetof(struct auth_creds, uri)},
        {"response", offsetof(struct auth_creds, response)},
        {"algorithm", offsetof(struct auth_creds, algorithm)},
        {"cnonce", offsetof(struct auth_creds, cnonce)},
        {"nc", offsetof(struct auth_creds, nc)},
        {"qop", offsetof(struct auth_creds, qop)},
        {"opaque", offsetof(struct auth_creds, opaque)},
    };
    for (size_t i = 0; i < SW_ARRAY_LEN(slots); i++)
        if (slice_caseeq_cstr(name, slots[i].name))
            return (struct slice *)(void *)((char *)c + slots[i].off);
    return NULL;
}

int auth_creds_parse(struct auth_creds *c, struct slice value, const char **reason)
{
    struct cursor cu = {value.p, value.p + value.len};
    unsigned params = 0;

    memset(c, 0, offsetof(struct auth_creds, store));
    skip_lws(&cu);
    struct slice scheme = take_token(&cu);
    if (scheme.len == 0) {
        *reason = "Malformed credentials";
        return -EINVAL;
    }
    if (!slice_caseeq_cstr(scheme, "Digest"))
        return 0;
    if (cu.p < cu.end && !is_lws((unsigned char)*cu.p)) {
        *reason = "Malformed credentials";
        return -EINVAL;
    }
    for (;;) {
        skip_lws(&cu);
        struct slice name = take_token(&cu);
        if (name.len == 0) {
            *reason = "Malformed digest parameter";
            return -EINVAL;
        }
        skip_lws(&cu);
        if (cu.p >= cu.end || *cu.p != '=') {
            *reason = "Malformed digest parameter";
            return -EINVAL;
        }
        cu.p++;
        skip_lws(&cu);
        if (++params > AUTH_PARAMS_MAX) {
            *reason = "Too many digest parameters";
            return -EINVAL;
        }
        struct slice v;
        int rc = take_value(c, &cu, &v, reason);
        if (rc < 0)
            return rc;
        struct slice *slot = param_slot(c, name);
        if (slot) {
            if (slot->p) {
                *reason = "Duplicate digest parameter";
                return -EINVAL;
            }
            *slot = v;
        } else if (slice_caseeq_cstr(name, "userhash")) {
            c->has_userhash = slice_caseeq_cstr(v, "true");
        } else if (slice_caseeq_cstr(name, "username*")) {
            c->has_username_star = true;
        }
        /* other auth-params are ignored (RFC 7616 §3.4: extensions) */
        skip_lws(&cu);
        if (cu.p >= cu.end)
            break;
        if (*cu.p != ',') {
            *reason = "Malformed digest parameter list";
            return -EINVAL;
        }
        cu.p++;
    }
    return 1;
}

size_t auth_hash_len(enum auth_algo algo)
{
    return algo == AUTH_ALG_MD5 ? 16 : 32;
}

const char *auth_algo_name(enum auth_algo algo)
{
    return algo == AUTH_ALG_MD5 ? "MD5" : "SHA-256";
}

int auth_algo_parse(struct slice name)
{
    if (slice_caseeq_cstr(name, "SHA-256"))
        return AUTH_ALG_SHA256;
    if (slice_caseeq_cstr(name, "MD5"))
        return AUTH_ALG_MD5;
    return -1;
}

/* Fetched once for the process: with EVP_md5()/EVP_sha256() OpenSSL 3
 * looks the implementation up in its method store, under a read lock,
 * at every EVP_DigestInit (2-4 % of a digest REGISTER's CPU in perf). */
static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static EVP_MD *md_fetched[AUTH_ALG_COUNT]; /* owned for the process's life */

static void md_fetch(void)
{
    md_fetched[AUTH_ALG_MD5] = EVP_MD_fetch(NULL, "MD5", NULL);
    md_fetched[AUTH_ALG_SHA256] = EVP_MD_fetch(NULL, "SHA2-256", NULL);
}

const EVP_MD *auth_md(enum auth_algo algo)
{
    pthread_once(&md_once, md_fetch);
    if (md_fetched[algo] != NULL)
        return md_fetched[algo];
    return algo == AUTH_ALG_MD5 ? EVP_md5() : EVP_sha256();
}

size_t auth_hash(enum auth_algo algo, const void *data, size_t len, uint8_t out[AUTH_HASH_MAX])
{
    unsigned int n = 0;
    const EVP_MD *md = auth_md(algo);
    /* EVP_Digest fails only on allocation failure inside OpenSSL; an
     * all-zero digest then simply never matches a client's response. */
    if (!EVP_Digest(data, len, out, &n, md, NULL))
        memset(out, 0, AUTH_HASH_MAX);
    return auth_hash_len(algo);
}

void auth_hex(char *out, const uint8_t *in, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

int auth_unhex(uint8_t *out, size_t len, struct slice hex)
{
    if (hex.len != 2 * len)
        return -EINVAL;
    for (size_t i = 0; i < len; i++) {
        int hi = hexval(hex.p[2 * i]), lo = hexval(hex.p[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -EINVAL;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

/* Hashes the pieces joined by ':' without building the string in one
 * buffer: every piece is bounded but their sum need not be. */
static void hash_joined(enum auth_algo algo, const struct slice *parts, size_t n,
                        uint8_t out[AUTH_HASH_MAX])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int len = 0;
    bool ok = ctx && EVP_DigestInit_ex(ctx, auth_md(algo), NULL);
    for (size_t i = 0; ok && i < n; i++) {
        if (i > 0)
            ok = EVP_DigestUpdate(ctx, ":", 1);
        if (ok && parts[i].len > 0)
            ok = EVP_DigestUpdate(ctx, parts[i].p, parts[i].len);
    }
    if (!ok || !EVP_DigestFinal_ex(ctx, out, &len))
        memset(out, 0, AUTH_HASH_MAX);
    EVP_MD_CTX_free(ctx);
}

void auth_ha1(enum auth_algo algo, struct slice user, struct slice realm, struct slice password,
              uint8_t out[AUTH_HASH_MAX])
{
    const struct slice parts[] = {user, realm, password};
    hash_joined(algo, parts, SW_ARRAY_LEN(parts), out);
}

void auth_response(enum auth_algo algo, const uint8_t *ha1, struct slice method,
                   const struct auth_creds *c, char out[2 * AUTH_HASH_MAX + 1])
{
    size_t hl = auth_hash_len(algo);
    char ha1_hex[2 * AUTH_HASH_MAX + 1], ha2_hex[2 * AUTH_HASH_MAX + 1];
    uint8_t ha2[AUTH_HASH_MAX], r[AUTH_HASH_MAX];

    /* A2 = Method ":" request-uri for qop=auth (RFC 7616 §3.4.3). */
    const struct slice a2[] = {method, c->uri};
    hash_joined(algo, a2, SW_ARRAY_LEN(a2), ha2);
    auth_hex(ha1_hex, ha1, hl);
    auth_hex(ha2_hex, ha2, hl);
    /* response = KD(H(A1), nonce:nc:cnonce:qop:H(A2)) (RFC 7616 §3.4.1) */
    const struct slice parts[] = {
        slice_make(ha1_hex, 2 * hl), c->nonce, c->nc, c->cnonce, c->qop,
        slice_make(ha2_hex, 2 * hl),
    };
    hash_joined(algo, parts, SW_ARRAY_LEN(parts), r);
    auth_hex(out, r, hl);
    OPENSSL_cleanse(ha1_hex, sizeof(ha1_hex));
}
