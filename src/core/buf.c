/* SPDX-License-Identifier: BSD-2-Clause */
/* Growable byte buffer with a hard cap. */
#include "core/buf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUF_MIN_CAP 64

void buf_init(struct buf *b, size_t max)
{
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void buf_fini(struct buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
}

int buf_reserve(struct buf *b, size_t more)
{
    if (more > SIZE_MAX - b->len)
        return -EMSGSIZE;
    size_t need = b->len + more;
    if (b->max && need > b->max)
        return -EMSGSIZE;
    if (need <= b->cap)
        return 0;
    /* Doubling keeps appends amortised O(1); the cap clamps the last step. */
    size_t cap = b->cap ? b->cap : BUF_MIN_CAP;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (b->max && cap > b->max)
        cap = b->max;
    char *p = realloc(b->p, cap);
    if (!p)
        return -ENOMEM;
    b->p = p;
    b->cap = cap;
    return 0;
}

int buf_append(struct buf *b, const void *data, size_t len)
{
    int err = buf_reserve(b, len);
    if (err)
        return err;
    if (len)
        memcpy(b->p + b->len, data, len);
    b->len += len;
    return 0;
}

int buf_append_slice(struct buf *b, struct slice s)
{
    return buf_append(b, s.p, s.len);
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    char small[256];

    /* Format once into spare room (or a small stack buffer when there is
     * none) to learn the length, then reserve exactly and copy or redo. */
    size_t room = b->cap - b->len;
    char *dst = room ? b->p + b->len : small;
    size_t dst_len = room ? room : sizeof(small);
    va_start(ap, fmt);
    int n = vsnprintf(dst, dst_len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -EINVAL;
    /* The terminating NUL is not part of the content, but vsnprintf needs
     * room for it, so reserve n + 1 and keep len at +n. */
    if ((size_t)n < dst_len && dst == b->p + b->len) {
        if (b->max && b->len + (size_t)n > b->max)
            return -EMSGSIZE;
        b->len += (size_t)n;
        return 0;
    }
    if (b->max && b->len + (size_t)n > b->max)
        return -EMSGSIZE;
    size_t had_max = b->max;
    if (had_max && b->len + (size_t)n + 1 > had_max)
        b->max = b->len + (size_t)n + 1; /* room for the NUL only */
    int err = buf_reserve(b, (size_t)n + 1);
    b->max = had_max;
    if (err)
        return err;
    if ((size_t)n < dst_len) {
        memcpy(b->p + b->len, small, (size_t)n);
    } else {
        va_start(ap, fmt);
        vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
    return 0;
}

void buf_consume(struct buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->p, b->p + n, b->len - n);
    b->len -= n;
}

void buf_clear(struct buf *b)
{
    b->len = 0;
}
