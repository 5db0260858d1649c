/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Error reporting of the config loader: one line "file:line:col: path:
 * what" per error (DESIGN.md: a bad config says where and what), the dotted
 * option path kept while loading, control bytes escaped, and "did you
 * mean" for a mistyped key. The loading itself is in cfg.c.
 */
#include "core/cfg.h"
#include "core/cfg_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <libfyaml.h>

/* 1-based position of a node; collections report their first scalar. */
static bool node_mark(struct fy_node *n, int *line, int *col, int depth)
{
    if (n == NULL || depth > CFG_MAX_DEPTH)
        return false;
    switch (fy_node_get_type(n)) {
    case FYNT_SCALAR: {
        struct fy_token *t = fy_node_get_scalar_token(n);
        const struct fy_mark *m = t ? fy_token_start_mark(t) : NULL;
        if (m == NULL)
            return false;
        *line = m->line + 1;
        *col = m->column + 1;
        /* the token starts after the opening quote or '*'; point at that */
        switch (fy_node_get_style(n)) {
        case FYNS_SINGLE_QUOTED:
        case FYNS_DOUBLE_QUOTED:
        case FYNS_ALIAS:
            *col = SW_MAX(*col - 1, 1);
            break;
        default:
            break;
        }
        return true;
    }
    case FYNT_SEQUENCE:
        return node_mark(fy_node_sequence_get_by_index(n, 0), line, col, depth + 1);
    case FYNT_MAPPING: {
        struct fy_node_pair *p = fy_node_mapping_get_by_index(n, 0);
        return p && node_mark(fy_node_pair_key(p), line, col, depth + 1);
    }
    }
    return false;
}

void cfg_buf_append(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (*len >= cap)
        return;
    va_start(ap, fmt);
    n = vsnprintf(buf + *len, cap - *len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    *len = SW_MIN(*len + (size_t)n, cap - 1);
}

/*
 * Stores the one-line error, escaping control bytes: values quoted from the
 * file may hold CR/LF, and the message must stay one line on a terminal.
 */
static void set_error_line(struct cfg_ctx *ctx, const char *line)
{
    size_t len = 0;

    if (ctx->errlen == 0)
        return;
    ctx->err[0] = '\0';
    for (const unsigned char *p = (const unsigned char *)line; *p; p++) {
        if (*p == '\r')
            cfg_buf_append(ctx->err, ctx->errlen, &len, "\\r");
        else if (*p == '\n')
            cfg_buf_append(ctx->err, ctx->errlen, &len, "\\n");
        else if (*p < 0x20 || *p == 0x7f)
            cfg_buf_append(ctx->err, ctx->errlen, &len, "\\x%02x", *p);
        else
            cfg_buf_append(ctx->err, ctx->errlen, &len, "%c", *p);
    }
}

static bool is_inside(struct fy_node *n, struct fy_node *top)
{
    for (int depth = 0; n != NULL && depth <= CFG_MAX_DEPTH; depth++, n = fy_node_get_parent(n))
        if (n == top)
            return true;
    return false;
}

/* Appends "[i]" / ".key" steps from 'top' down to 'n' (n inside top). */
static void path_suffix(char *buf, size_t cap, size_t *len, struct fy_node *n, struct fy_node *top,
                        int depth)
{
    struct fy_node *p;

    if (n == top || depth > CFG_MAX_DEPTH || (p = fy_node_get_parent(n)) == NULL)
        return;
    path_suffix(buf, cap, len, p, top, depth + 1);
    if (fy_node_is_sequence(p)) {
        void *it = NULL;
        struct fy_node *item;
        for (size_t i = 0; (item = fy_node_sequence_iterate(p, &it)) != NULL; i++)
            if (item == n)
                cfg_buf_append(buf, cap, len, "[%zu]", i);
    } else if (fy_node_is_mapping(p)) {
        void *it = NULL;
        struct fy_node_pair *pair;
        while ((pair = fy_node_mapping_iterate(p, &it)) != NULL) {
            if (fy_node_pair_value(pair) == n) {
                size_t klen = 0;
                const char *k = fy_node_get_scalar(fy_node_pair_key(pair), &klen);
                if (k)
                    cfg_buf_append(buf, cap, len, ".%.*s", (int)SW_MIN(klen, CFG_MAX_SHOWN), k);
            }
        }
    }
}

static int verror_at(struct cfg_ctx *ctx, struct fy_node *n, const char *fmt, va_list ap)
    SW_PRINTF(3, 0);

/* "file:line:col: path" of node n (or of the current key) into buf. */
static void where(struct cfg_ctx *ctx, struct fy_node *n, char *buf, size_t cap, size_t *len)
{
    char path[CFG_MAX_PATH + 64];
    size_t plen = 0;
    int line = 1, col = 1;

    if (!node_mark(n, &line, &col, 0))
        (void)node_mark(ctx->key, &line, &col, 0);
    cfg_buf_append(path, sizeof(path), &plen, "%s", ctx->path);
    if (n != NULL && ctx->cur != NULL && is_inside(n, ctx->cur))
        path_suffix(path, sizeof(path), &plen, n, ctx->cur, 0);
    cfg_buf_append(buf, cap, len, "%s:%d:%d: %s",
                   ctx->in_default ? "(built-in default)" : ctx->file, line, col,
                   plen ? path : "(top level)");
}

static int verror_at(struct cfg_ctx *ctx, struct fy_node *n, const char *fmt, va_list ap)
{
    char line_buf[1024];
    size_t len = 0;

    if (ctx->has_error)
        return -EINVAL;
    ctx->has_error = true;
    where(ctx, n, line_buf, sizeof(line_buf), &len);
    cfg_buf_append(line_buf, sizeof(line_buf), &len, ": ");
    if (len < sizeof(line_buf))
        (void)vsnprintf(line_buf + len, sizeof(line_buf) - len, fmt, ap);
    set_error_line(ctx, line_buf);
    return -EINVAL;
}

int cfg_error(struct cfg_ctx *ctx, const struct cfg_node *n, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = verror_at(ctx, fyn(n), fmt, ap);
    va_end(ap);
    return rc;
}

/* An error without a node: "file: what" (I/O, out of memory). */
int cfg_plain_error(struct cfg_ctx *ctx, int rc, const char *fmt, ...)
{
    char line[1024];
    size_t len = 0;
    va_list ap;

    if (ctx->has_error)
        return rc;
    ctx->has_error = true;
    cfg_buf_append(line, sizeof(line), &len, "%s: ", ctx->file);
    if (len < sizeof(line)) {
        va_start(ap, fmt);
        (void)vsnprintf(line + len, sizeof(line) - len, fmt, ap);
        va_end(ap);
    }
    set_error_line(ctx, line);
    return rc;
}

int cfg_oom(struct cfg_ctx *ctx)
{
    return cfg_plain_error(ctx, -ENOMEM, "out of memory");
}

void cfg_path_push(struct cfg_ctx *ctx, const char *key, size_t klen, size_t *saved)
{
    *saved = ctx->path_len;
    if (ctx->path_len > 0)
        cfg_buf_append(ctx->path, sizeof(ctx->path), &ctx->path_len, ".");
    cfg_buf_append(ctx->path, sizeof(ctx->path), &ctx->path_len, "%.*s",
                   (int)SW_MIN(klen, CFG_MAX_SHOWN), key);
}

void cfg_path_add(struct cfg_ctx *ctx, const char *step)
{
    cfg_buf_append(ctx->path, sizeof(ctx->path), &ctx->path_len, "%s", step);
}

void cfg_path_pop(struct cfg_ctx *ctx, size_t saved)
{
    ctx->path_len = saved;
    ctx->path[saved] = '\0';
}

void cfg_where(struct cfg_ctx *ctx, const struct cfg_node *n, char *buf, size_t len)
{
    size_t blen = 0;

    if (len == 0)
        return;
    buf[0] = '\0';
    where(ctx, fyn(n), buf, len, &blen);
}

/* Levenshtein distance of two short strings, for "did you mean". */
static size_t edit_distance(const char *a, size_t alen, const char *b)
{
    size_t row[CFG_MAX_SHOWN + 1];
    size_t blen = strlen(b);

    if (alen > CFG_MAX_SHOWN || blen > CFG_MAX_SHOWN)
        return SIZE_MAX;
    for (size_t j = 0; j <= blen; j++)
        row[j] = j;
    for (size_t i = 1; i <= alen; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= blen; j++) {
            size_t up = row[j];
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            row[j] = SW_MIN(SW_MIN(row[j] + 1, row[j - 1] + 1), diag + cost);
            diag = up;
        }
    }
    return row[blen];
}

