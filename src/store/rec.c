/* SPDX-License-Identifier: BSD-2-Clause */
/* Packed AOR records of the location table, and copies of bindings. */
#include "store/store_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/*
 * The fixed part of a packed binding, written field by field with memcpy
 * at these offsets: records are byte-packed (no padding to 8 between
 * bindings), so nothing in them is read through an aligned pointer.
 */
enum {
    REC_EXPIRES = 0, /* int64_t */
    REC_CREATED = 8, /* int64_t */
    REC_CSEQ = 16,   /* uint32_t */
    REC_REG_ID = 20, /* uint32_t */
    REC_Q = 24,      /* uint16_t */
    REC_LISTENER = 26,
    REC_PROTO = 28, /* uint8_t */
    REC_FLAGS = 29, /* uint8_t, REC_HAS_* */
    REC_FIXED = 30, /* then conn_id (uint64_t) when REC_HAS_CONN, then strings */
};

enum {
    REC_HAS_KEY = 1 << 0,  /* match_key differs from contact and is stored */
    REC_HAS_PATH = 1 << 1, /* path present (NULL when the flag is clear) */
    REC_HAS_UA = 1 << 2,
    REC_HAS_INST = 1 << 3,
    REC_HAS_CONN = 1 << 4, /* conn_id != 0: only TCP/TLS/WS bindings pay for it */
};

static const char *str_or_empty(const char *s)
{
    return s != NULL ? s : "";
}

static uint8_t rec_flags(const struct store_binding *b)
{
    uint8_t f = 0;
    if (strcmp(str_or_empty(b->contact), str_or_empty(b->match_key)) != 0)
        f |= REC_HAS_KEY;
    if (b->path != NULL)
        f |= REC_HAS_PATH;
    if (b->user_agent != NULL)
        f |= REC_HAS_UA;
    if (b->instance != NULL)
        f |= REC_HAS_INST;
    if (b->conn_id != 0)
        f |= REC_HAS_CONN;
    return f;
}

/* received is a char array that may lack its NUL when given by a caller. */
static size_t recv_len(const struct store_binding *b)
{
    return strnlen(b->received, STORE_ADDR_STRLEN - 1);
}

size_t rec_binding_len(const struct store_binding *b)
{
    uint8_t f = rec_flags(b);
    size_t len = REC_FIXED + strlen(str_or_empty(b->contact)) + 1 +
                 strlen(str_or_empty(b->call_id)) + 1 + recv_len(b) + 1;
    if (f & REC_HAS_CONN)
        len += sizeof(uint64_t);
    if (f & REC_HAS_KEY)
        len += strlen(str_or_empty(b->match_key)) + 1;
    if (f & REC_HAS_PATH)
        len += strlen(b->path) + 1;
    if (f & REC_HAS_UA)
        len += strlen(b->user_agent) + 1;
    if (f & REC_HAS_INST)
        len += strlen(b->instance) + 1;
    return len;
}

static unsigned char *put_str(unsigned char *p, const char *s, size_t len)
{
    memcpy(p, s, len);
    p[len] = '\0';
    return p + len + 1;
}

static unsigned char *put_cstr(unsigned char *p, const char *s)
{
    return put_str(p, s, strlen(s));
}

static unsigned char *rec_put(unsigned char *p, const struct store_binding *b)
{
    uint8_t f = rec_flags(b);
    memcpy(p + REC_EXPIRES, &b->expires_at, sizeof(b->expires_at));
    memcpy(p + REC_CREATED, &b->created_at, sizeof(b->created_at));
    memcpy(p + REC_CSEQ, &b->cseq, sizeof(b->cseq));
    memcpy(p + REC_REG_ID, &b->reg_id, sizeof(b->reg_id));
    memcpy(p + REC_Q, &b->q, sizeof(b->q));
    memcpy(p + REC_LISTENER, &b->listener, sizeof(b->listener));
    p[REC_PROTO] = b->proto;
    p[REC_FLAGS] = f;
    p += REC_FIXED;
    if (f & REC_HAS_CONN) {
        memcpy(p, &b->conn_id, sizeof(b->conn_id));
        p += sizeof(b->conn_id);
    }
    p = put_cstr(p, str_or_empty(b->contact));
    if (f & REC_HAS_KEY)
        p = put_cstr(p, str_or_empty(b->match_key));
    p = put_cstr(p, str_or_empty(b->call_id));
    if (f & REC_HAS_PATH)
        p = put_cstr(p, b->path);
    if (f & REC_HAS_UA)
        p = put_cstr(p, b->user_agent);
    if (f & REC_HAS_INST)
        p = put_cstr(p, b->instance);
    return put_str(p, b->received, recv_len(b));
}

static const unsigned char *get_str(const unsigned char *p, char **out)
{
    *out = (char *)p; /* a borrowed view: the output struct is not const */
    return p + strlen((const char *)p) + 1;
}

