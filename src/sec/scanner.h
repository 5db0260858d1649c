/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Scanner detection: requests whose User-Agent contains a known attack
 * tool's name (case-insensitive substring). The caller drops them without
 * an answer (an answer tells the scanner a SIP server is here) and counts
 * them. Immutable after scanner_new; any thread may match.
 */
#ifndef SW_SEC_SCANNER_H
#define SW_SEC_SCANNER_H

#include <stdbool.h>
#include <stddef.h>

#include "core/util.h"
#include "sip/sipmsg.h"

struct scanner;

/* Copies the patterns; empty strings are skipped. NULL on ENOMEM. */
struct scanner *scanner_new(char *const *patterns, size_t count);
void scanner_free(struct scanner *s);
/* True if any User-Agent field of m contains a pattern. */
bool scanner_match(const struct scanner *s, const struct sipmsg *m);
/* Same for one User-Agent value. */
bool scanner_match_ua(const struct scanner *s, struct slice ua);

#endif
