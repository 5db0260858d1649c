/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for the table-driven YAML config loader. */
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

/* A custom type: a list of "LO-HI" ranges with LO <= HI. */
struct range {
    unsigned lo, hi;
};

struct ranges {
    struct range *items; /* owned */
    size_t count;
};

struct inner {
    unsigned int n;
    char *s;
};

struct tcfg {
    bool flag;
    int64_t num;
    unsigned int count;
    size_t size;
    uint64_t wait_ms;
    uint64_t secs_ms;
    char *name;
    int color;
    struct cfg_strlist tags;
    struct inner inner;
    struct ranges ranges;
};

static int ranges_parse(void *dst, struct cfg_node *node, struct cfg_ctx *ctx)
{
    struct ranges *r = dst;
    size_t n = cfg_node_seq_count(node);

    if (!cfg_node_is_seq(node))
        return cfg_error(ctx, node, "expected a list of ranges");
    r->items = calloc(n ? n : 1, sizeof(*r->items));
    if (r->items == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        struct cfg_node *item = cfg_node_seq_at(node, i);
        size_t len;
        const char *s = cfg_node_str(item, &len);
        char buf[32];
        unsigned lo, hi;

        if (s == NULL || len >= sizeof(buf))
            return cfg_error(ctx, item, "expected LO-HI");
        memcpy(buf, s, len);
        buf[len] = '\0';
        if (sscanf(buf, "%u-%u", &lo, &hi) != 2)
            return cfg_error(ctx, item, "'%s' is not LO-HI", buf);
        if (lo > hi)
            return cfg_error(ctx, item, "%u is above %u", lo, hi);
        r->items[i] = (struct range){lo, hi};
        r->count = i + 1;
    }
    return 0;
}

static void ranges_free(void *dst)
{
    struct ranges *r = dst;
    free(r->items);
    r->items = NULL;
    r->count = 0;
}

static bool ranges_equal(const void *a, const void *b)
{
    const struct ranges *ra = a, *rb = b;
    return ra->count == rb->count &&
           (ra->count == 0 || memcmp(ra->items, rb->items, ra->count * sizeof(*ra->items)) == 0);
}

static const struct cfg_custom ranges_type = {"list of ranges", ranges_parse, ranges_free,
                                              ranges_equal};

static const char *no_spaces(const char *s, size_t len)
{
    return memchr(s, ' ', len) ? "contains a space" : NULL;
}

static const char *const colors[] = {"red", "green", "blue", NULL};

static const struct cfg_opt inner_opts[] = {
    CFG_UINT("n", struct inner, n, "1", 1, 10, true, "a small number"),
    CFG_STRING("s", struct inner, s, "x", NULL, true, "a string"),
    CFG_END,
};

static const struct cfg_opt topts[] = {
    CFG_BOOL("flag", struct tcfg, flag, "false", true, "a flag"),
    CFG_INT("num", struct tcfg, num, "-1", -100, 100, true, "signed | piped"),
    CFG_UINT("count", struct tcfg, count, "5", 1, 1024, false, "unsigned"),
    CFG_SIZE("size", struct tcfg, size, "64k", 1024, 8u << 20, true, "bytes"),
    CFG_DURATION("wait", struct tcfg, wait_ms, "250", CFG_UNIT_MS, 1, 60000, true, "ms unit"),
    CFG_DURATION("secs", struct tcfg, secs_ms, "30s", CFG_UNIT_S, 1000, 3600000, true, "s unit"),
    CFG_STRING("name", struct tcfg, name, "anon", NULL, true, "a name"),
    CFG_ENUM("color", struct tcfg, color, "green", colors, true, "a color"),
    CFG_STRLIST("tags", struct tcfg, tags, "[x, y]", no_spaces, true, "tags"),
    CFG_SECTION("inner", struct tcfg, inner, inner_opts, "A nested section."),
    CFG_CUSTOM("ranges", struct tcfg, ranges, "[1-2]", &ranges_type, false, "ranges"),
    CFG_END,
};

static char err[512];

static int load(struct tcfg *t, const char *yaml)
{
    memset(t, 0x5a, sizeof(*t)); /* the loader must not trust what it is given */
    return cfg_load_buf(topts, t, yaml, strlen(yaml), "t.yaml", err, sizeof(err));
}

