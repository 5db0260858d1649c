/* SPDX-License-Identifier: BSD-2-Clause */
/* Table-driven YAML configuration loader on libfyaml, and its reference writer. */
#include "core/cfg.h"
#include "core/cfg_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libfyaml.h>

#define CFG_MAX_FILE (16u << 20) /* a config larger than this is a mistake */

/* --- node accessors for custom parsers ------------------------------------ */

static bool is_null_scalar(struct fy_node *n)
{
    size_t len;
    const char *s;

    if (n == NULL)
        return true;
    if (!fy_node_is_scalar(n) || fy_node_get_style(n) != FYNS_PLAIN)
        return false;
    s = fy_node_get_scalar(n, &len);
    return s == NULL || len == 0 || (len == 1 && s[0] == '~') ||
           (len == 4 && (!memcmp(s, "null", 4) || !memcmp(s, "Null", 4) || !memcmp(s, "NULL", 4)));
}

bool cfg_node_is_null(const struct cfg_node *n)
{
    return is_null_scalar(fyn(n));
}

bool cfg_node_is_scalar(const struct cfg_node *n)
{
    return n != NULL && fy_node_is_scalar(fyn(n)) && !fy_node_is_alias(fyn(n));
}

bool cfg_node_is_seq(const struct cfg_node *n)
{
    return n != NULL && fy_node_is_sequence(fyn(n));
}

bool cfg_node_is_map(const struct cfg_node *n)
{
    return n != NULL && fy_node_is_mapping(fyn(n));
}

const char *cfg_node_str(const struct cfg_node *n, size_t *len)
{
    const char *s;

    *len = 0;
    if (!cfg_node_is_scalar(n))
        return NULL;
    s = fy_node_get_scalar(fyn(n), len);
    if (s == NULL) {
        *len = 0;
        return "";
    }
    return s;
}

size_t cfg_node_seq_count(const struct cfg_node *n)
{
    int c;

    if (!cfg_node_is_seq(n))
        return 0;
    c = fy_node_sequence_item_count(fyn(n));
    return c > 0 ? (size_t)c : 0;
}

struct cfg_node *cfg_node_seq_at(const struct cfg_node *n, size_t i)
{
    if (i >= cfg_node_seq_count(n))
        return NULL;
    return cfgn(fy_node_sequence_get_by_index(fyn(n), (int)i));
}

/* --- typed values --------------------------------------------------------- */

static const char *type_word(struct fy_node *n)
{
    if (n == NULL)
        return "nothing";
    if (fy_node_is_alias(n))
        return "an alias";
    switch (fy_node_get_type(n)) {
    case FYNT_SCALAR:
        return is_null_scalar(n) ? "nothing" : "a scalar";
    case FYNT_SEQUENCE:
        return "a list";
    case FYNT_MAPPING:
        return "a mapping";
    }
    return "something else";
}

static int check_bounds_u(struct cfg_ctx *ctx, const struct cfg_opt *o, struct fy_node *n,
                          uint64_t v, const char *s, size_t len)
{
    char lim[32];

    if (v >= o->umin && v <= o->umax)
        return 0;
    if (o->type == CFG_T_SIZE)
        cfg_fmt_size(lim, sizeof(lim), v < o->umin ? o->umin : o->umax);
    else if (o->type == CFG_T_DURATION)
        cfg_fmt_duration(lim, sizeof(lim), v < o->umin ? o->umin : o->umax);
    else
        snprintf(lim, sizeof(lim), "%" PRIu64, v < o->umin ? o->umin : o->umax);
    return cfg_error(ctx, cfgn(n), "%.*s is %s %s", (int)SW_MIN(len, CFG_MAX_SHOWN), s,
                     v < o->umin ? "below the minimum" : "above the maximum", lim);
}

static int parse_bool(struct cfg_ctx *ctx, bool *dst, struct fy_node *n, const char *s, size_t len)
{
    static const char *const yes[] = {"true", "yes", "on"};
    static const char *const no[] = {"false", "no", "off"};
    struct slice v = slice_make(s, len);

    for (size_t i = 0; i < SW_ARRAY_LEN(yes); i++) {
        if (slice_caseeq_cstr(v, yes[i])) {
            *dst = true;
            return 0;
        }
        if (slice_caseeq_cstr(v, no[i])) {
            *dst = false;
            return 0;
        }
    }
    return cfg_error(ctx, cfgn(n), "'%.*s' is not a boolean (use true or false)",
                     (int)SW_MIN(len, CFG_MAX_SHOWN), s);
}

