/* SPDX-License-Identifier: BSD-2-Clause */
/* User-Agent matching against known SIP attack tools. */
#include "sec/scanner.h"

#include <stdlib.h>
#include <string.h>

/* Owner: creator; immutable. */
struct scanner {
    char **pats; /* owned, lower-cased */
    size_t *lens;
    size_t count;
};

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

struct scanner *scanner_new(char *const *patterns, size_t count)
{
    struct scanner *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->pats = calloc(count ? count : 1, sizeof(char *));
    s->lens = calloc(count ? count : 1, sizeof(size_t));
    if (!s->pats || !s->lens)
        goto nomem;
    for (size_t i = 0; i < count; i++) {
        size_t n = strlen(patterns[i]);
        if (n == 0)
            continue;
        char *p = malloc(n + 1);
        if (!p)
            goto nomem;
        for (size_t j = 0; j <= n; j++)
            p[j] = lower(patterns[i][j]);
        s->pats[s->count] = p;
        s->lens[s->count++] = n;
    }
    return s;
nomem:
    scanner_free(s);
    return NULL;
}

void scanner_free(struct scanner *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->count; i++)
        free(s->pats[i]);
    free(s->pats);
    free(s->lens);
    free(s);
}

/* Naive search: a User-Agent is short and the list is a dozen names;
 * a two-way or Aho-Corasick search would not pay at these sizes. */
static bool contains(struct slice hay, const char *pat, size_t n)
{
    if (n > hay.len)
        return false;
    for (size_t i = 0; i + n <= hay.len; i++) {
        size_t j = 0;
        while (j < n && lower(hay.p[i + j]) == pat[j])
            j++;
        if (j == n)
            return true;
    }
    return false;
}

bool scanner_match_ua(const struct scanner *s, struct slice ua)
{
    for (size_t i = 0; s && i < s->count; i++)
        if (contains(ua, s->pats[i], s->lens[i]))
            return true;
    return false;
}

bool scanner_match(const struct scanner *s, const struct sipmsg *m)
{
    for (const struct sip_hdr *h = sipmsg_hdr_first(m, HDR_USER_AGENT); h;
         h = sipmsg_hdr_next(m, h))
        if (scanner_match_ua(s, h->value))
            return true;
    return false;
}