/* Loads 'yaml', expects failure and the exact error line. */
static void expect_error(const char *yaml, const char *want)
{
    struct tcfg t;
    int rc = load(&t, yaml);
    if (rc == 0)
        cfg_free(topts, &t);
    assert_int_equal(rc, -EINVAL);
    assert_string_equal(err, want);
}

static void test_cfg_empty_input_gives_every_default(void **state)
{
    (void)state;
    struct tcfg t;
    assert_int_equal(load(&t, ""), 0);
    assert_false(t.flag);
    assert_int_equal(t.num, -1);
    assert_int_equal(t.count, 5);
    assert_int_equal(t.size, 65536);
    assert_int_equal(t.wait_ms, 250);
    assert_int_equal(t.secs_ms, 30000);
    assert_string_equal(t.name, "anon");
    assert_int_equal(t.color, 1);
    assert_int_equal(t.tags.count, 2);
    assert_string_equal(t.tags.items[1], "y");
    assert_int_equal(t.inner.n, 1);
    assert_string_equal(t.inner.s, "x");
    assert_int_equal(t.ranges.count, 1);
    assert_int_equal(t.ranges.items[0].hi, 2);
    cfg_free(topts, &t);
    assert_null(t.name);
    assert_null(t.tags.items);
    assert_null(t.ranges.items);

    assert_int_equal(load(&t, "# only a comment\n"), 0);
    assert_int_equal(t.count, 5);
    cfg_free(topts, &t);
}

static void test_cfg_file_with_every_type_loads(void **state)
{
    (void)state;
    struct tcfg t;
    assert_int_equal(cfg_load_file(topts, &t, SW_TEST_DATA "/cfg/all_types.yaml", err, sizeof(err)),
                     0);
    assert_true(t.flag);
    assert_int_equal(t.num, -42);
    assert_int_equal(t.count, 7);
    assert_int_equal(t.size, 4u << 20);
    assert_int_equal(t.wait_ms, 1500);
    assert_int_equal(t.secs_ms, 90000);
    assert_string_equal(t.name, "hello world");
    assert_int_equal(t.color, 2); /* case-insensitive */
    assert_int_equal(t.tags.count, 3);
    assert_string_equal(t.tags.items[2], "c");
    assert_int_equal(t.inner.n, 3);
    assert_string_equal(t.inner.s, "nested");
    assert_int_equal(t.ranges.count, 2);
    assert_int_equal(t.ranges.items[1].lo, 30);
    cfg_free(topts, &t);
}

static void test_cfg_bool_spellings(void **state)
{
    (void)state;
    static const char *const yes[] = {"true", "True", "yes", "on"};
    static const char *const no[] = {"false", "FALSE", "no", "off"};
    char yaml[64];
    struct tcfg t;
    for (size_t i = 0; i < 4; i++) {
        snprintf(yaml, sizeof(yaml), "flag: %s\n", yes[i]);
        assert_int_equal(load(&t, yaml), 0);
        assert_true(t.flag);
        cfg_free(topts, &t);
        snprintf(yaml, sizeof(yaml), "flag: %s\n", no[i]);
        assert_int_equal(load(&t, yaml), 0);
        assert_false(t.flag);
        cfg_free(topts, &t);
    }
    expect_error("flag: maybe\n", "t.yaml:1:7: flag: 'maybe' is not a boolean (use true or false)");
    expect_error("flag:\n", "t.yaml:1:1: flag: missing value");
}

static void test_cfg_int_bounds_and_syntax(void **state)
{
    (void)state;
    struct tcfg t;
    assert_int_equal(load(&t, "num: -100\n"), 0);
    assert_int_equal(t.num, -100);
    cfg_free(topts, &t);
    assert_int_equal(load(&t, "num: +100\n"), 0);
    assert_int_equal(t.num, 100);
    cfg_free(topts, &t);
    expect_error("num: 101\n", "t.yaml:1:6: num: 101 is above the maximum 100");
    expect_error("num: -101\n", "t.yaml:1:6: num: -101 is below the minimum -100");
    expect_error("num: 1.5\n", "t.yaml:1:6: num: '1.5' is not an integer");
    expect_error("num: 99999999999999999999\n",
                 "t.yaml:1:6: num: '99999999999999999999' is not an integer");
    expect_error("num: '-'\n", "t.yaml:1:6: num: '-' is not an integer");
}

