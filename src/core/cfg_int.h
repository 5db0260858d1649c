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

struct cfg_ctx;
struct cfg_node;
struct cfg_opt;
struct cfg_list;

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
int cfg_oom(struct cfg_ctx *ctx);

#endif
