/* SPDX-License-Identifier: BSD-2-Clause */
/* Table-driven YAML configuration loader (libfyaml) and reference writer. */
#ifndef SW_CORE_CFG_H
#define SW_CORE_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/util.h"

/*
 * Each module declares one table of struct cfg_opt, ended by CFG_END. An
 * option names its YAML key, its type, its default (as YAML text, exactly
 * what a user would write; NULL means zero / empty), its bounds, whether a
 * reload may change it, where the value goes (an offset into the module's
 * struct) and one line of help. The loader fills every default first, then
 * walks the YAML mapping against the table: unknown keys, wrong types and
 * out-of-bounds values are errors reported as
 *
 *     file:line:col: key.path: what is wrong
 *
 * with 1-based line and column. The same tables generate the Markdown
 * reference (cfg_write_reference), so docs and code cannot drift apart.
 *
 * Destination types (checked at compile time by the CFG_* macros):
 *   CFG_BOOL      bool           true/false (also yes/no, on/off)
 *   CFG_INT       int64_t        signed decimal, bounds min..max
 *   CFG_UINT      unsigned int   unsigned decimal, bounds min..max
 *   CFG_SIZE      size_t         bytes; suffix k, M or G (powers of 1024)
 *   CFG_DURATION  uint64_t       milliseconds; suffix ms, s, m or h; a
 *                                plain number is in the option's unit
 *   CFG_STRING    char *         owned, never NULL after loading
 *   CFG_ENUM      int            index into the option's NULL-ended names
 *   CFG_STRLIST   struct cfg_strlist
 *   CFG_SECTION   a nested struct, described by its own table
 *   CFG_CUSTOM    anything; parsed and freed by struct cfg_custom hooks
 *   CFG_LIST      struct cfg_list: a YAML list of mappings, each loaded into
 *                 one item struct by the option's own table (routes:)
 *   CFG_MAP       struct cfg_list: a YAML mapping NAME -> mapping, each value
 *                 loaded the same way; names kept in order (dispatchers:)
 */

enum cfg_type {
    CFG_T_END = 0,
    CFG_T_BOOL,
    CFG_T_INT,
    CFG_T_UINT,
    CFG_T_SIZE,
    CFG_T_DURATION,
    CFG_T_STRING,
    CFG_T_ENUM,
    CFG_T_STRLIST,
    CFG_T_SECTION,
    CFG_T_CUSTOM,
    CFG_T_LIST,
    CFG_T_MAP,
};

/* Unit of a plain number given to a CFG_DURATION option. */
enum cfg_unit {
    CFG_UNIT_MS = 0,
    CFG_UNIT_S,
};

/* A list of strings; owns its items and the array. */
struct cfg_strlist {
    char **items; /* owned, each owned */
    size_t count;
};

/*
 * Items of a CFG_LIST or CFG_MAP option: 'count' structs of the option's
 * item_size bytes, in file order, each loaded by the option's table (every
 * default filled first). names[i] is the key of item i (CFG_MAP only;
 * NULL array for CFG_LIST). Owns items, names and each name.
 */
struct cfg_list {
    void *items;  /* owned array */
    char **names; /* owned, each owned; CFG_MAP only */
    size_t count;
};

/* A YAML node handed to custom parsers; borrowed, valid during the call. */
struct cfg_node;
/* Error context of one load; custom parsers pass it to cfg_error(). */
struct cfg_ctx;

/*
 * Checks a string value (CFG_STRING, or each CFG_STRLIST item); returns
 * NULL if it is acceptable, otherwise a static reason ("contains a space").
 */
typedef const char *(*cfg_check_fn)(const char *s, size_t len);

/*
 * Parses 'node' into 'dst' (freed by free_fn, if any, and zeroed before
 * the call). On error, returns cfg_error(...) (a negative errno) and leaves
 * 'dst' in a state free_fn can release.
 */
typedef int (*cfg_parse_fn)(void *dst, struct cfg_node *node, struct cfg_ctx *ctx);
/* Releases what parse_fn stored in 'dst'; must accept a zeroed 'dst'. */
typedef void (*cfg_free_fn)(void *dst);

/*
 * Called after one item of a CFG_LIST / CFG_MAP option was loaded by its
 * table, with the item's mapping node ('name' is its key for CFG_MAP, NULL
 * for CFG_LIST): checks that need several fields, and derived values kept
 * in fields the table does not describe. Errors go through cfg_error() on
 * 'node' or a node inside it ("routes[2].to: ...").
 */
typedef int (*cfg_item_fn)(void *item, const char *name, struct cfg_node *node,
                           struct cfg_ctx *ctx);

/* True if two parsed values are the same (for cfg_changed_fixed). */
typedef bool (*cfg_equal_fn)(const void *a, const void *b);

struct cfg_custom {
    const char *type_name; /* for the reference: "list of listen URIs" */
    cfg_parse_fn parse;
    cfg_free_fn free;
    cfg_equal_fn equal; /* NULL: values always compare as changed */
};