static void test_cfg_uint_bounds_and_syntax(void **state)
{
    (void)state;
    struct tcfg t;
    assert_int_equal(load(&t, "count: 1024\n"), 0);
    assert_int_equal(t.count, 1024);
    cfg_free(topts, &t);
    expect_error("\n\ncount:   5000\n", "t.yaml:3:10: count: 5000 is above the maximum 1024");
    expect_error("count: 0\n", "t.yaml:1:8: count: 0 is below the minimum 1");
    expect_error("count: -3\n", "t.yaml:1:8: count: '-3' is not a non-negative integer");
    expect_error("count: 12abc\n", "t.yaml:1:8: count: '12abc' is not a non-negative integer");
}

static void test_cfg_size_suffixes_and_bounds(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        uint64_t want;
    } ok[] = {{"1024", 1024}, {"2k", 2048}, {"2K", 2048}, {"1M", 1u << 20}, {"8m", 8u << 20}};
    char yaml[64];
    struct tcfg t;
    uint64_t v;
    for (size_t i = 0; i < SW_ARRAY_LEN(ok); i++) {
        snprintf(yaml, sizeof(yaml), "size: %s\n", ok[i].in);
        assert_int_equal(load(&t, yaml), 0);
        assert_int_equal(t.size, ok[i].want);
        cfg_free(topts, &t);
    }
    expect_error("size: 9M\n", "t.yaml:1:7: size: 9M is above the maximum 8M");
    expect_error("size: 1000\n", "t.yaml:1:7: size: 1000 is below the minimum 1k");
    expect_error("size: 1.5M\n", "t.yaml:1:7: size: '1.5M' is not a size (a number, optionally "
                                 "with k, M or G)");
    expect_error("size: 4MB\n", "t.yaml:1:7: size: '4MB' is not a size (a number, optionally "
                                "with k, M or G)");
    expect_error("size: 99999999999999G\n", "t.yaml:1:7: size: '99999999999999G' is too large");
    assert_int_equal(cfg_parse_size(&v, "3G", 2), 0);
    assert_int_equal(v, 3ull << 30);
    assert_int_equal(cfg_parse_size(&v, "", 0), -EINVAL);
    assert_int_equal(cfg_parse_size(&v, "k", 1), -EINVAL);
}

static void test_cfg_duration_units(void **state)
{
    (void)state;
    static const struct {
        const char *yaml;
        uint64_t wait, secs;
    } ok[] = {
        {"wait: 500ms\nsecs: 2m\n", 500, 120000},
        {"wait: 2s\nsecs: 1h\n", 2000, 3600000},
        {"wait: 7\nsecs: 7\n", 7, 7000}, /* a plain number is in the option's unit */
        {"wait: 1m\nsecs: 1500ms\n", 60000, 1500},
    };
    struct tcfg t;
    uint64_t v;
    for (size_t i = 0; i < SW_ARRAY_LEN(ok); i++) {
        assert_int_equal(load(&t, ok[i].yaml), 0);
        assert_int_equal(t.wait_ms, ok[i].wait);
        assert_int_equal(t.secs_ms, ok[i].secs);
        cfg_free(topts, &t);
    }
    expect_error("secs: 2h\n", "t.yaml:1:7: secs: 2h is above the maximum 1h");
    expect_error("secs: 999ms\n", "t.yaml:1:7: secs: 999ms is below the minimum 1s");
    expect_error("wait: 0\n", "t.yaml:1:7: wait: 0 is below the minimum 1ms");
    expect_error("wait: 5 s\n", "t.yaml:1:7: wait: '5 s' is not a duration (a number, "
                                "optionally with ms, s, m or h)");
    expect_error("wait: 3d\n", "t.yaml:1:7: wait: '3d' is not a duration (a number, "
                               "optionally with ms, s, m or h)");
    assert_int_equal(cfg_parse_duration_ms(&v, "99999999999999999h", 18, CFG_UNIT_MS), -ERANGE);
}

static void test_cfg_strings(void **state)
{
    (void)state;
    struct tcfg t;
    assert_int_equal(load(&t, "name: 'single # quoted'\n"), 0);
    assert_string_equal(t.name, "single # quoted");
    cfg_free(topts, &t);
    assert_int_equal(load(&t, "name:\n"), 0); /* null is the empty string */
    assert_string_equal(t.name, "");
    cfg_free(topts, &t);
    assert_int_equal(load(&t, "name: 123\n"), 0); /* a plain number is text too */
    assert_string_equal(t.name, "123");
    cfg_free(topts, &t);
    expect_error("name: \"a\\0b\"\n", "t.yaml:1:7: name: contains a NUL byte");
    expect_error("name: [a]\n", "t.yaml:1:8: name: expected a single value, got a list");
}

