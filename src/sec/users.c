/* SPDX-License-Identifier: BSD-2-Clause */
/* The users file: HA1 hashes per (realm, user) in YAML, loading and `passwd`. */
#include "sec/auth_int.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libfyaml.h>
#include <openssl/crypto.h>

/*
 * Format:
 *
 *     users:
 *       - { user: alice, realm: example.com, ha1_md5: "<32 hex>", ha1_sha256: "<64 hex>" }
 *
 * The file is ASCII only: digest usernames and realms in SIP are ASCII in
 * practice, and refusing other bytes up front also keeps libfyaml 0.7.12
 * away from invalid UTF-8 (see core/cfg.c). Aliases are not expanded.
 */
#define USERS_FILE_MAX (64u << 20)
#define NAME_MAX_LEN 255

static const char *const hash_keys[AUTH_ALG_COUNT] = {"ha1_sha256", "ha1_md5"};

static int node_line(struct fy_node *n)
{
    struct fy_token *t = n && fy_node_is_scalar(n) ? fy_node_get_scalar_token(n) : NULL;
    const struct fy_mark *m = t ? fy_token_start_mark(t) : NULL;
    if (!m && n && fy_node_is_mapping(n)) {
        struct fy_node_pair *p = fy_node_mapping_get_by_index(n, 0);
        return p ? node_line(fy_node_pair_key(p)) : 0;
    }
    return m ? m->line + 1 : 0;
}

static int fail(char *err, size_t errlen, const char *file, struct fy_node *n, const char *what)
{
    if (errlen)
        snprintf(err, errlen, "%s:%d: %s", file, node_line(n), what);
    return -EINVAL;
}

/* A user or realm name: printable ASCII, no quote or backslash (they end
 * up inside quoted-strings of challenges and of this file). */
static bool name_ok(const char *s, size_t len)
{
    if (len == 0 || len > NAME_MAX_LEN)
        return false;
    for (size_t i = 0; i < len; i++)
        if (s[i] <= 0x20 || s[i] >= 0x7f || s[i] == '"' || s[i] == '\\')
            return false;
    return true;
}

static char *dup_scalar(struct fy_node *n, size_t *len)
{
    const char *s =
        n && fy_node_is_scalar(n) && !fy_node_is_alias(n) ? fy_node_get_scalar(n, len) : NULL;
    if (!s || !name_ok(s, *len))
        return NULL;
    return strndup(s, *len);
}

static int cmp_user(const void *a, const void *b)
{
    const struct auth_user *x = a, *y = b;
    int c = strcmp(x->realm, y->realm);
    return c ? c : strcmp(x->user, y->user);
}

static int load_item(struct auth_user *e, struct fy_node *item, const char *file, char *err,
                     size_t errlen)
{
    void *it = NULL;
    struct fy_node_pair *p;
    size_t len;

    if (!fy_node_is_mapping(item))
        return fail(err, errlen, file, item, "users: each item must be a mapping");
    while ((p = fy_node_mapping_iterate(item, &it)) != NULL) {
        struct fy_node *k = fy_node_pair_key(p), *v = fy_node_pair_value(p);
        const char *key = k && fy_node_is_scalar(k) ? fy_node_get_scalar(k, &len) : NULL;
        struct slice ks = key ? slice_make(key, len) : SLICE_NULL;
        if (slice_eq(ks, SLICE_LIT("user")) || slice_eq(ks, SLICE_LIT("realm"))) {
            char **dst = ks.len == 4 ? &e->user : &e->realm;
            if (*dst)
                return fail(err, errlen, file, k, "duplicate key");
            if (!(*dst = dup_scalar(v, &len)))
                return fail(err, errlen, file, v ? v : k,
                            "expected a name of printable ASCII without spaces or quotes");
            continue;
        }
        bool is_hash = false;
        for (int a = 0; a < AUTH_ALG_COUNT; a++) {
            if (!slice_eq(ks, slice_cstr(hash_keys[a])))
                continue;
            const char *s = v && fy_node_is_scalar(v) ? fy_node_get_scalar(v, &len) : NULL;
            if (e->has[a])
                return fail(err, errlen, file, k, "duplicate key");
            if (!s ||
                auth_unhex(e->ha1[a], auth_hash_len((enum auth_algo)a), slice_make(s, len)) < 0)
                return fail(err, errlen, file, v ? v : k,
                            a == AUTH_ALG_MD5 ? "ha1_md5: expected 32 hex digits"
                                              : "ha1_sha256: expected 64 hex digits");
            e->has[a] = true;
            is_hash = true;
        }
        if (!is_hash)
            return fail(err, errlen, file, k,
                        "unknown key (expected user, realm, ha1_md5, ha1_sha256)");
    }
    if (!e->user || !e->realm)
        return fail(err, errlen, file, item, "users: an item needs user and realm");
    if (!e->has[AUTH_ALG_MD5] && !e->has[AUTH_ALG_SHA256])
        return fail(err, errlen, file, item, "users: an item needs ha1_md5 or ha1_sha256");
    return 0;
}

