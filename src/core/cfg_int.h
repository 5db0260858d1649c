/* SPDX-License-Identifier: BSD-2-Clause */
/* Helpers shared by the files of the config loader (cfg*.c) only. */
#ifndef SW_CORE_CFG_INT_H
#define SW_CORE_CFG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Unsigned decimal prefix of s[0..len): value and digits used; false if
 * there is no digit or it overflows. */
bool cfg_parse_u64(uint64_t *out, const char *s, size_t len, size_t *used);
/* "64k", "4M", "512"; "30s", "500ms", "2m", "1h": the shortest exact form. */
void cfg_fmt_size(char *buf, size_t cap, uint64_t v);
void cfg_fmt_duration(char *buf, size_t cap, uint64_t ms);
/* Length of the valid UTF-8 prefix of p[0..len). */
size_t cfg_utf8_valid_prefix(const unsigned char *p, size_t len);

#endif
