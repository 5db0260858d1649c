/* SPDX-License-Identifier: BSD-2-Clause */
/* Small shared helpers: string slices, always-on assertions, attributes. */
#ifndef SW_CORE_UTIL_H
#define SW_CORE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define warn_unused_result __attribute__((warn_unused_result))
#define SW_UNUSED __attribute__((unused))
#define SW_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define SW_LIKELY(x) __builtin_expect(!!(x), 1)
#define SW_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define SW_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define SW_MIN(a, b) ((a) < (b) ? (a) : (b))
#define SW_MAX(a, b) ((a) > (b) ? (a) : (b))
#define SW_CONTAINER_OF(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* Internal invariants only; never for anything derived from the network
 * or the config (those are errors, not bugs). Always compiled in. */
_Noreturn void sw_assert_fail(const char *expr, const char *file, int line);
#define SW_ASSERT(e) ((e) ? (void)0 : sw_assert_fail(#e, __FILE__, __LINE__))

/*
 * A borrowed, non-terminated view of bytes owned by someone else (usually
 * the receive buffer of a struct sipmsg). Never outlives its owner.
 */
struct slice {
    const char *p; /* borrowed */
    size_t len;
};

#define SLICE_LIT(s) ((struct slice){(s), sizeof(s) - 1})
#define SLICE_NULL ((struct slice){NULL, 0})
#define SLICE_FMT "%.*s"
#define SLICE_ARG(s) (int)(s).len, (s).p

static inline struct slice slice_make(const char *p, size_t len)
{
    return (struct slice){p, len};
}

static inline struct slice slice_cstr(const char *s)
{
    return (struct slice){s, s ? strlen(s) : 0};
}

static inline bool slice_is_empty(struct slice s)
{
    return s.len == 0;
}

static inline bool slice_eq(struct slice a, struct slice b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

/* ASCII case-insensitive comparison (SIP tokens, header names, hosts). */
bool slice_caseeq(struct slice a, struct slice b);
bool slice_caseeq_cstr(struct slice a, const char *s);
/* Trims SP/HTAB/CR/LF from both ends. */
struct slice slice_trim(struct slice s);
/* Parses an unsigned decimal of at most 'max' value; -EINVAL on junk or overflow. */
int slice_to_u64(uint64_t *out, struct slice s, uint64_t max) warn_unused_result;

#endif