static int load_doc(struct auth_users *u, struct fy_document *doc, const char *file, char *err,
                    size_t errlen)
{
    struct fy_node *root = fy_document_root(doc);
    if (!root || (fy_node_is_scalar(root) && fy_node_get_scalar_length(root) == 0))
        return 0; /* empty file */
    if (!fy_node_is_mapping(root) || fy_node_mapping_item_count(root) != 1)
        return fail(err, errlen, file, root, "expected a mapping with one key, users");
    struct fy_node_pair *p = fy_node_mapping_get_by_index(root, 0);
    size_t klen;
    const char *k = fy_node_get_scalar(fy_node_pair_key(p), &klen);
    struct fy_node *seq = fy_node_pair_value(p);
    if (!k || !slice_eq(slice_make(k, klen), SLICE_LIT("users")))
        return fail(err, errlen, file, fy_node_pair_key(p), "unknown key (expected users)");
    if (!seq || (fy_node_is_scalar(seq) && fy_node_get_scalar_length(seq) == 0))
        return 0;
    if (!fy_node_is_sequence(seq))
        return fail(err, errlen, file, seq, "users: expected a list");
    int n = fy_node_sequence_item_count(seq);
    u->items = calloc(n > 0 ? (size_t)n : 1, sizeof(*u->items));
    if (!u->items)
        return -ENOMEM;
    void *it = NULL;
    struct fy_node *item;
    while ((item = fy_node_sequence_iterate(seq, &it)) != NULL) {
        int rc = load_item(&u->items[u->count++], item, file, err, errlen);
        if (rc < 0)
            return rc;
    }
    qsort(u->items, u->count, sizeof(*u->items), cmp_user);
    for (size_t i = 1; i < u->count; i++)
        if (cmp_user(&u->items[i - 1], &u->items[i]) == 0) {
            if (errlen)
                snprintf(err, errlen, "%s: user %s in realm %s is listed twice", file,
                         u->items[i].user, u->items[i].realm);
            return -EINVAL;
        }
    return 0;
}

