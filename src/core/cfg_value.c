/* SPDX-License-Identifier: BSD-2-Clause */
/* Value syntax of the config loader: sizes, durations, UTF-8 checking. */
#include "core/cfg.h"
#include "core/cfg_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

bool cfg_parse_u64(uint64_t *out, const char *s, size_t len, size_t *used)
{
    uint64_t v = 0;
    size_t i = 0;

    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (i == 0)
        return false;
    *out = v;
    *used = i;
    return true;
}

int cfg_parse_size(uint64_t *out, const char *s, size_t len)
{
    uint64_t v, mul = 1;
    size_t used;

    if (!cfg_parse_u64(&v, s, len, &used))
        return -EINVAL;
    if (len - used == 1) {
        switch (s[used]) {
        case 'k':
        case 'K':
            mul = 1ull << 10;
            break;
        case 'm':
        case 'M':
            mul = 1ull << 20;
            break;
        case 'g':
        case 'G':
            mul = 1ull << 30;
            break;
        default:
            return -EINVAL;
        }
    } else if (len != used) {
        return -EINVAL;
    }
    if (v > UINT64_MAX / mul)
        return -ERANGE;
    *out = v * mul;
    return 0;
}

int cfg_parse_duration_ms(uint64_t *out, const char *s, size_t len, enum cfg_unit unit)
{
    uint64_t v, mul;
    size_t used;
    struct slice rest;

    if (!cfg_parse_u64(&v, s, len, &used))
        return -EINVAL;
    rest = slice_make(s + used, len - used);
    if (rest.len == 0)
        mul = unit == CFG_UNIT_S ? 1000 : 1;
    else if (slice_eq(rest, SLICE_LIT("ms")))
        mul = 1;
    else if (slice_eq(rest, SLICE_LIT("s")))
        mul = 1000;
    else if (slice_eq(rest, SLICE_LIT("m")))
        mul = 60 * 1000;
    else if (slice_eq(rest, SLICE_LIT("h")))
        mul = 3600 * 1000;
    else
        return -EINVAL;
    if (v > UINT64_MAX / mul)
        return -ERANGE;
    *out = v * mul;
    return 0;
}

void cfg_fmt_size(char *buf, size_t cap, uint64_t v)
{
    static const char suffix[] = {'G', 'M', 'k'};
    static const unsigned shift[] = {30, 20, 10};

    for (size_t i = 0; v != 0 && i < SW_ARRAY_LEN(suffix); i++) {
        if ((v & ((1ull << shift[i]) - 1)) == 0) {
            snprintf(buf, cap, "%" PRIu64 "%c", v >> shift[i], suffix[i]);
            return;
        }
    }
    snprintf(buf, cap, "%" PRIu64, v);
}

void cfg_fmt_duration(char *buf, size_t cap, uint64_t ms)
{
    if (ms != 0 && ms % 3600000 == 0)
        snprintf(buf, cap, "%" PRIu64 "h", ms / 3600000);
    else if (ms != 0 && ms % 60000 == 0)
        snprintf(buf, cap, "%" PRIu64 "m", ms / 60000);
    else if (ms != 0 && ms % 1000 == 0)
        snprintf(buf, cap, "%" PRIu64 "s", ms / 1000);
    else
        snprintf(buf, cap, "%" PRIu64 "ms", ms);
}

/*
 * Length of the valid UTF-8 prefix of 'p' (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF). YAML text is Unicode, and libfyaml
 * 0.7.12 loops forever on some invalid bytes after '%' (a directive), so
 * the bytes are checked before the parser sees them.
 */
size_t cfg_utf8_valid_prefix(const unsigned char *p, size_t len)
{
    size_t i = 0;

    while (i < len) {
        unsigned c = p[i];
        size_t n;
        unsigned lo = 0x80, hi = 0xbf;

        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            n = 1;
        else if (c >= 0xe0 && c <= 0xef)
            n = 2;
        else if (c >= 0xf0 && c <= 0xf4)
            n = 3;
        else
            return i;
        if (c == 0xe0)
            lo = 0xa0; /* overlong */
        else if (c == 0xed)
            hi = 0x9f; /* surrogates */
        else if (c == 0xf0)
            lo = 0x90; /* overlong */
        else if (c == 0xf4)
            hi = 0x8f;    /* above U+10FFFF */
        if (i + n >= len) /* truncated sequence */
            return i;
        for (size_t k = 1; k <= n; k++) {
            unsigned b = p[i + k];
            if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xbf))
                return i;
        }
        i += n + 1;
    }
    return len;
}