static int parse_int(struct cfg_ctx *ctx, const struct cfg_opt *o, int64_t *dst, struct fy_node *n,
                     const char *s, size_t len)
{
    bool is_neg = len > 0 && s[0] == '-';
    size_t skip = len > 0 && (s[0] == '-' || s[0] == '+');
    uint64_t u;
    size_t used;
    int64_t v;

    if (!cfg_parse_u64(&u, s + skip, len - skip, &used) || used != len - skip ||
        u > (is_neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX))
        return cfg_error(ctx, cfgn(n), "'%.*s' is not an integer", (int)SW_MIN(len, CFG_MAX_SHOWN),
                         s);
    v = is_neg ? (int64_t)(0 - u) : (int64_t)u;
    if (v < o->min)
        return cfg_error(ctx, cfgn(n), "%" PRId64 " is below the minimum %" PRId64, v, o->min);
    if (v > o->max)
        return cfg_error(ctx, cfgn(n), "%" PRId64 " is above the maximum %" PRId64, v, o->max);
    *dst = v;
    return 0;
}

static int parse_enum(struct cfg_ctx *ctx, const struct cfg_opt *o, int *dst, struct fy_node *n,
                      const char *s, size_t len)
{
    char names[256];
    size_t nlen = 0;

    for (int i = 0; o->names[i] != NULL; i++) {
        if (slice_caseeq_cstr(slice_make(s, len), o->names[i])) {
            *dst = i;
            return 0;
        }
        cfg_buf_append(names, sizeof(names), &nlen, "%s%s", i ? ", " : "", o->names[i]);
    }
    return cfg_error(ctx, cfgn(n), "'%.*s' is not one of: %s", (int)SW_MIN(len, CFG_MAX_SHOWN), s,
                     nlen ? names : "(none)");
}

static int dup_string(struct cfg_ctx *ctx, const struct cfg_opt *o, char **dst, struct fy_node *n,
                      const char *s, size_t len)
{
    const char *why;
    char *copy;

    if (memchr(s, '\0', len) != NULL)
        return cfg_error(ctx, cfgn(n), "contains a NUL byte");
    if (o->check != NULL && (why = o->check(s, len)) != NULL)
        return cfg_error(ctx, cfgn(n), "'%.*s' %s", (int)SW_MIN(len, CFG_MAX_SHOWN), s, why);
    copy = strndup(s, len);
    if (copy == NULL)
        return cfg_oom(ctx);
    *dst = copy;
    return 0;
}

/*
 * Parses a scalar option from text. 'n' is its YAML node, or NULL when the
 * text is the option's built-in default.
 */
static int parse_scalar(struct cfg_ctx *ctx, const struct cfg_opt *o, void *dst, struct fy_node *n,
                        const char *s, size_t len, bool is_null)
{
    uint64_t u;
    int rc;

    if (is_null && o->type != CFG_T_STRING)
        return cfg_error(ctx, cfgn(n), "missing value");
    switch (o->type) {
    case CFG_T_BOOL:
        return parse_bool(ctx, dst, n, s, len);
    case CFG_T_INT:
        return parse_int(ctx, o, dst, n, s, len);
    case CFG_T_UINT:
    case CFG_T_SIZE:
    case CFG_T_DURATION:
        if (o->type == CFG_T_SIZE)
            rc = cfg_parse_size(&u, s, len);
        else if (o->type == CFG_T_DURATION)
            rc = cfg_parse_duration_ms(&u, s, len, o->unit);
        else {
            size_t used;
            rc = cfg_parse_u64(&u, s, len, &used) && used == len ? 0 : -EINVAL;
        }
        if (rc == -ERANGE)
            return cfg_error(ctx, cfgn(n), "'%.*s' is too large", (int)SW_MIN(len, CFG_MAX_SHOWN),
                             s);
        if (rc < 0)
            return cfg_error(ctx, cfgn(n), "'%.*s' is not %s", (int)SW_MIN(len, CFG_MAX_SHOWN), s,
                             o->type == CFG_T_SIZE ? "a size (a number, optionally with k, M or G)"
                             : o->type == CFG_T_DURATION ? "a duration (a number, optionally with "
                                                           "ms, s, m or h)"
                                                         : "a non-negative integer");
        if ((rc = check_bounds_u(ctx, o, n, u, s, len)) < 0)
            return rc;
        if (o->type == CFG_T_UINT)
            *(unsigned int *)dst = (unsigned int)u;
        else if (o->type == CFG_T_SIZE)
            *(size_t *)dst = (size_t)u;
        else
            *(uint64_t *)dst = u;
        return 0;
    case CFG_T_STRING: {
        char *copy = NULL;
        if ((rc = dup_string(ctx, o, &copy, n, is_null ? "" : s, is_null ? 0 : len)) < 0)
            return rc;
        free(*(char **)dst);
        *(char **)dst = copy;
        return 0;
    }
    case CFG_T_ENUM:
        return parse_enum(ctx, o, dst, n, s, len);
    default:
        SW_ASSERT(!"not a scalar type");
    }
    return -EINVAL;
}