struct cfg_opt {
    const char *key;
    enum cfg_type type;
    const char *def; /* default as YAML text; NULL = zero, empty */
    size_t off;      /* offset of the destination in the table's struct */
    size_t size;     /* size of the destination (0 for sections) */
    bool is_reloadable;
    const char *help;
    int64_t min, max;                /* CFG_INT */
    uint64_t umin, umax;             /* CFG_UINT, CFG_SIZE, CFG_DURATION (ms) */
    enum cfg_unit unit;              /* CFG_DURATION */
    const char *const *names;        /* CFG_ENUM, NULL-terminated */
    cfg_check_fn check;              /* CFG_STRING, CFG_STRLIST; may be NULL */
    const struct cfg_opt *sub;       /* CFG_SECTION; CFG_LIST/CFG_MAP: item table */
    const struct cfg_custom *custom; /* CFG_CUSTOM */
    size_t item_size;                /* CFG_LIST, CFG_MAP: bytes per item (umax: most items) */
    cfg_item_fn item_done;           /* CFG_LIST, CFG_MAP: may be NULL */
    cfg_free_fn item_free; /* CFG_LIST, CFG_MAP: releases what item_done kept; may be NULL;
                              must accept an item that was never loaded (zeroed) */
};

/* Offset of st.f, failing to compile unless st.f has type T. */
#define CFG_FIELD(st, f, T)                                                                        \
    (offsetof(st, f) + 0 * sizeof(struct { char c[_Generic(((st *)0)->f, T : 1)]; }))

#define CFG_BOOL(k, st, f, d, rel, h)                                                              \
    {                                                                                              \
        .key = (k), .type = CFG_T_BOOL, .def = (d), .size = sizeof(((st *)0)->f),                  \
        .off = CFG_FIELD(st, f, bool), .is_reloadable = (rel), .help = (h)                         \
    }
#define CFG_INT(k, st, f, d, lo, hi, rel, h)                                                       \
    {                                                                                              \
        .key = (k), .type = CFG_T_INT, .def = (d), .size = sizeof(((st *)0)->f),                   \
        .off = CFG_FIELD(st, f, int64_t), .is_reloadable = (rel), .help = (h), .min = (lo),        \
        .max = (hi)                                                                                \
    }
#define CFG_UINT(k, st, f, d, lo, hi, rel, h)                                                      \
    {                                                                                              \
        .key = (k), .type = CFG_T_UINT, .def = (d), .size = sizeof(((st *)0)->f),                  \
        .off = CFG_FIELD(st, f, unsigned int), .is_reloadable = (rel), .help = (h), .umin = (lo),  \
        .umax = (hi)                                                                               \
    }
#define CFG_SIZE(k, st, f, d, lo, hi, rel, h)                                                      \
    {                                                                                              \
        .key = (k), .type = CFG_T_SIZE, .def = (d), .size = sizeof(((st *)0)->f),                  \
        .off = CFG_FIELD(st, f, size_t), .is_reloadable = (rel), .help = (h), .umin = (lo),        \
        .umax = (hi)                                                                               \
    }
#define CFG_DURATION(k, st, f, d, u, lo_ms, hi_ms, rel, h)                                         \
    {                                                                                              \
        .key = (k), .type = CFG_T_DURATION, .def = (d), .size = sizeof(((st *)0)->f),              \
        .off = CFG_FIELD(st, f, uint64_t), .is_reloadable = (rel), .help = (h), .umin = (lo_ms),   \
        .umax = (hi_ms), .unit = (u)                                                               \
    }
#define CFG_STRING(k, st, f, d, chk, rel, h)                                                       \
    {                                                                                              \
        .key = (k), .type = CFG_T_STRING, .def = (d), .size = sizeof(((st *)0)->f),                \
        .off = CFG_FIELD(st, f, char *), .is_reloadable = (rel), .help = (h), .check = (chk)       \
    }
#define CFG_ENUM(k, st, f, d, nm, rel, h)                                                          \
    {                                                                                              \
        .key = (k), .type = CFG_T_ENUM, .def = (d), .size = sizeof(((st *)0)->f),                  \
        .off = CFG_FIELD(st, f, int), .is_reloadable = (rel), .help = (h), .names = (nm)           \
    }
#define CFG_STRLIST(k, st, f, d, chk, rel, h)                                                      \
    {                                                                                              \
        .key = (k), .type = CFG_T_STRLIST, .def = (d), .size = sizeof(((st *)0)->f),               \
        .off = CFG_FIELD(st, f, struct cfg_strlist), .is_reloadable = (rel), .help = (h),          \
        .check = (chk)                                                                             \
    }
#define CFG_SECTION(k, st, f, table, h)                                                            \
    {                                                                                              \
        .key = (k), .type = CFG_T_SECTION, .off = offsetof(st, f), .help = (h), .sub = (table)     \
    }
