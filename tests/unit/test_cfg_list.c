/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for CFG_LIST and CFG_MAP options (lists and maps of sections). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/cfg.h"

struct sub {
    bool on;
};

/* One item, loaded by item_opts; 'derived' is kept by the item_done hook. */
struct item {
    char *name;
    unsigned int n;
    struct cfg_strlist tags;
    struct sub sub;
    char *derived; /* owned; item_free releases it */
    char where[128];
};

struct tcfg {
    struct cfg_list items;
    struct cfg_list sets;
    unsigned int other;
};

static unsigned frees;

static int item_done(void *p, const char *name, struct cfg_node *node, struct cfg_ctx *ctx)
{
    struct item *it = p;

    if (it->n == 13)
        return cfg_error(ctx, node, "13 is unlucky");
    it->derived = strdup(name ? name : it->name);
    if (it->derived == NULL)
        return -ENOMEM;
    cfg_where(ctx, node, it->where, sizeof(it->where));
    return 0;
}

static void item_free(void *p)
{
    struct item *it = p;

    frees++;
    free(it->derived);
}

static const struct cfg_opt sub_opts[] = {
    CFG_BOOL("on", struct sub, on, "true", true, "Switch."),
    CFG_END,
};

static const struct cfg_opt item_opts[] = {
    CFG_STRING("name", struct item, name, "anon", NULL, true, "Name."),
    CFG_UINT("n", struct item, n, "7", 0, 100, true, "Number."),
    CFG_STRLIST("tags", struct item, tags, NULL, NULL, true, "Tags."),
    CFG_SECTION("sub", struct item, sub, sub_opts, "Sub-section."),
    CFG_END,
};

static const struct cfg_opt opts[] = {
    CFG_LIST("items", struct tcfg, items, struct item, item_opts, item_done, item_free, 3, true,
             "Ordered items."),
    CFG_MAP("sets", struct tcfg, sets, struct item, item_opts, item_done, item_free, 0, false,
            "Named sets."),
    CFG_UINT("other", struct tcfg, other, "1", 0, 10, true, "Other."),
    CFG_END,
};

static int load(struct tcfg *c, const char *yaml, char *err, size_t errlen)
{
    return cfg_load_buf(opts, c, yaml, strlen(yaml), "t.yaml", err, errlen);
}

static void expect_error(const char *yaml, const char *want)
{
    struct tcfg c;
    char err[256];

    assert_int_equal(load(&c, yaml, err, sizeof(err)), -EINVAL);
    if (strcmp(err, want) != 0)
        fail_msg("got '%s', want '%s'", err, want);
}

static struct item *item(const struct cfg_list *l, size_t i)
{
    return &((struct item *)l->items)[i];
}

static void test_cfg_list_items_get_defaults_and_values_in_order(void **state)
{
    struct tcfg c;
    char err[256];

    (void)state;
    assert_int_equal(load(&c,
                          "items:\n"
                          "  - name: a\n"
                          "    tags: [x, y]\n"
                          "  - n: 3\n"
                          "    sub: { on: false }\n"
                          "  - {}\n",
                          err, sizeof(err)),
                     0);
    assert_int_equal(c.items.count, 3);
    assert_null(c.items.names);
    assert_string_equal(item(&c.items, 0)->name, "a");
    assert_int_equal(item(&c.items, 0)->n, 7);
    assert_int_equal(item(&c.items, 0)->tags.count, 2);
    assert_true(item(&c.items, 0)->sub.on);
    assert_string_equal(item(&c.items, 1)->name, "anon");
    assert_int_equal(item(&c.items, 1)->n, 3);
    assert_false(item(&c.items, 1)->sub.on);
    assert_string_equal(item(&c.items, 2)->derived, "anon");
    assert_string_equal(item(&c.items, 0)->where, "t.yaml:2:5: items[0]");
    assert_int_equal(c.sets.count, 0);
    frees = 0;
    cfg_free(opts, &c);
    assert_int_equal(frees, 3);
    assert_int_equal(c.items.count, 0);
}

static void test_cfg_map_keeps_names_in_file_order(void **state)
{
    struct tcfg c;
    char err[256];

    (void)state;
    assert_int_equal(load(&c,
                          "sets:\n"
                          "  zeta: { n: 1 }\n"
                          "  alpha:\n"
                          "    n: 2\n",
                          err, sizeof(err)),
                     0);
    assert_int_equal(c.sets.count, 2);
    assert_string_equal(c.sets.names[0], "zeta");
    assert_string_equal(c.sets.names[1], "alpha");
    assert_int_equal(item(&c.sets, 1)->n, 2);
    assert_string_equal(item(&c.sets, 1)->derived, "alpha");
    assert_string_equal(item(&c.sets, 1)->where, "t.yaml:4:5: sets.alpha");
    cfg_free(opts, &c);
}