static int parse_strlist(struct cfg_ctx *ctx, const struct cfg_opt *o, struct cfg_strlist *dst,
                         struct fy_node *n)
{
    size_t count;
    int rc;

    cfg_opt_release(o, dst);
    if (is_null_scalar(n))
        return 0;
    if (!fy_node_is_sequence(n))
        return cfg_error(ctx, cfgn(n), "expected a list of strings, got %s", type_word(n));
    count = cfg_node_seq_count(cfgn(n));
    if (count == 0)
        return 0;
    dst->items = calloc(count, sizeof(*dst->items));
    if (dst->items == NULL)
        return cfg_oom(ctx);
    for (size_t i = 0; i < count; i++) {
        struct fy_node *item = fy_node_sequence_get_by_index(n, (int)i);
        size_t len;
        const char *s = cfg_node_str(cfgn(item), &len);
        if (s == NULL || is_null_scalar(item))
            return cfg_error(ctx, cfgn(item), "expected a string, got %s", type_word(item));
        if ((rc = dup_string(ctx, o, &dst->items[i], item, s, len)) < 0)
            return rc;
        dst->count = i + 1;
    }
    return 0;
}

static int load_table(struct cfg_ctx *ctx, const struct cfg_opt *table, char *base,
                      struct fy_node *map);

/* Parses the YAML value 'n' of option 'o' into 'dst'. */
static int load_opt(struct cfg_ctx *ctx, const struct cfg_opt *o, char *dst, struct fy_node *n)
{
    size_t len = 0;
    const char *s;

    if (n != NULL && fy_node_is_alias(n))
        return cfg_error(ctx, cfgn(n), "YAML aliases are not supported");
    switch (o->type) {
    case CFG_T_SECTION:
        if (is_null_scalar(n))
            return 0;
        if (!fy_node_is_mapping(n))
            return cfg_error(ctx, cfgn(n), "expected a mapping of options, got %s", type_word(n));
        return load_table(ctx, o->sub, dst, n);
    case CFG_T_STRLIST:
        return parse_strlist(ctx, o, (struct cfg_strlist *)(void *)dst, n);
    case CFG_T_CUSTOM:
        cfg_opt_release(o, dst);
        return o->custom->parse(dst, cfgn(n), ctx);
    case CFG_T_LIST:
    case CFG_T_MAP:
        return cfg_list_parse(ctx, o, (struct cfg_list *)(void *)dst, cfgn(n));
    default:
        break;
    }
    if (n != NULL && !fy_node_is_scalar(n))
        return cfg_error(ctx, cfgn(n), "expected a single value, got %s", type_word(n));
    s = n ? fy_node_get_scalar(n, &len) : NULL;
    return parse_scalar(ctx, o, dst, n, s ? s : "", s ? len : 0, is_null_scalar(n));
}

static int load_table(struct cfg_ctx *ctx, const struct cfg_opt *table, char *base,
                      struct fy_node *map)
{
    void *it = NULL;
    struct fy_node_pair *pair;
    int rc;

    while ((pair = fy_node_mapping_iterate(map, &it)) != NULL) {
        struct fy_node *k = fy_node_pair_key(pair);
        struct fy_node *v = fy_node_pair_value(pair);
        const struct cfg_opt *o;
        size_t klen = 0, saved;
        const char *key = cfg_node_str(cfgn(k), &klen);

        ctx->cur = NULL;
        ctx->key = k;
        if (key == NULL || is_null_scalar(k))
            return cfg_error(ctx, cfgn(k), "option names must be plain words, got %s",
                             type_word(k));
        for (o = table; o->key != NULL; o++)
            if (strlen(o->key) == klen && memcmp(o->key, key, klen) == 0)
                break;
        cfg_path_push(ctx, key, klen, &saved);
        if (o->key == NULL)
            return cfg_unknown_key(ctx, table, k, key, klen);
        ctx->cur = v;
        ctx->key = k;
        if ((rc = load_opt(ctx, o, base + o->off, v)) < 0)
            return rc;
        cfg_path_pop(ctx, saved);
    }
    return 0;
}

