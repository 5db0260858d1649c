/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for SipHash-2-4 and the intrusive hash table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/htab.h"
#include "core/util.h"

static const uint8_t ref_key[16] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                                    0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};

/* Reference outputs for key 00..0f and input 00..(len-1), from the SipHash
 * paper's appendix (len 15) and its reference vectors, read as
 * little-endian 64-bit words; cross-checked with OpenSSL's SIPHASH MAC. */
static const struct {
    size_t len;
    uint64_t out;
} vectors[] = {
    {0, 0x726fdb47dd0e0e31ull},  {1, 0x74f839c593dc67fdull},  {7, 0xab0200f58b01d137ull},
    {8, 0x93f5f5799a932462ull},  {15, 0xa129ca6149be45e5ull}, {16, 0x3f2acc7f57c29bdbull},
    {63, 0x958a324ceb064572ull},
};

static void test_siphash_matches_reference_vectors(void **state)
{
    (void)state;
    uint8_t in[64];
    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (uint8_t)i;
    for (size_t i = 0; i < SW_ARRAY_LEN(vectors); i++)
        assert_int_equal(htab_siphash(ref_key, in, vectors[i].len), vectors[i].out);
}

static void test_htab_hash_uses_fixed_seed(void **state)
{
    (void)state;
    uint8_t in[15];
    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (uint8_t)i;
    htab_seed_fixed(ref_key);
    assert_int_equal(htab_hash(in, sizeof(in)), 0xa129ca6149be45e5ull);
}

static void test_htab_random_seed_changes_hash(void **state)
{
    (void)state;
    htab_seed_fixed(ref_key);
    uint64_t fixed = htab_hash("call-id@host", 12);
    htab_seed_random();
    uint64_t r1 = htab_hash("call-id@host", 12);
    htab_seed_random();
    uint64_t r2 = htab_hash("call-id@host", 12);
    /* 2^-64 chance of a false failure per comparison. */
    assert_true(r1 != fixed || r2 != fixed);
    assert_true(r1 != r2);
}

static void test_htab_hash_nocase_folds_ascii_only(void **state)
{
    (void)state;
    htab_seed_fixed(ref_key);
    const char *a = "Example.COM-Some-Long-Host-Name[]@^_`{";
    const char *b = "example.com-some-long-host-name[]@^_`{";
    size_t len = strlen(a);
    for (size_t n = 0; n <= len; n++) {
        assert_int_equal(htab_hash_nocase(a, n), htab_hash_nocase(b, n));
        assert_int_equal(htab_hash_nocase(b, n), htab_hash(b, n));
    }
    /* Characters next to the letter ranges and non-ASCII bytes are not folded. */
    assert_int_not_equal(htab_hash_nocase("@", 1), htab_hash_nocase("`", 1));
    assert_int_not_equal(htab_hash_nocase("[", 1), htab_hash_nocase("{", 1));
    assert_int_not_equal(htab_hash_nocase("\xc1\xc1\xc1\xc1\xc1\xc1\xc1\xc1", 8),
                         htab_hash_nocase("\xe1\xe1\xe1\xe1\xe1\xe1\xe1\xe1", 8));
    assert_int_not_equal(htab_hash("A", 1), htab_hash("a", 1));
}

struct item {
    struct htab_node node;
    uint64_t key;
    int visits;
};

static bool item_eq(const struct htab_node *node, const void *key)
{
    const struct item *it = SW_CONTAINER_OF(node, struct item, node);
    return it->key == *(const uint64_t *)key;
}

static uint64_t key_hash(uint64_t k)
{
    return htab_hash(&k, sizeof(k));
}

static struct item *find(struct htab *t, uint64_t k)
{
    struct htab_node *n = htab_find(t, key_hash(k), item_eq, &k);
    return n ? SW_CONTAINER_OF(n, struct item, node) : NULL;
}

#define N_ITEMS 100000

static void test_htab_insert_find_remove_grow_100k(void **state)
{
    (void)state;
    htab_seed_fixed(ref_key);
    struct item *items = calloc(N_ITEMS, sizeof(*items));
    struct htab *t = htab_new(4);
    assert_non_null(t);
    for (size_t i = 0; i < N_ITEMS; i++) {
        items[i].key = i * 7919 + 3;
        assert_int_equal(htab_insert(t, &items[i].node, key_hash(items[i].key)), 0);
    }
    assert_int_equal(htab_count(t), N_ITEMS);
    for (size_t i = 0; i < N_ITEMS; i++)
        assert_ptr_equal(find(t, items[i].key), &items[i]);
    assert_null(find(t, 5));

    for (size_t i = 0; i < N_ITEMS; i += 2)
        assert_true(htab_remove(t, &items[i].node));
    assert_false(htab_remove(t, &items[0].node));
    assert_int_equal(htab_count(t), N_ITEMS / 2);
    for (size_t i = 0; i < N_ITEMS; i++) {
        if (i % 2)
            assert_ptr_equal(find(t, items[i].key), &items[i]);
        else
            assert_null(find(t, items[i].key));
    }
    htab_free(t);
    free(items);
}

static void test_htab_allows_duplicate_keys(void **state)
{
    (void)state;
    htab_seed_fixed(ref_key);
    struct item a = {.key = 9}, b = {.key = 9};
    struct htab *t = htab_new(0);
    assert_int_equal(htab_insert(t, &a.node, key_hash(9)), 0);
    assert_int_equal(htab_insert(t, &b.node, key_hash(9)), 0);
    assert_int_equal(htab_count(t), 2);
    struct item *first = find(t, 9);
    assert_true(first == &a || first == &b);
    assert_true(htab_remove(t, &first->node));
    struct item *second = find(t, 9);
    assert_non_null(second);
    assert_ptr_not_equal(second, first);
    htab_free(t);
}

struct sweep {
    struct htab *t;
    size_t seen;
};

static void remove_odd(struct htab_node *node, void *arg)
{
    struct sweep *s = arg;
    struct item *it = SW_CONTAINER_OF(node, struct item, node);
    it->visits++;
    s->seen++;
    if (it->key % 2)
        assert_true(htab_remove(s->t, node));
}

static void test_htab_foreach_visits_all_and_may_remove_current(void **state)
{
    (void)state;
    htab_seed_fixed(ref_key);
    enum { N = 5000 };
    struct item *items = calloc(N, sizeof(*items));
    struct htab *t = htab_new(16);
    for (size_t i = 0; i < N; i++) {
        items[i].key = i;
        assert_int_equal(htab_insert(t, &items[i].node, key_hash(i)), 0);
    }
    struct sweep s = {t, 0};
    htab_foreach(t, remove_odd, &s);
    assert_int_equal(s.seen, N);
    for (size_t i = 0; i < N; i++)
        assert_int_equal(items[i].visits, 1);
    assert_int_equal(htab_count(t), N / 2);
    for (size_t i = 0; i < N; i++)
        assert_true((find(t, i) != NULL) == (i % 2 == 0));
    htab_free(t);
    free(items);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_siphash_matches_reference_vectors),
        cmocka_unit_test(test_htab_hash_uses_fixed_seed),
        cmocka_unit_test(test_htab_random_seed_changes_hash),
        cmocka_unit_test(test_htab_hash_nocase_folds_ascii_only),
        cmocka_unit_test(test_htab_insert_find_remove_grow_100k),
        cmocka_unit_test(test_htab_allows_duplicate_keys),
        cmocka_unit_test(test_htab_foreach_visits_all_and_may_remove_current),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