const unsigned char *rec_view(const unsigned char *p, struct store_binding *b)
{
    uint8_t f = p[REC_FLAGS];
    memset(b, 0, sizeof(*b));
    memcpy(&b->expires_at, p + REC_EXPIRES, sizeof(b->expires_at));
    memcpy(&b->created_at, p + REC_CREATED, sizeof(b->created_at));
    memcpy(&b->cseq, p + REC_CSEQ, sizeof(b->cseq));
    memcpy(&b->reg_id, p + REC_REG_ID, sizeof(b->reg_id));
    memcpy(&b->q, p + REC_Q, sizeof(b->q));
    memcpy(&b->listener, p + REC_LISTENER, sizeof(b->listener));
    b->proto = p[REC_PROTO];
    p += REC_FIXED;
    if (f & REC_HAS_CONN) {
        memcpy(&b->conn_id, p, sizeof(b->conn_id));
        p += sizeof(b->conn_id);
    }
    p = get_str(p, &b->contact);
    if (f & REC_HAS_KEY)
        p = get_str(p, &b->match_key);
    else
        b->match_key = b->contact;
    p = get_str(p, &b->call_id);
    if (f & REC_HAS_PATH)
        p = get_str(p, &b->path);
    if (f & REC_HAS_UA)
        p = get_str(p, &b->user_agent);
    if (f & REC_HAS_INST)
        p = get_str(p, &b->instance);
    size_t rl = strlen((const char *)p);
    memcpy(b->received, p, rl + 1); /* rl < STORE_ADDR_STRLEN: rec_put bounded it */
    return p + rl + 1;
}

const unsigned char *rec_first(const struct mem_aor *a)
{
    return (const unsigned char *)a->aor + a->aor_len + 1;
}

int rec_check(struct slice aor, size_t n)
{
    return aor.len > UINT16_MAX || n > UINT16_MAX ? -EINVAL : 0;
}

struct mem_aor *rec_build(struct slab *sl, struct slice aor, const struct store_binding *b,
                          size_t stride, size_t n)
{
    const char *base = (const char *)b;
    size_t size = sizeof(struct mem_aor) + aor.len + 1;
    for (size_t i = 0; i < n; i++)
        size += rec_binding_len((const struct store_binding *)(const void *)(base + i * stride));
    if (size > UINT32_MAX)
        return NULL;
    struct mem_aor *a = slab_alloc(sl, size);
    if (a == NULL)
        return NULL;
    memset(&a->node, 0, sizeof(a->node));
    a->size = (uint32_t)size;
    a->aor_len = (uint16_t)aor.len;
    a->n = (uint16_t)n;
    memcpy(a->aor, aor.p, aor.len);
    a->aor[aor.len] = '\0';
    unsigned char *p = (unsigned char *)a->aor + aor.len + 1;
    for (size_t i = 0; i < n; i++)
        p = rec_put(p, (const struct store_binding *)(const void *)(base + i * stride));
    SW_ASSERT((size_t)(p - (unsigned char *)a) == size);
    return a;
}

size_t rec_purge(struct mem_aor *a, int64_t now)
{
    unsigned char *w = (unsigned char *)rec_first(a);
    const unsigned char *r = w;
    size_t kept = 0, n = a->n;
    for (size_t i = 0; i < n; i++) {
        struct store_binding v;
        const unsigned char *next = rec_view(r, &v);
        if (v.expires_at > now) {
            size_t len = (size_t)(next - r);
            if (w != r)
                memmove(w, r, len); /* after rec_view: v is not used again */
            w += len;
            kept++;
        }
        r = next;
    }
    a->n = (uint16_t)kept;
    return n - kept;
}

static size_t opt_len(const char *s)
{
    return s ? strlen(s) + 1 : 0;
}

static char *opt_put(char **p, const char *s)
{
    if (s == NULL)
        return NULL;
    size_t l = strlen(s) + 1;
    char *r = *p;
    memcpy(r, s, l);
    *p += l;
    return r;
}

/* One allocation for every string of a binding handed out, so the
 * caller frees one block (store_binding_fini). */
int binding_copy(struct store_binding *dst, const struct store_binding *src)
{
    size_t total = opt_len(str_or_empty(src->contact)) + opt_len(str_or_empty(src->match_key)) +
                   opt_len(str_or_empty(src->call_id)) + opt_len(src->path) +
                   opt_len(src->user_agent) + opt_len(src->instance);
    char *blk = malloc(total);
    if (blk == NULL)
        return -ENOMEM;
    *dst = *src;
    char *p = blk;
    dst->contact = opt_put(&p, str_or_empty(src->contact));
    dst->match_key = opt_put(&p, str_or_empty(src->match_key));
    dst->call_id = opt_put(&p, str_or_empty(src->call_id));
    dst->path = opt_put(&p, src->path);
    dst->user_agent = opt_put(&p, src->user_agent);
    dst->instance = opt_put(&p, src->instance);
    dst->received[STORE_ADDR_STRLEN - 1] = '\0';
    return 0;
}

void store_binding_fini(struct store_binding *b)
{
    free(b->contact); /* the block starts at contact */
    b->contact = NULL;
}

void store_bindings_free(struct store_binding *b, size_t count)
{
    for (size_t i = 0; i < count; i++)
        store_binding_fini(&b[i]);
    free(b);
}