/* --- defaults and release ------------------------------------------------- */

static void zero_fields(const struct cfg_opt *table, char *base)
{
    for (const struct cfg_opt *o = table; o->key != NULL; o++) {
        if (o->type == CFG_T_SECTION)
            zero_fields(o->sub, base + o->off);
        else
            memset(base + o->off, 0, o->size);
    }
}

static struct fy_parse_cfg parse_cfg(struct fy_diag *diag)
{
    /* No FYPCF_RESOLVE_DOCUMENT: aliases stay unexpanded (and are refused),
     * so a "billion laughs" file cannot blow up memory. */
    struct fy_parse_cfg pc = {.flags = FYPCF_QUIET | FYPCF_DEFAULT_VERSION_AUTO | FYPCF_JSON_NONE,
                              .diag = diag};
    return pc;
}

/* A list or custom default is YAML text ("[a, b]"); parse it as a document. */
static int default_from_yaml(struct cfg_ctx *ctx, const struct cfg_opt *o, char *dst)
{
    struct fy_parse_cfg pc = parse_cfg(NULL);
    struct fy_document *doc;
    int rc;

    doc = fy_document_build_from_string(&pc, o->def, strlen(o->def));
    if (doc == NULL)
        return cfg_error(ctx, NULL, "built-in default '%s' is not valid YAML", o->def);
    ctx->cur = fy_document_root(doc);
    ctx->key = NULL;
    rc = load_opt(ctx, o, dst, ctx->cur);
    ctx->cur = NULL;
    fy_document_destroy(doc);
    return rc;
}

static int fill_defaults(struct cfg_ctx *ctx, const struct cfg_opt *table, char *base)
{
    int rc = 0;

    for (const struct cfg_opt *o = table; o->key != NULL && rc == 0; o++) {
        size_t saved;
        char *dst = base + o->off;

        cfg_path_push(ctx, o->key, strlen(o->key), &saved);
        if (o->type == CFG_T_SECTION)
            rc = fill_defaults(ctx, o->sub, dst);
        else if (o->def == NULL && o->type == CFG_T_STRING)
            rc = parse_scalar(ctx, o, dst, NULL, "", 0, true);
        else if (o->def == NULL)
            memset(dst, 0, o->size);
        else if (o->type == CFG_T_STRLIST || o->type == CFG_T_CUSTOM || o->type == CFG_T_LIST ||
                 o->type == CFG_T_MAP)
            rc = default_from_yaml(ctx, o, dst);
        else
            rc = parse_scalar(ctx, o, dst, NULL, o->def, strlen(o->def), false);
        cfg_path_pop(ctx, saved);
    }
    return rc;
}

/* --- items of lists and maps (cfg_list.c) -------------------------------- */

const char *cfg_node_type_word(const struct cfg_node *n)
{
    return type_word(fyn(n));
}

int cfg_load_item(struct cfg_ctx *ctx, const struct cfg_opt *o, void *item, const char *name,
                  struct cfg_node *node, const char *step)
{
    struct fy_node *cur = ctx->cur, *key = ctx->key, *n = fyn(node);
    bool in_default = ctx->in_default;
    size_t saved = ctx->path_len;
    int rc;

    cfg_path_add(ctx, step);
    ctx->in_default = true;
    rc = fill_defaults(ctx, o->sub, item);
    ctx->in_default = in_default;
    ctx->cur = n;
    ctx->key = n;
    if (rc == 0 && n != NULL && fy_node_is_alias(n))
        rc = cfg_error(ctx, node, "YAML aliases are not supported");
    else if (rc == 0 && !is_null_scalar(n) && !fy_node_is_mapping(n))
        rc = cfg_error(ctx, node, "expected a mapping of options, got %s", type_word(n));
    else if (rc == 0 && !is_null_scalar(n))
        rc = load_table(ctx, o->sub, item, n);
    if (rc == 0 && o->item_done != NULL) {
        /* load_table leaves the path at the item; the hook reports
         * relative to the item node */
        ctx->path_len = saved;
        cfg_path_add(ctx, step);
        ctx->cur = n;
        ctx->key = n;
        rc = o->item_done(item, name, node, ctx);
    }
    if (rc == 0)
        cfg_path_pop(ctx, saved);
    ctx->cur = cur;
    ctx->key = key;
    return rc;
}

/* --- loading -------------------------------------------------------------- */

static void diag_discard(struct fy_diag *diag, void *user, const char *buf, size_t len)
{
    (void)diag;
    (void)user;
    (void)buf;
    (void)len;
}

