/* SPDX-License-Identifier: BSD-2-Clause */
/* The location table's packed records: round trips and bytes per AOR. */
#include "store/store.h"

#include "core/htab.h"
#include "store/store_int.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define NOW 1700000000

static struct store *open_memory(void)
{
    char err[256];
    struct store *s = NULL;
    int rc = store_open(&s, "memory", NULL, NOW, err, sizeof(err));
    if (rc != 0)
        fail_msg("store_open: %d %s", rc, err);
    return s;
}

struct rec {
    int calls, rc;
    size_t count;
};

static void on_done(void *arg, int rc, const struct store_binding *b, size_t count)
{
    (void)b;
    struct rec *r = arg;
    r->calls++;
    r->rc = rc;
    r->count = count;
}

/* The memory back end completes inside store_apply (loop NULL). */
static int apply(struct store *s, const char *aor, const struct store_change *c, size_t n)
{
    struct store_apply_opts o = {.now = NOW};
    struct rec r = {0};
    int rc = store_apply(s, slice_cstr(aor), c, n, &o, NULL, on_done, &r);
    if (rc < 0)
        return rc;
    assert_int_equal(r.calls, 1);
    return r.rc;
}

static size_t in_use(struct store *s)
{
    struct slab_stats st;
    mem_stats(&s->mem, &st);
    return st.in_use;
}

/* Every field, NULL and present optional strings, a match_key that
 * differs from the contact, a conn_id and the longest received all come
 * back as given, in order. */
static void test_record_round_trips_every_field(void **state)
{
    (void)state;
    struct store *s = open_memory();
    struct store_change c[3] = {{.op = STORE_SET}, {.op = STORE_SET}, {.op = STORE_SET}};
    c[0].b = (struct store_binding){.contact = "sip:a@192.0.2.1;ob",
                                    .match_key = "<urn:uuid:00000000-0000-0000-0000-000000000001>",
                                    .call_id = "cid-1",
                                    .path = "<sip:edge1.example;lr>,<sip:edge2.example;lr>",
                                    .user_agent = "ua/2",
                                    .instance = "<urn:uuid:00000000-0000-0000-0000-000000000001>",
                                    .expires_at = NOW + 600,
                                    .cseq = 7,
                                    .reg_id = 1,
                                    .q = 1000,
                                    .listener = 3,
                                    .proto = 6,
                                    .conn_id = 0x123456789abcdefull};
    memset(c[0].b.received, '9', STORE_ADDR_STRLEN - 1);
    c[0].b.received[STORE_ADDR_STRLEN - 1] = '\0';
    c[1].b = (struct store_binding){.contact = "sip:b@192.0.2.2",
                                    .match_key = "sip:b@192.0.2.2",
                                    .call_id = "cid-1",
                                    .expires_at = NOW + 60,
                                    .cseq = 7,
                                    .q = 0,
                                    .proto = 17};
    snprintf(c[1].b.received, sizeof(c[1].b.received), "[2001:db8::1]:5060");
    c[2].b = (struct store_binding){.contact = "sip:c@192.0.2.3",
                                    .match_key = "sip:c@192.0.2.3",
                                    .call_id = "cid-1",
                                    .instance = "",
                                    .expires_at = NOW + 30,
                                    .cseq = 7};
    assert_int_equal(apply(s, "sip:alice@example.com", c, 3), 0);

    struct store_binding *b = NULL;
    assert_int_equal(store_lookup(s, SLICE_LIT("sip:alice@example.com"), NOW, &b), 3);
    assert_string_equal(b[0].contact, c[0].b.contact);
    assert_string_equal(b[0].match_key, c[0].b.match_key);
    assert_string_equal(b[0].call_id, "cid-1");
    assert_string_equal(b[0].path, c[0].b.path);
    assert_string_equal(b[0].user_agent, "ua/2");
    assert_string_equal(b[0].instance, c[0].b.instance);
    assert_string_equal(b[0].received, c[0].b.received);
    assert_int_equal(b[0].expires_at, NOW + 600);
    assert_int_equal(b[0].created_at, NOW);
    assert_int_equal(b[0].cseq, 7);
    assert_int_equal(b[0].reg_id, 1);
    assert_int_equal(b[0].q, 1000);
    assert_int_equal(b[0].listener, 3);
    assert_int_equal(b[0].proto, 6);
    assert_int_equal(b[0].conn_id, 0x123456789abcdefull);
    assert_string_equal(b[1].match_key, "sip:b@192.0.2.2");
    assert_null(b[1].path);
    assert_null(b[1].user_agent);
    assert_null(b[1].instance);
    assert_int_equal(b[1].conn_id, 0);
    assert_string_equal(b[1].received, "[2001:db8::1]:5060");
    assert_non_null(b[2].instance); /* "" is kept apart from absent */
    assert_string_equal(b[2].instance, "");
    assert_string_equal(b[2].received, "");
    store_bindings_free(b, 3);

    /* A purge in the middle of the record keeps the rest intact. */
    assert_int_equal(store_lookup(s, SLICE_LIT("sip:alice@example.com"), NOW + 45, &b), 2);
    store_bindings_free(b, 2);
    size_t removed = 0;
    for (unsigned i = 0; i < STORE_SHARDS; i++)
        removed += store_purge(s, NOW + 45);
    assert_int_equal(removed, 1);
    assert_int_equal(store_binding_count(s), 2);
    assert_int_equal(store_lookup(s, SLICE_LIT("sip:alice@example.com"), NOW, &b), 2);
    assert_string_equal(b[0].received, c[0].b.received);
    assert_string_equal(b[1].contact, "sip:b@192.0.2.2");
    assert_string_equal(b[1].received, "[2001:db8::1]:5060");
    store_bindings_free(b, 2);

    /* Removing the bindings frees the record. */
    struct store_change all = {.op = STORE_REMOVE_ALL};
    all.b.call_id = "cid-1";
    all.b.cseq = 8;
    assert_int_equal(apply(s, "sip:alice@example.com", &all, 1), 0);
    assert_int_equal(store_aor_count(s), 0);
    assert_int_equal(in_use(s), 0);
    store_close(s);
}

