/* SPDX-License-Identifier: BSD-2-Clause */
/* CFG_LIST and CFG_MAP options: lists and named maps of sections (routes, dispatchers). */
#include "core/cfg.h"
#include "core/cfg_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libfyaml.h>

#define CFG_MAX_NAME 64 /* a map key: also shown in errors and metric labels */

static void *item_at(const struct cfg_opt *o, const struct cfg_list *l, size_t i)
{
    return (char *)l->items + i * o->item_size;
}

void cfg_list_release(const struct cfg_opt *o, struct cfg_list *l)
{
    for (size_t i = 0; i < l->count; i++) {
        void *item = item_at(o, l, i);
        if (o->item_free)
            o->item_free(item);
        cfg_free(o->sub, item);
        if (l->names)
            free(l->names[i]);
    }
    free(l->items);
    free(l->names);
    memset(l, 0, sizeof(*l));
}

bool cfg_list_equal(const struct cfg_opt *o, const struct cfg_list *a, const struct cfg_list *b)
{
    if (a->count != b->count)
        return false;
    for (size_t i = 0; i < a->count; i++) {
        if (a->names && b->names && strcmp(a->names[i], b->names[i]) != 0)
            return false;
        if (!cfg_table_equal(o->sub, item_at(o, a, i), item_at(o, b, i)))
            return false;
    }
    return true;
}

/* Allocates count zeroed items up front, so a failure half-way leaves a
 * list that cfg_list_release() can free (item_free accepts zeroed items). */
static int alloc_items(struct cfg_ctx *ctx, const struct cfg_opt *o, struct cfg_list *l,
                       size_t count, bool has_names)
{
    l->items = calloc(count, o->item_size);
    if (l->items == NULL)
        return cfg_oom(ctx);
    if (has_names && (l->names = calloc(count, sizeof(*l->names))) == NULL)
        return cfg_oom(ctx);
    l->count = count;
    return 0;
}

static int parse_list(struct cfg_ctx *ctx, const struct cfg_opt *o, struct cfg_list *l,
                      struct fy_node *n)
{
    size_t count;
    int rc;

    if (!fy_node_is_sequence(n))
        return cfg_error(ctx, cfgn(n), "expected a list, got %s", cfg_node_type_word(cfgn(n)));
    count = cfg_node_seq_count(cfgn(n));
    if (o->umax && count > o->umax)
        return cfg_error(ctx, cfgn(n), "has %zu items, more than the maximum %llu", count,
                         (unsigned long long)o->umax);
    if (count == 0)
        return 0;
    if ((rc = alloc_items(ctx, o, l, count, false)) < 0)
        return rc;
    for (size_t i = 0; i < count; i++) {
        char step[32];
        snprintf(step, sizeof(step), "[%zu]", i);
        rc = cfg_load_item(ctx, o, item_at(o, l, i), NULL, cfg_node_seq_at(cfgn(n), i), step);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int parse_map(struct cfg_ctx *ctx, const struct cfg_opt *o, struct cfg_list *l,
                     struct fy_node *n)
{
    void *it = NULL;
    struct fy_node_pair *pair;
    size_t count, i = 0;
    int rc;

    if (!fy_node_is_mapping(n))
        return cfg_error(ctx, cfgn(n), "expected a mapping of names, got %s",
                         cfg_node_type_word(cfgn(n)));
    count = (size_t)SW_MAX(fy_node_mapping_item_count(n), 0);
    if (o->umax && count > o->umax)
        return cfg_error(ctx, cfgn(n), "has %zu entries, more than the maximum %llu", count,
                         (unsigned long long)o->umax);
    if (count == 0)
        return 0;
    if ((rc = alloc_items(ctx, o, l, count, true)) < 0)
        return rc;
    while ((pair = fy_node_mapping_iterate(n, &it)) != NULL && i < count) {
        struct fy_node *k = fy_node_pair_key(pair);
        size_t klen = 0;
        const char *key = cfg_node_str(cfgn(k), &klen);
        char step[CFG_MAX_NAME + 2];

        if (key == NULL || cfg_node_is_null(cfgn(k)) || klen == 0)
            return cfg_error(ctx, cfgn(k), "names must be plain words, got %s",
                             cfg_node_type_word(cfgn(k)));
        if (klen > CFG_MAX_NAME || memchr(key, '\0', klen))
            return cfg_error(ctx, cfgn(k), "name is longer than %d characters or has a NUL",
                             CFG_MAX_NAME);
        for (size_t j = 0; j < i; j++)
            if (strlen(l->names[j]) == klen && memcmp(l->names[j], key, klen) == 0)
                return cfg_error(ctx, cfgn(k), "'%.*s' is defined twice", (int)klen, key);
        if ((l->names[i] = strndup(key, klen)) == NULL)
            return cfg_oom(ctx);
        snprintf(step, sizeof(step), ".%s", l->names[i]);
        rc = cfg_load_item(ctx, o, item_at(o, l, i), l->names[i], cfgn(fy_node_pair_value(pair)),
                           step);
        if (rc < 0)
            return rc;
        i++;
    }
    return 0;
}

int cfg_list_parse(struct cfg_ctx *ctx, const struct cfg_opt *o, struct cfg_list *dst,
                   struct cfg_node *node)
{
    struct fy_node *n = fyn(node);

    cfg_list_release(o, dst);
    if (cfg_node_is_null(node))
        return 0;
    if (fy_node_is_alias(n))
        return cfg_error(ctx, node, "YAML aliases are not supported");
    return o->type == CFG_T_MAP ? parse_map(ctx, o, dst, n) : parse_list(ctx, o, dst, n);
}