static int load_document(struct cfg_ctx *ctx, const struct cfg_opt *table, char *base,
                         const char *yaml, size_t len)
{
    struct fy_diag_cfg dc;
    struct fy_diag *diag;
    struct fy_parser *fyp = NULL;
    struct fy_document *doc = NULL, *extra = NULL;
    struct fy_parse_cfg pc;
    struct fy_node *root;
    size_t bad;
    int rc;

    if ((bad = cfg_utf8_valid_prefix((const unsigned char *)yaml, len)) != len)
        return cfg_utf8_error(ctx, yaml, bad);
    fy_diag_cfg_default(&dc);
    dc.fp = NULL;
    dc.output_fn = diag_discard;
    dc.level = FYET_ERROR;
    diag = fy_diag_create(&dc);
    if (diag == NULL)
        return cfg_oom(ctx);
    fy_diag_set_collect_errors(diag, true);
    pc = parse_cfg(diag);
    fyp = fy_parser_create(&pc);
    if (fyp == NULL) {
        rc = cfg_oom(ctx);
        goto out;
    }
    if (fy_parser_set_string(fyp, yaml, len) != 0) {
        rc = cfg_oom(ctx);
        goto out;
    }
    doc = fy_parse_load_document(fyp);
    if (doc == NULL && fy_parser_get_stream_error(fyp)) {
        rc = cfg_syntax_error(ctx, diag);
        goto out;
    }
    if (doc != NULL) {
        extra = fy_parse_load_document(fyp);
        if (extra == NULL && fy_parser_get_stream_error(fyp)) {
            rc = cfg_syntax_error(ctx, diag);
            goto out;
        }
    }
    if (extra != NULL) {
        ctx->cur = NULL;
        ctx->key = NULL;
        rc = cfg_error(ctx, cfgn(fy_document_root(extra)),
                       "only one YAML document is allowed (remove '---')");
        goto out;
    }
    root = doc ? fy_document_root(doc) : NULL;
    if (root == NULL || is_null_scalar(root)) {
        rc = 0; /* empty file: every default */
    } else if (!fy_node_is_mapping(root)) {
        rc = cfg_error(ctx, cfgn(root), "expected a mapping of options, got %s", type_word(root));
    } else {
        rc = load_table(ctx, table, base, root);
    }
out:
    if (extra)
        fy_parse_document_destroy(fyp, extra);
    if (doc)
        fy_parse_document_destroy(fyp, doc);
    if (fyp)
        fy_parser_destroy(fyp);
    fy_diag_destroy(diag);
    return rc;
}

int cfg_load_buf(const struct cfg_opt *table, void *base, const char *yaml, size_t len,
                 const char *name, char *err, size_t errlen)
{
    struct cfg_ctx ctx = {.file = name, .err = err, .errlen = errlen};
    int rc;

    if (errlen > 0)
        err[0] = '\0';
    zero_fields(table, base);
    ctx.in_default = true;
    rc = fill_defaults(&ctx, table, base);
    ctx.in_default = false;
    if (rc == 0)
        rc = load_document(&ctx, table, base, yaml, len);
    if (rc < 0) {
        if (!ctx.has_error)
            (void)cfg_plain_error(&ctx, rc,
                                  rc == -ENOMEM ? "out of memory" : "cannot load configuration");
        cfg_free(table, base);
    }
    return rc;
}

int cfg_load_file(const struct cfg_opt *table, void *base, const char *path, char *err,
                  size_t errlen)
{
    struct cfg_ctx ctx = {.file = path, .err = err, .errlen = errlen};
    struct stat st;
    char *buf = NULL;
    size_t got = 0;
    int fd, rc;

    if (errlen > 0)
        err[0] = '\0';
    zero_fields(table, base);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cfg_plain_error(&ctx, -errno, "%s", strerror(errno));
    if (fstat(fd, &st) < 0) {
        rc = cfg_plain_error(&ctx, -errno, "%s", strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = cfg_plain_error(&ctx, -EINVAL, "not a regular file");
        goto out;
    }
    if (st.st_size > (off_t)CFG_MAX_FILE) {
        rc = cfg_plain_error(&ctx, -EFBIG, "file is larger than %u bytes", CFG_MAX_FILE);
        goto out;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        rc = cfg_oom(&ctx);
        goto out;
    }
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = cfg_plain_error(&ctx, -errno, "%s", strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    buf[got] = '\0';
    rc = cfg_load_buf(table, base, buf, got, path, err, errlen);
out:
    free(buf);
    close(fd);
    return rc;
}