#define CFG_CUSTOM(k, st, f, d, cust, rel, h)                                                      \
    {                                                                                              \
        .key = (k), .type = CFG_T_CUSTOM, .def = (d), .off = offsetof(st, f),                      \
        .size = sizeof(((st *)0)->f), .is_reloadable = (rel), .help = (h), .custom = (cust)        \
    }
/* A list of item_st structs loaded by 'table'; at most maxn items. done/fr: cfg_item_fn and
 * cfg_free_fn hooks or NULL. The default d (YAML text or NULL) is rarely useful. */
#define CFG_LIST(k, st, f, item_st, table, done, fr, maxn, rel, h)                                 \
    {                                                                                              \
        .key = (k), .type = CFG_T_LIST, .size = sizeof(((st *)0)->f),                              \
        .off = CFG_FIELD(st, f, struct cfg_list), .is_reloadable = (rel), .help = (h),             \
        .sub = (table), .item_size = sizeof(item_st), .item_done = (done), .item_free = (fr),      \
        .umax = (maxn)                                                                             \
    }
/* A mapping NAME -> item_st loaded by 'table'; names are kept in cfg_list.names. */
#define CFG_MAP(k, st, f, item_st, table, done, fr, maxn, rel, h)                                  \
    {                                                                                              \
        .key = (k), .type = CFG_T_MAP, .size = sizeof(((st *)0)->f),                               \
        .off = CFG_FIELD(st, f, struct cfg_list), .is_reloadable = (rel), .help = (h),             \
        .sub = (table), .item_size = sizeof(item_st), .item_done = (done), .item_free = (fr),      \
        .umax = (maxn)                                                                             \
    }
#define CFG_END                                                                                    \
    {                                                                                              \
        .key = NULL                                                                                \
    }

/*
 * Loads 'len' bytes of YAML text into the struct at 'base' described by
 * 'table'. 'name' is the file name used in error messages. Defaults are
 * filled first. On success returns 0 and 'base' owns its strings, lists and
 * custom values (release them with cfg_free). On failure writes one line
 * "name:line:col: key.path: what is wrong" (no newline) into 'err', frees
 * whatever it had stored (as cfg_free) and returns -EINVAL (bad config) or
 * -ENOMEM.
 */
int cfg_load_buf(const struct cfg_opt *table, void *base, const char *yaml, size_t len,
                 const char *name, char *err, size_t errlen) warn_unused_result;

/*
 * As cfg_load_buf, reading the file at 'path' (at most 16 MiB). A file that
 * cannot be read is reported as "path: strerror" and returns -errno.
 */
int cfg_load_file(const struct cfg_opt *table, void *base, const char *path, char *err,
                  size_t errlen) warn_unused_result;

/* Releases everything the loader stored in 'base' and zeroes each field the
 * table describes (fields it does not describe are left alone). */
void cfg_free(const struct cfg_opt *table, void *base);

/*
 * For a reload: compares two loaded structs and writes into 'key' the path
 * of the first option that is not reloadable and differs ("udp.batch").
 * Returns true if there is one (the new config then needs a restart).
 */
bool cfg_changed_fixed(const struct cfg_opt *table, const void *old_base, const void *new_base,
                       char *key, size_t keylen);

/*
 * Writes a Markdown reference of 'table' and its sections: one table per
 * section with key path, type, default, bounds, reloadable and help.
 * Sections start at heading level 'level' (2 = "##").
 */
void cfg_write_reference(FILE *f, const struct cfg_opt *table, int level);

/* --- for custom parsers ------------------------------------------------- */

bool cfg_node_is_null(const struct cfg_node *n);
bool cfg_node_is_scalar(const struct cfg_node *n);
bool cfg_node_is_seq(const struct cfg_node *n);
bool cfg_node_is_map(const struct cfg_node *n);
/* Text of a scalar (not terminated); NULL if not a scalar. */
const char *cfg_node_str(const struct cfg_node *n, size_t *len);
/* Number of items of a sequence (0 if not a sequence) and item i. */
size_t cfg_node_seq_count(const struct cfg_node *n);
struct cfg_node *cfg_node_seq_at(const struct cfg_node *n, size_t i);

/*
 * Records the load's error at node 'n' (the option's own node or one
 * inside it; the key path gets "[i]" / ".key" for inner nodes) and returns
 * -EINVAL. Only the first error of a load is kept.
 */
int cfg_error(struct cfg_ctx *ctx, const struct cfg_node *n, const char *fmt, ...) SW_PRINTF(3, 4);

/*
 * Writes "file:line:col: key.path" of node 'n' (as an error line would
 * start) into buf: for checks made after loading (a route naming a
 * dispatcher that does not exist) that still want to point at the file.
 */
void cfg_where(struct cfg_ctx *ctx, const struct cfg_node *n, char *buf, size_t len);

/* Parses a size ("64k", "4M", "512") and a duration ("30s", "500ms"). */
int cfg_parse_size(uint64_t *out, const char *s, size_t len) warn_unused_result;
int cfg_parse_duration_ms(uint64_t *out, const char *s, size_t len,
                          enum cfg_unit unit) warn_unused_result;

#endif