/* An AOR longer than a record's uint16_t length field is refused. */
static void test_oversized_aor_is_refused(void **state)
{
    (void)state;
    struct store *s = open_memory();
    char *aor = malloc(70000);
    assert_non_null(aor);
    memset(aor, 'a', 69999);
    aor[69999] = '\0';
    struct store_change c = {.op = STORE_SET};
    c.b.contact = c.b.match_key = "sip:a@192.0.2.1";
    c.b.call_id = "x";
    c.b.expires_at = NOW + 60;
    assert_int_equal(store_apply(s, slice_cstr(aor), &c, 1, &(struct store_apply_opts){.now = NOW},
                                 NULL, on_done, &(struct rec){0}),
                     -EINVAL);
    assert_int_equal(store_aor_count(s), 0);
    free(aor);
    store_close(s);
}

static struct store_change typical(char *contact, size_t clen, char *cid, size_t cidlen, int i,
                                   uint32_t cseq)
{
    struct store_change c = {.op = STORE_SET};
    snprintf(contact, clen, "sip:u%05d@192.0.2.10:5060;transport=udp", i);
    snprintf(cid, cidlen, "%08x-5a3b-4c1d-9e2f-%08x", (unsigned)i * 2654435761u, i);
    c.b.contact = contact;
    c.b.match_key = contact;
    c.b.call_id = cid;
    c.b.user_agent = "Linphone-Desktop/5.2";
    c.b.cseq = cseq;
    c.b.expires_at = NOW + 3600;
    c.b.q = STORE_Q_MAX;
    c.b.proto = 17;
    c.b.listener = 1;
    snprintf(c.b.received, sizeof(c.b.received), "192.0.2.10:5060");
    return c;
}

/*
 * The budget this layout was made for: 100,000 AORs with one typical UDP
 * binding each must cost at most 360 bytes apiece in the store's own
 * accounting (the slab chunks holding the records; the shards' hash
 * bucket arrays, 8 B per AOR at most, are malloc'd by htab and not in
 * it). A refresh rebuilds each record in the same class, so the bytes
 * stay put; removal gives every chunk back.
 */
static void test_store_mem_bytes_per_aor(void **state)
{
    (void)state;
    enum { N = 100000 };
    struct store *s = open_memory();
    char aor[64], contact[96], cid[64];
    for (int i = 0; i < N; i++) {
        snprintf(aor, sizeof(aor), "sip:u%05d@example.com", i);
        struct store_change c = typical(contact, sizeof(contact), cid, sizeof(cid), i, 1);
        assert_int_equal(apply(s, aor, &c, 1), 0);
    }
    assert_int_equal(store_aor_count(s), N);
    struct slab_stats st;
    mem_stats(&s->mem, &st);
    double per_aor = (double)st.in_use / N;
    print_message("# store: %d AORs x 1 binding: %.1f B/AOR in records, %.1f B/AOR of blocks "
                  "touched, %.1f B/AOR mapped (contact %zu B, Call-ID %zu B)\n",
                  N, per_aor, (double)st.carved / N, (double)st.mapped / N, strlen(contact),
                  strlen(cid));
    assert_true(per_aor <= 360.0);
    assert_int_equal(st.large, 0);
    assert_true(st.carved <= st.in_use + MEM_SHARDS * SLAB_BLOCK / 64); /* dense */

    /* Refresh every one (higher CSeq): same size, same class. */
    for (int i = 0; i < N; i++) {
        snprintf(aor, sizeof(aor), "sip:u%05d@example.com", i);
        struct store_change c = typical(contact, sizeof(contact), cid, sizeof(cid), i, 2);
        assert_int_equal(apply(s, aor, &c, 1), 0);
    }
    struct slab_stats st2;
    mem_stats(&s->mem, &st2);
    assert_int_equal(st2.in_use, st.in_use);
    /* Freed chunks were reused: each shard carved at most the one chunk
     * its first rebuild needed while the old record was still held. */
    assert_true(st2.carved <= st.carved + MEM_SHARDS * slab_size(360));

    struct store_binding *b = NULL;
    assert_int_equal(store_lookup(s, SLICE_LIT("sip:u04242@example.com"), NOW, &b), 1);
    assert_string_equal(b[0].contact, "sip:u04242@192.0.2.10:5060;transport=udp");
    assert_string_equal(b[0].received, "192.0.2.10:5060");
    assert_int_equal(b[0].cseq, 2);
    store_bindings_free(b, 1);

    for (int i = 0; i < N; i++) {
        snprintf(aor, sizeof(aor), "sip:u%05d@example.com", i);
        struct store_change c = typical(contact, sizeof(contact), cid, sizeof(cid), i, 3);
        c.op = STORE_REMOVE;
        assert_int_equal(apply(s, aor, &c, 1), 0);
    }
    assert_int_equal(store_aor_count(s), 0);
    assert_int_equal(in_use(s), 0);
    store_close(s);
}

static int setup(void **state)
{
    (void)state;
    static const uint8_t key[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    htab_seed_fixed(key);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_round_trips_every_field),
        cmocka_unit_test(test_oversized_aor_is_refused),
        cmocka_unit_test(test_store_mem_bytes_per_aor),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
