/* SPDX-License-Identifier: BSD-2-Clause */
/* Growable byte buffer with a hard cap. Owner: embedding struct. */
#ifndef SW_CORE_BUF_H
#define SW_CORE_BUF_H

#include "core/util.h"

#include <stdarg.h>
#include <stddef.h>

struct buf {
    char *p; /* owned (malloc) */
    size_t len;
    size_t cap;
    size_t max; /* 0 = unbounded */
};

void buf_init(struct buf *b, size_t max);
void buf_fini(struct buf *b);
/* Ensures room for 'more' bytes; -ENOMEM or -EMSGSIZE past max. */
int buf_reserve(struct buf *b, size_t more) warn_unused_result;
int buf_append(struct buf *b, const void *data, size_t len) warn_unused_result;
int buf_append_slice(struct buf *b, struct slice s) warn_unused_result;
int buf_printf(struct buf *b, const char *fmt, ...) SW_PRINTF(2, 3) warn_unused_result;
/* Drops the first n bytes (consumed by a stream reader). */
void buf_consume(struct buf *b, size_t n);
void buf_clear(struct buf *b);

#endif