static void test_cfg_list_errors_name_the_item_and_position(void **state)
{
    (void)state;
    expect_error("items:\n  - n: 1\n  - n: 500\n",
                 "t.yaml:3:8: items[1].n: 500 is above the maximum 100");
    expect_error("items:\n  - nn: 1\n", "t.yaml:2:5: items[0].nn: unknown option (did you mean "
                                        "'n'?)");
    expect_error("items:\n  - just a string\n",
                 "t.yaml:2:5: items[0]: expected a mapping of options, got a scalar");
    expect_error("items: 3\n", "t.yaml:1:8: items: expected a list, got a scalar");
    expect_error("items: [{n: 1}, {}, {}, {}]\n",
                 "t.yaml:1:10: items: has 4 items, more than the maximum 3");
    expect_error("items:\n  - n: 1\n  - sub: { on: maybe }\n",
                 "t.yaml:3:16: items[1].sub.on: 'maybe' is not a boolean (use true or false)");
    expect_error("sets:\n  a: { n: 2 }\n  b:\n    tags: [t]\n    n: 13\n",
                 "t.yaml:4:5: sets.b: 13 is unlucky");
    expect_error("sets: [a]\n", "t.yaml:1:8: sets: expected a mapping of names, got a list");
    expect_error("items:\n  - n: 1\nother: 11\n", "t.yaml:3:8: other: 11 is above the maximum 10");
}

static void test_cfg_list_hook_error_after_earlier_items_frees_everything(void **state)
{
    struct tcfg c;
    char err[256];

    (void)state;
    frees = 0;
    assert_int_equal(load(&c, "items: [{n: 1}, {n: 13}, {n: 2}]\n", err, sizeof(err)), -EINVAL);
    assert_int_equal(frees, 3); /* the zeroed third item too */
    assert_int_equal(c.items.count, 0);
}

static void test_cfg_list_empty_and_null_give_no_items(void **state)
{
    struct tcfg c;
    char err[256];

    (void)state;
    assert_int_equal(load(&c, "items: []\nsets:\n", err, sizeof(err)), 0);
    assert_int_equal(c.items.count, 0);
    assert_null(c.items.items);
    assert_int_equal(c.sets.count, 0);
    cfg_free(opts, &c);
}

static void test_cfg_list_changed_fixed_compares_items(void **state)
{
    struct tcfg a, b;
    char err[256], key[64];

    (void)state;
    assert_int_equal(load(&a, "sets: { s: { n: 1 } }\nitems: [{n: 1}]\n", err, sizeof(err)), 0);
    assert_int_equal(load(&b, "sets: { s: { n: 1 } }\nitems: [{n: 2}]\n", err, sizeof(err)), 0);
    assert_false(cfg_changed_fixed(opts, &a, &b, key, sizeof(key))); /* items is reloadable */
    cfg_free(opts, &b);
    assert_int_equal(load(&b, "sets: { s: { n: 2 } }\n", err, sizeof(err)), 0);
    assert_true(cfg_changed_fixed(opts, &a, &b, key, sizeof(key)));
    assert_string_equal(key, "sets");
    cfg_free(opts, &b);
    assert_int_equal(load(&b, "sets: { t: { n: 1 } }\n", err, sizeof(err)), 0);
    assert_true(cfg_changed_fixed(opts, &a, &b, key, sizeof(key)));
    cfg_free(opts, &b);
    cfg_free(opts, &a);
}

static void test_cfg_list_reference_documents_item_options(void **state)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    (void)state;
    assert_non_null(f);
    cfg_write_reference(f, opts, 2);
    fclose(f);
    assert_non_null(strstr(text, "| `items` | list of sections | `[]` | at most 3 items |"));
    assert_non_null(strstr(text, "## `items[]`"));
    assert_non_null(strstr(text, "| `items[].n` | integer |"));
    assert_non_null(strstr(text, "### `items[].sub`"));
    assert_non_null(strstr(text, "## `sets.NAME`"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cfg_list_items_get_defaults_and_values_in_order),
        cmocka_unit_test(test_cfg_map_keeps_names_in_file_order),
        cmocka_unit_test(test_cfg_list_errors_name_the_item_and_position),
        cmocka_unit_test(test_cfg_list_hook_error_after_earlier_items_frees_everything),
        cmocka_unit_test(test_cfg_list_empty_and_null_give_no_items),
        cmocka_unit_test(test_cfg_list_changed_fixed_compares_items),
        cmocka_unit_test(test_cfg_list_reference_documents_item_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