int cfg_unknown_key(struct cfg_ctx *ctx, const struct cfg_opt *table, struct fy_node *k,
                    const char *key, size_t klen)
{
    const char *best = NULL;
    size_t best_d = 3; /* suggest only close matches */

    for (const struct cfg_opt *o = table; o->key != NULL; o++) {
        size_t d = edit_distance(key, klen, o->key);
        if (d < best_d && d < klen) {
            best_d = d;
            best = o->key;
        }
    }
    if (best)
        return cfg_error(ctx, cfgn(k), "unknown option (did you mean '%s'?)", best);
    return cfg_error(ctx, cfgn(k), "unknown option");
}

int cfg_syntax_error(struct cfg_ctx *ctx, struct fy_diag *diag)
{
    void *it = NULL;
    struct fy_diag_error *e = fy_diag_errors_iterate(diag, &it);
    char line[1024];
    size_t len = 0;

    if (e == NULL)
        return cfg_plain_error(ctx, -EINVAL, "cannot parse YAML");
    ctx->has_error = true;
    /* libfyaml's collected errors are already 1-based */
    cfg_buf_append(line, sizeof(line), &len, "%s:%d:%d: invalid YAML: %s", ctx->file,
                   SW_MAX(e->line, 1), SW_MAX(e->column, 1), e->msg ? e->msg : "syntax error");
    set_error_line(ctx, line);
    return -EINVAL;
}

int cfg_utf8_error(struct cfg_ctx *ctx, const char *yaml, size_t at)
{
    char line[512];
    size_t len = 0;
    int lno = 1, col = 1;

    for (size_t i = 0; i < at; i++) {
        if (yaml[i] == '\n') {
            lno++;
            col = 1;
        } else if (((unsigned char)yaml[i] & 0xc0) != 0x80) {
            col++;
        }
    }
    ctx->has_error = true;
    cfg_buf_append(line, sizeof(line), &len, "%s:%d:%d: invalid YAML: not valid UTF-8", ctx->file,
                   lno, col);
    set_error_line(ctx, line);
    return -EINVAL;
}
