/* SPDX-License-Identifier: BSD-2-Clause */
/* Release and comparison of loaded configuration values (cfg_free,
 * cfg_changed_fixed for reload's "needs a restart" report). */
#include "core/cfg.h"
#include "core/cfg_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cfg_opt_release(const struct cfg_opt *o, void *dst)
{
    switch (o->type) {
    case CFG_T_STRING:
        free(*(char **)dst);
        break;
    case CFG_T_STRLIST: {
        struct cfg_strlist *l = dst;
        for (size_t i = 0; i < l->count; i++)
            free(l->items[i]);
        free(l->items);
        break;
    }
    case CFG_T_CUSTOM:
        if (o->custom->free)
            o->custom->free(dst);
        break;
    case CFG_T_SECTION:
        cfg_free(o->sub, dst);
        return;
    case CFG_T_LIST:
    case CFG_T_MAP:
        cfg_list_release(o, dst);
        break;
    default:
        break;
    }
    memset(dst, 0, o->size);
}

void cfg_free(const struct cfg_opt *table, void *base)
{
    for (const struct cfg_opt *o = table; o->key != NULL; o++)
        cfg_opt_release(o, (char *)base + o->off);
}

static bool opt_equal(const struct cfg_opt *o, const char *a, const char *b)
{
    switch (o->type) {
    case CFG_T_STRING:
        return strcmp(*(char *const *)(const void *)a, *(char *const *)(const void *)b) == 0;
    case CFG_T_STRLIST: {
        const struct cfg_strlist *la = (const void *)a, *lb = (const void *)b;
        if (la->count != lb->count)
            return false;
        for (size_t i = 0; i < la->count; i++)
            if (strcmp(la->items[i], lb->items[i]) != 0)
                return false;
        return true;
    }
    case CFG_T_CUSTOM:
        return o->custom->equal != NULL && o->custom->equal(a, b);
    case CFG_T_LIST:
    case CFG_T_MAP:
        return cfg_list_equal(o, (const void *)a, (const void *)b);
    case CFG_T_SECTION:
        return cfg_table_equal(o->sub, a, b);
    default:
        return memcmp(a, b, o->size) == 0;
    }
}

bool cfg_table_equal(const struct cfg_opt *table, const void *a, const void *b)
{
    for (const struct cfg_opt *o = table; o->key != NULL; o++)
        if (!opt_equal(o, (const char *)a + o->off, (const char *)b + o->off))
            return false;
    return true;
}

static bool changed_fixed(const struct cfg_opt *table, const char *a, const char *b, char *key,
                          size_t keylen, size_t len)
{
    for (const struct cfg_opt *o = table; o->key != NULL; o++) {
        size_t sub_len = len;
        if (len < keylen) {
            int k = snprintf(key + len, keylen - len, "%s%s", len ? "." : "", o->key);
            sub_len = k < 0 ? len : SW_MIN(len + (size_t)k, keylen - 1);
        }
        if (o->type == CFG_T_SECTION) {
            if (changed_fixed(o->sub, a + o->off, b + o->off, key, keylen, sub_len))
                return true;
        } else if (!o->is_reloadable && !opt_equal(o, a + o->off, b + o->off)) {
            return true;
        }
        if (keylen > 0)
            key[SW_MIN(len, keylen - 1)] = '\0';
    }
    return false;
}

bool cfg_changed_fixed(const struct cfg_opt *table, const void *old_base, const void *new_base,
                       char *key, size_t keylen)
{
    if (keylen > 0)
        key[0] = '\0';
    return changed_fixed(table, old_base, new_base, key, keylen, 0);
}