static int read_file(const char *file, char **out, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(file, "re");
    char *buf = NULL;
    size_t cap = 0, n = 0;
    int rc = 0;

    if (!f) {
        rc = -errno;
        if (errlen)
            snprintf(err, errlen, "%s: %s", file, strerror(-rc));
        return rc;
    }
    for (;;) {
        if (n == cap) {
            size_t ncap = cap ? 2 * cap : 4096;
            char *nb = ncap <= USERS_FILE_MAX ? realloc(buf, ncap + 1) : NULL;
            if (!nb) {
                rc = ncap > USERS_FILE_MAX ? -EFBIG : -ENOMEM;
                if (errlen)
                    snprintf(err, errlen, "%s: %s", file, strerror(-rc));
                goto out;
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        rc = -EIO;
        if (errlen)
            snprintf(err, errlen, "%s: read error", file);
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)buf[i] >= 0x80 || buf[i] == 0) {
            rc = -EINVAL;
            if (errlen)
                snprintf(err, errlen, "%s: the users file must be ASCII text", file);
            goto out;
        }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    buf = NULL;
out:
    fclose(f);
    free(buf);
    return rc;
}

int auth_users_load(struct auth_users **out, const char *file, char *err, size_t errlen)
{
    struct fy_parse_cfg pc = {.flags = FYPCF_QUIET | FYPCF_DEFAULT_VERSION_AUTO};
    struct auth_users *u = calloc(1, sizeof(*u));
    char *text = NULL;
    size_t len = 0;
    int rc;

    if (!u)
        return -ENOMEM;
    if ((rc = read_file(file, &text, &len, err, errlen)) < 0)
        goto out;
    struct fy_document *doc = fy_document_build_from_string(&pc, text, len);
    if (!doc) {
        rc = -EINVAL;
        if (errlen)
            snprintf(err, errlen, "%s: invalid YAML", file);
        goto out;
    }
    rc = load_doc(u, doc, file, err, errlen);
    fy_document_destroy(doc);
out:
    if (text) {
        OPENSSL_cleanse(text, len);
        free(text);
    }
    if (rc < 0) {
        auth_users_free(u);
        return rc;
    }
    *out = u;
    return 0;
}

void auth_users_free(struct auth_users *u)
{
    if (!u)
        return;
    for (size_t i = 0; i < u->count; i++) {
        free(u->items[i].realm);
        free(u->items[i].user);
    }
    if (u->items)
        OPENSSL_cleanse(u->items, u->count * sizeof(*u->items));
    free(u->items);
    free(u);
}

static int cmp_key(struct slice realm, struct slice user, const struct auth_user *e)
{
    size_t rl = strlen(e->realm), ul = strlen(e->user);
    int c = memcmp(realm.p, e->realm, SW_MIN(realm.len, rl));
    if (c == 0 && realm.len != rl)
        c = realm.len < rl ? -1 : 1;
    if (c)
        return c;
    c = memcmp(user.p, e->user, SW_MIN(user.len, ul));
    if (c == 0 && user.len != ul)
        c = user.len < ul ? -1 : 1;
    return c;
}

const struct auth_user *auth_users_find(const struct auth_users *u, struct slice realm,
                                        struct slice user)
{
    size_t lo = 0, hi = u->count;
    if (!realm.p || !user.p)
        return NULL;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_key(realm, user, &u->items[mid]);
        if (c == 0)
            return &u->items[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

/* --- passwd --------------------------------------------------------------- */

static int write_users(FILE *f, const struct auth_users *u)
{
    char hex[2 * AUTH_HASH_MAX + 1];
    fprintf(f, "# sipwarden users file: HA1 = H(user:realm:password) (RFC 7616 section 3.4.2).\n"
               "# Written by `sipwarden passwd`; keep it mode 0600.\n"
               "users:\n");
    for (size_t i = 0; i < u->count; i++) {
        const struct auth_user *e = &u->items[i];
        /* names were checked by name_ok: no quote, backslash or control */
        fprintf(f, "  - { user: \"%s\", realm: \"%s\"", e->user, e->realm);
        for (int a = AUTH_ALG_COUNT - 1; a >= 0; a--) {
            if (!e->has[a])
                continue;
            auth_hex(hex, e->ha1[a], auth_hash_len((enum auth_algo)a));
            fprintf(f, ", %s: \"%s\"", hash_keys[a], hex);
        }
        fprintf(f, " }\n");
    }
    OPENSSL_cleanse(hex, sizeof(hex));
    return ferror(f) ? -EIO : 0;
}

/* Writes u to file through a temporary file in the same directory, then
 * rename(2): readers (a reload) see the old or the new file, never half. */
static int write_atomic(const char *file, const struct auth_users *u)
{
    size_t n = strlen(file) + 16;
    char *tmp = malloc(n), *dcopy = strdup(file);
    int fd = -1, rc = 0;
    FILE *f = NULL;

    if (!tmp || !dcopy) {
        rc = -ENOMEM;
        goto out;
    }
    snprintf(tmp, n, "%s.tmpXXXXXX", file);
    fd = mkostemp(tmp, O_CLOEXEC); /* mode 0600 */
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    if (fchmod(fd, 0600) < 0 || !(f = fdopen(fd, "w"))) {
        rc = -errno;
        close(fd);
        unlink(tmp);
        goto out;
    }
    rc = write_users(f, u);
    if (rc == 0 && (fflush(f) != 0 || fsync(fileno(f)) != 0))
        rc = -errno;
    if (fclose(f) != 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, file) != 0)
        rc = -errno;
    if (rc < 0) {
        unlink(tmp);
        goto out;
    }
    int dfd = open(dirname(dcopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) { /* make the rename itself durable */
        (void)fsync(dfd);
        close(dfd);
    }
out:
    free(tmp);
    free(dcopy);
    return rc;
}

int auth_users_passwd(const char *file, const char *realm, const char *user, const char *password)
{
    char err[512];
    struct auth_users *u = NULL;
    struct auth_user *e;
    int rc;

    if (!name_ok(realm, strlen(realm)) || !name_ok(user, strlen(user))) {
        fprintf(stderr, "passwd: user and realm must be printable ASCII without spaces or "
                        "quotes\n");
        return -EINVAL;
    }
    if (access(file, F_OK) == 0) {
        if ((rc = auth_users_load(&u, file, err, sizeof(err))) < 0) {
            fprintf(stderr, "%s\n", err);
            return rc;
        }
    } else if (errno != ENOENT) {
        return -errno;
    } else if (!(u = calloc(1, sizeof(*u)))) {
        return -ENOMEM;
    }
    e = (struct auth_user *)auth_users_find(u, slice_cstr(realm), slice_cstr(user));
    if (!e) {
        struct auth_user *items = realloc(u->items, (u->count + 1) * sizeof(*items));
        if (!items) {
            rc = -ENOMEM;
            goto out;
        }
        u->items = items;
        e = &u->items[u->count++];
        memset(e, 0, sizeof(*e));
        e->realm = strdup(realm);
        e->user = strdup(user);
        if (!e->realm || !e->user) {
            rc = -ENOMEM;
            goto out;
        }
        qsort(u->items, u->count, sizeof(*u->items), cmp_user);
        e = (struct auth_user *)auth_users_find(u, slice_cstr(realm), slice_cstr(user));
    }
    for (int a = 0; a < AUTH_ALG_COUNT; a++) {
        auth_ha1((enum auth_algo)a, slice_cstr(user), slice_cstr(realm), slice_cstr(password),
                 e->ha1[a]);
        e->has[a] = true;
    }
    rc = write_atomic(file, u);
out:
    auth_users_free(u);
    return rc;
}
