/* SPDX-License-Identifier: BSD-2-Clause */
/* Helpers shared by the files of the config loader (cfg*.c) only. */
#ifndef SW_CORE_CFG_INT_H
#define SW_CORE_CFG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/util.h"

/* Unsigned decimal prefix of s[0..len): value and digits used; false if
 * there is no digit or it overflows. */
bool cfg_parse_u64(uint64_t *out, const char *s, size_t len, size_t *used);
/* "64k", "4M", "512"; "30s", "500ms", "2m", "1h": the shortest exact form. */
void cfg_fmt_size(char *buf, size_t cap, uint64_t v);
void cfg_fmt_duration(char *buf, size_t cap, uint64_t ms);
/* Length of the valid UTF-8 prefix of p[0..len). */
size_t cfg_utf8_valid_prefix(const unsigned char *p, size_t len);

struct cfg_node;
struct cfg_opt;
struct cfg_list;
struct fy_diag;
struct fy_node;

#define CFG_MAX_PATH 256
#define CFG_MAX_SHOWN 64 /* characters of a user value quoted in an error */
#define CFG_MAX_DEPTH 64

/* The state of one load. Owner: cfg_load_buf's stack frame; one thread. */
struct cfg_ctx {
    const char *file; /* borrowed: name shown in errors */
    char *err;        /* borrowed: caller's buffer */
    size_t errlen;
    bool has_error;
    bool in_default;     /* parsing a built-in default, not the user's file */
    struct fy_node *cur; /* value node of the option being parsed */
    struct fy_node *key; /* its key node: location when 'cur' has none */
    char path[CFG_MAX_PATH];
    size_t path_len;
};

static inline struct fy_node *fyn(const struct cfg_node *n)
{
    return (struct fy_node *)(uintptr_t)n;
}

static inline struct cfg_node *cfgn(struct fy_node *n)
{
    return (struct cfg_node *)n;
}

/* cfg_err.c: snprintf appending at *len, truncating at cap (NUL kept). */
void cfg_buf_append(char *buf, size_t cap, size_t *len, const char *fmt, ...) SW_PRINTF(4, 5);
/* cfg_err.c: error lines ("file:line:col: path: what"), the option path. */
/* An error without a node: "file: what" (I/O, out of memory); returns rc. */
int cfg_plain_error(struct cfg_ctx *ctx, int rc, const char *fmt, ...) SW_PRINTF(3, 4);
/* libfyaml's first collected parse error, or a generic one. */
int cfg_syntax_error(struct cfg_ctx *ctx, struct fy_diag *diag);
/* Invalid UTF-8 at yaml[at]. */
int cfg_utf8_error(struct cfg_ctx *ctx, const char *yaml, size_t at);
/* "unknown option", with "did you mean" when a key of table is close. */
int cfg_unknown_key(struct cfg_ctx *ctx, const struct cfg_opt *table, struct fy_node *k,
                    const char *key, size_t klen);
/* Appends ".key" (no dot at the top) to the path; *saved restores it. */
void cfg_path_push(struct cfg_ctx *ctx, const char *key, size_t klen, size_t *saved);
/* Appends step ("[2]", ".name") as it is. */
void cfg_path_add(struct cfg_ctx *ctx, const char *step);
void cfg_path_pop(struct cfg_ctx *ctx, size_t saved);

/* CFG_LIST / CFG_MAP values (cfg_list.c). parse releases *dst first. */
int cfg_list_parse(struct cfg_ctx *ctx, const struct cfg_opt *o, struct cfg_list *dst,
                   struct cfg_node *n);
void cfg_list_release(const struct cfg_opt *o, struct cfg_list *l);
bool cfg_list_equal(const struct cfg_opt *o, const struct cfg_list *a, const struct cfg_list *b);

/* cfg.c, for cfg_list.c: loads one item (defaults of o->sub, then the
 * mapping 'node', then o->item_done) with "step" ("[2]", ".name") added to
 * the error path. */
int cfg_load_item(struct cfg_ctx *ctx, const struct cfg_opt *o, void *item, const char *name,
                  struct cfg_node *node, const char *step);
/* cfg_free.c: frees what o's parse stored at dst and zeroes it. */
void cfg_opt_release(const struct cfg_opt *o, void *dst);
/* Every option of 'table' equal in a and b (sections included). */
bool cfg_table_equal(const struct cfg_opt *table, const void *a, const void *b);
/* "a list", "a mapping", "nothing", ... for error messages. */
const char *cfg_node_type_word(const struct cfg_node *n);
/* cfg_err.c: "file: out of memory"; -ENOMEM. */
int cfg_oom(struct cfg_ctx *ctx);

#endif