static void test_cfg_enum(void **state)
{
    (void)state;
    struct tcfg t;
    assert_int_equal(load(&t, "color: red\n"), 0);
    assert_int_equal(t.color, 0);
    cfg_free(topts, &t);
    expect_error("color: pink\n", "t.yaml:1:8: color: 'pink' is not one of: red, green, blue");
}

static void test_cfg_string_lists(void **state)
{
    (void)state;
    struct tcfg t;
    assert_int_equal(load(&t, "tags:\n  - one\n  - two\n"), 0);
    assert_int_equal(t.tags.count, 2);
    assert_string_equal(t.tags.items[0], "one");
    cfg_free(topts, &t);
    assert_int_equal(load(&t, "tags: []\n"), 0);
    assert_int_equal(t.tags.count, 0);
    cfg_free(topts, &t);
    assert_int_equal(load(&t, "tags:\n"), 0);
    assert_int_equal(t.tags.count, 0);
    cfg_free(topts, &t);
    expect_error("tags: one\n", "t.yaml:1:7: tags: expected a list of strings, got a scalar");
    expect_error("tags:\n  - ok\n  - {a: 1}\n",
                 "t.yaml:3:6: tags[1]: expected a string, got a mapping");
    expect_error("tags: [a, 'b c']\n", "t.yaml:1:11: tags[1]: 'b c' contains a space");
}

static void test_cfg_nested_sections(void **state)
{
    (void)state;
    struct tcfg t;
    assert_int_equal(load(&t, "inner: {n: 9}\n"), 0);
    assert_int_equal(t.inner.n, 9);
    assert_string_equal(t.inner.s, "x"); /* untouched keys keep their default */
    cfg_free(topts, &t);
    assert_int_equal(load(&t, "inner:\n"), 0);
    assert_int_equal(t.inner.n, 1);
    cfg_free(topts, &t);
    expect_error("inner:\n  n: 11\n", "t.yaml:2:6: inner.n: 11 is above the maximum 10");
    expect_error("inner: 5\n", "t.yaml:1:8: inner: expected a mapping of options, got a scalar");
    assert_int_equal(
        cfg_load_file(topts, &t, SW_TEST_DATA "/cfg/bad_nested.yaml", err, sizeof(err)), -EINVAL);
    assert_string_equal(err, SW_TEST_DATA "/cfg/bad_nested.yaml:5:3: inner.colour: unknown option");
}

static void test_cfg_unknown_keys(void **state)
{
    (void)state;
    expect_error("flag: true\nbogus: 1\n", "t.yaml:2:1: bogus: unknown option");
    expect_error("flag: true\n  \ncuont: 1\n",
                 "t.yaml:3:1: cuont: unknown option (did you mean 'count'?)");
    expect_error("inner: {n: 1, ss: a}\n",
                 "t.yaml:1:15: inner.ss: unknown option (did you mean 's'?)");
    expect_error("Flag: true\n", "t.yaml:1:1: Flag: unknown option (did you mean 'flag'?)");
    expect_error("? [a]\n: 1\n", "t.yaml:1:4: (top level): option names must be plain words, "
                                 "got a list");
}

static void test_cfg_wrong_types(void **state)
{
    (void)state;
    expect_error("count: {a: 1}\n", "t.yaml:1:9: count: expected a single value, got a mapping");
    expect_error("flag: [true]\n", "t.yaml:1:8: flag: expected a single value, got a list");
    expect_error("- a\n- b\n", "t.yaml:1:3: (top level): expected a mapping of options, got a "
                               "list");
    expect_error("just text\n",
                 "t.yaml:1:1: (top level): expected a mapping of options, got a scalar");
}

