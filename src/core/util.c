/* SPDX-License-Identifier: BSD-2-Clause */
/* Slices and the assertion handler. */
#include "core/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

_Noreturn void sw_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "%s:%d: assertion failed: %s\n", file, line, expr);
    abort();
}

static inline unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c;
}

bool slice_caseeq(struct slice a, struct slice b)
{
    if (a.len != b.len)
        return false;
    for (size_t i = 0; i < a.len; i++)
        if (lower((unsigned char)a.p[i]) != lower((unsigned char)b.p[i]))
            return false;
    return true;
}

bool slice_caseeq_cstr(struct slice a, const char *s)
{
    return slice_caseeq(a, slice_cstr(s));
}

struct slice slice_trim(struct slice s)
{
    while (s.len && (s.p[0] == ' ' || s.p[0] == '\t' || s.p[0] == '\r' || s.p[0] == '\n')) {
        s.p++;
        s.len--;
    }
    while (s.len && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\t' || s.p[s.len - 1] == '\r' ||
                     s.p[s.len - 1] == '\n'))
        s.len--;
    return s;
}

int slice_to_u64(uint64_t *out, struct slice s, uint64_t max)
{
    uint64_t v = 0;
    if (s.len == 0 || s.len > 20)
        return -EINVAL;
    for (size_t i = 0; i < s.len; i++) {
        unsigned d = (unsigned char)s.p[i] - '0';
        if (d > 9)
            return -EINVAL;
        if (v > (max - d) / 10)
            return -EINVAL;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}
