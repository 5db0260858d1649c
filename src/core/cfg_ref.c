/* SPDX-License-Identifier: BSD-2-Clause */
/* Markdown reference of option tables: the docs' config reference. */
#include "core/cfg.h"
#include "core/cfg_int.h"

#include <inttypes.h>
#include <stdio.h>

#define CFG_MAX_PATH 256

static void md_escaped(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            fputs("\\|", f);
        else if (*s == '\n')
            fputc(' ', f);
        else
            fputc(*s, f);
    }
}

static const char *type_name(const struct cfg_opt *o)
{
    switch (o->type) {
    case CFG_T_BOOL:
        return "bool";
    case CFG_T_INT:
    case CFG_T_UINT:
        return "integer";
    case CFG_T_SIZE:
        return "size";
    case CFG_T_DURATION:
        return o->unit == CFG_UNIT_S ? "duration (plain number: seconds)"
                                     : "duration (plain number: milliseconds)";
    case CFG_T_STRING:
        return "string";
    case CFG_T_ENUM:
        return "enum";
    case CFG_T_STRLIST:
        return "list of strings";
    case CFG_T_CUSTOM:
        return o->custom->type_name;
    case CFG_T_LIST:
        return "list of sections";
    case CFG_T_MAP:
        return "map of named sections";
    default:
        return "section";
    }
}

static void write_default(FILE *f, const struct cfg_opt *o)
{
    const char *zero;

    if (o->def != NULL && o->def[0] == '\0') {
        fputs("`\"\"`", f);
        return;
    }
    if (o->def != NULL) {
        fputc('`', f);
        md_escaped(f, o->def);
        fputc('`', f);
        return;
    }
    switch (o->type) {
    case CFG_T_BOOL:
        zero = "`false`";
        break;
    case CFG_T_STRING:
        zero = "`\"\"`";
        break;
    case CFG_T_STRLIST:
        zero = "`[]`";
        break;
    case CFG_T_CUSTOM:
        zero = "(none)";
        break;
    case CFG_T_LIST:
        zero = "`[]`";
        break;
    case CFG_T_MAP:
        zero = "`{}`";
        break;
    default:
        zero = "`0`";
        break;
    }
    fputs(zero, f);
}

static void write_bounds(FILE *f, const struct cfg_opt *o)
{
    char lo[32], hi[32];

    switch (o->type) {
    case CFG_T_INT:
        fprintf(f, "%" PRId64 " .. %" PRId64, o->min, o->max);
        break;
    case CFG_T_UINT:
        fprintf(f, "%" PRIu64 " .. %" PRIu64, o->umin, o->umax);
        break;
    case CFG_T_SIZE:
        cfg_fmt_size(lo, sizeof(lo), o->umin);
        cfg_fmt_size(hi, sizeof(hi), o->umax);
        fprintf(f, "%s .. %s", lo, hi);
        break;
    case CFG_T_DURATION:
        cfg_fmt_duration(lo, sizeof(lo), o->umin);
        cfg_fmt_duration(hi, sizeof(hi), o->umax);
        fprintf(f, "%s .. %s", lo, hi);
        break;
    case CFG_T_ENUM:
        for (int i = 0; o->names[i] != NULL; i++)
            fprintf(f, "%s`%s`", i ? ", " : "", o->names[i]);
        break;
    case CFG_T_LIST:
    case CFG_T_MAP:
        if (o->umax)
            fprintf(f, "at most %" PRIu64 " items", o->umax);
        break;
    default:
        break;
    }
}

static void write_table(FILE *f, const struct cfg_opt *table, const char *prefix, int level)
{
    bool has_rows = false;
    char path[CFG_MAX_PATH];

    for (const struct cfg_opt *o = table; o->key != NULL; o++) {
        if (o->type == CFG_T_SECTION)
            continue;
        if (!has_rows) {
            fputs("| key | type | default | bounds | reload | description |\n", f);
            fputs("|---|---|---|---|---|---|\n", f);
            has_rows = true;
        }
        fprintf(f, "| `%s%s%s` | ", prefix, *prefix ? "." : "", o->key);
        md_escaped(f, type_name(o));
        fputs(" | ", f);
        write_default(f, o);
        fputs(" | ", f);
        write_bounds(f, o);
        fprintf(f, " | %s | ", o->is_reloadable ? "yes" : "no");
        md_escaped(f, o->help ? o->help : "");
        fputs(" |\n", f);
    }
    for (const struct cfg_opt *o = table; o->key != NULL; o++) {
        if (o->type != CFG_T_SECTION && o->type != CFG_T_LIST && o->type != CFG_T_MAP)
            continue;
        /* items of a list are documented as "routes[]", of a map as
         * "dispatchers.NAME" */
        snprintf(path, sizeof(path), "%s%s%s%s", prefix, *prefix ? "." : "", o->key,
                 o->type == CFG_T_LIST  ? "[]"
                 : o->type == CFG_T_MAP ? ".NAME"
                                        : "");
        fprintf(f, "\n%.*s `%s`\n\n", SW_MIN(SW_MAX(level, 1), 6), "######", path);
        if (o->help) {
            md_escaped(f, o->help);
            fputs("\n\n", f);
        }
        write_table(f, o->sub, path, level + 1);
    }
}

void cfg_write_reference(FILE *f, const struct cfg_opt *table, int level)
{
    write_table(f, table, "", level);
}