static void test_cfg_yaml_syntax_errors_have_a_position(void **state)
{
    (void)state;
    struct tcfg t;
    expect_error("flag: true\ncount: [1, 2\n",
                 "t.yaml:3:1: invalid YAML: flow sequence without a closing bracket");
    expect_error("flag: true\nflag: false\n", "t.yaml:2:1: invalid YAML: duplicate key");
    expect_error("name: \"\\q\"\n", "t.yaml:1:8: invalid YAML: invalid escape 'q' in "
                                    "double-quoted string");
    assert_int_equal(cfg_load_file(topts, &t, SW_TEST_DATA "/cfg/syntax.yaml", err, sizeof(err)),
                     -EINVAL);
    assert_non_null(strstr(err, SW_TEST_DATA "/cfg/syntax.yaml:"));
    assert_non_null(strstr(err, ": invalid YAML: "));
}

/* libfyaml 0.7.12 loops forever on '%' + an invalid UTF-8 byte (found by
 * fuzz_config); the loader refuses invalid UTF-8 before parsing. */
static void test_cfg_refuses_invalid_utf8(void **state)
{
    (void)state;
    struct tcfg t;
    expect_error("%\xc7", "t.yaml:1:2: invalid YAML: not valid UTF-8");
    expect_error("flag: true\nname: \xc3\xa9\xff\n", "t.yaml:2:8: invalid YAML: not valid UTF-8");
    expect_error("name: \xed\xa0\x80\n", "t.yaml:1:7: invalid YAML: not valid UTF-8");
    expect_error("name: \xc0\xaf\n", "t.yaml:1:7: invalid YAML: not valid UTF-8");
    expect_error("name: \xf4\x90\x80\x80\n", "t.yaml:1:7: invalid YAML: not valid UTF-8");
    expect_error("name: \xe2\x82", "t.yaml:1:7: invalid YAML: not valid UTF-8");
    assert_int_equal(load(&t, "name: \"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"\n"), 0);
    assert_string_equal(t.name, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    cfg_free(topts, &t);
    assert_int_equal(cfg_load_file(topts, &t, SW_TEST_DATA "/cfg/fuzz_hang_directive_utf8.yaml",
                                   err, sizeof(err)),
                     -EINVAL);
}

static void test_cfg_refuses_aliases_and_second_documents(void **state)
{
    (void)state;
    expect_error("name: &a x\ninner:\n  s: *a\n",
                 "t.yaml:3:6: inner.s: YAML aliases are not supported");
    expect_error("flag: true\n---\ncount: 3\n",
                 "t.yaml:3:1: (top level): only one YAML document is allowed (remove '---')");
}

static void test_cfg_custom_type_error_points_at_the_item(void **state)
{
    (void)state;
    struct tcfg t;
    assert_int_equal(cfg_load_file(topts, &t, SW_TEST_DATA "/cfg/bad_range.yaml", err, sizeof(err)),
                     -EINVAL);
    assert_string_equal(err, SW_TEST_DATA "/cfg/bad_range.yaml:3:5: ranges[1]: 40 is above 30");
    expect_error("ranges: [1-2, nope]\n", "t.yaml:1:15: ranges[1]: 'nope' is not LO-HI");
    expect_error("ranges: 5\n", "t.yaml:1:9: ranges: expected a list of ranges");
}

static void test_cfg_missing_file(void **state)
{
    (void)state;
    struct tcfg t;
    assert_int_equal(cfg_load_file(topts, &t, "/nonexistent/x.yaml", err, sizeof(err)), -ENOENT);
    assert_string_equal(err, "/nonexistent/x.yaml: No such file or directory");
    assert_int_equal(cfg_load_file(topts, &t, SW_TEST_DATA, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, SW_TEST_DATA ": not a regular file");
}

static void test_cfg_error_is_truncated_safely(void **state)
{
    (void)state;
    struct tcfg t;
    char small[12];
    memset(&t, 0, sizeof(t));
    assert_int_equal(cfg_load_buf(topts, &t, "count: 0\n", 9, "t.yaml", small, sizeof(small)),
                     -EINVAL);
    assert_string_equal(small, "t.yaml:1:8:");
    assert_int_equal(cfg_load_buf(topts, &t, "count: 0\n", 9, "t.yaml", NULL, 0), -EINVAL);
}

static void test_cfg_bad_builtin_default_is_reported(void **state)
{
    (void)state;
    static const struct cfg_opt bad[] = {
        CFG_UINT("n", struct inner, n, "20", 1, 10, true, "default out of bounds"),
        CFG_END,
    };
    struct inner in;
    assert_int_equal(cfg_load_buf(bad, &in, "", 0, "t.yaml", err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "(built-in default):1:1: n: 20 is above the maximum 10");
}

static void test_cfg_changed_fixed_names_the_first_restart_option(void **state)
{
    (void)state;
    struct tcfg a, b;
    char key[64];
    assert_int_equal(load(&a, "count: 7\nname: one\ninner: {n: 2}\n"), 0);
    memset(&b, 0, sizeof(b));
    assert_int_equal(cfg_load_buf(topts, &b, "count: 7\nname: two\ninner: {n: 3}\n", 34, "t.yaml",
                                  err, sizeof(err)),
                     0);
    /* only reloadable options differ */
    assert_false(cfg_changed_fixed(topts, &a, &b, key, sizeof(key)));
    assert_string_equal(key, "");
    cfg_free(topts, &b);
    assert_int_equal(cfg_load_buf(topts, &b, "count: 8\n", 9, "t.yaml", err, sizeof(err)), 0);
    assert_true(cfg_changed_fixed(topts, &a, &b, key, sizeof(key)));
    assert_string_equal(key, "count");
    cfg_free(topts, &b);
    /* custom types compare through their equality hook */
    assert_int_equal(
        cfg_load_buf(topts, &b, "count: 7\nranges: [5-6]\n", 23, "t.yaml", err, sizeof(err)), 0);
    assert_true(cfg_changed_fixed(topts, &a, &b, key, sizeof(key)));
    assert_string_equal(key, "ranges");
    cfg_free(topts, &b);
    cfg_free(topts, &a);
}

static void test_cfg_reference_lists_every_option(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    cfg_write_reference(f, topts, 2);
    assert_int_equal(fclose(f), 0);
    assert_non_null(strstr(text, "| key | type | default | bounds | reload | description |\n"));
    assert_non_null(strstr(text, "| `flag` | bool | `false` |  | yes | a flag |\n"));
    assert_non_null(strstr(text, "| `num` | integer | `-1` | -100 .. 100 | yes | "
                                 "signed \\| piped |\n"));
    assert_non_null(strstr(text, "| `count` | integer | `5` | 1 .. 1024 | no | unsigned |\n"));
    assert_non_null(strstr(text, "| `size` | size | `64k` | 1k .. 8M | yes | bytes |\n"));
    assert_non_null(strstr(text, "| `secs` | duration (plain number: seconds) | `30s` | "
                                 "1s .. 1h | yes | s unit |\n"));
    assert_non_null(strstr(text, "| `color` | enum | `green` | `red`, `green`, `blue` | yes |"));
    assert_non_null(strstr(text, "| `tags` | list of strings | `[x, y]` |  | yes | tags |\n"));
    assert_non_null(strstr(text, "| `ranges` | list of ranges | `[1-2]` |  | no | ranges |\n"));
    assert_non_null(strstr(text, "\n## `inner`\n\nA nested section.\n\n"));
    assert_non_null(strstr(text, "| `inner.n` | integer | `1` | 1 .. 10 | yes | a small number |"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cfg_empty_input_gives_every_default),
        cmocka_unit_test(test_cfg_file_with_every_type_loads),
        cmocka_unit_test(test_cfg_bool_spellings),
        cmocka_unit_test(test_cfg_int_bounds_and_syntax),
        cmocka_unit_test(test_cfg_uint_bounds_and_syntax),
        cmocka_unit_test(test_cfg_size_suffixes_and_bounds),
        cmocka_unit_test(test_cfg_duration_units),
        cmocka_unit_test(test_cfg_strings),
        cmocka_unit_test(test_cfg_enum),
        cmocka_unit_test(test_cfg_string_lists),
        cmocka_unit_test(test_cfg_nested_sections),
        cmocka_unit_test(test_cfg_unknown_keys),
        cmocka_unit_test(test_cfg_wrong_types),
        cmocka_unit_test(test_cfg_yaml_syntax_errors_have_a_position),
        cmocka_unit_test(test_cfg_refuses_invalid_utf8),
        cmocka_unit_test(test_cfg_refuses_aliases_and_second_documents),
        cmocka_unit_test(test_cfg_custom_type_error_points_at_the_item),
        cmocka_unit_test(test_cfg_missing_file),
        cmocka_unit_test(test_cfg_error_is_truncated_safely),
        cmocka_unit_test(test_cfg_bad_builtin_default_is_reported),
        cmocka_unit_test(test_cfg_changed_fixed_names_the_first_restart_option),
        cmocka_unit_test(test_cfg_reference_lists_every_option),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
