/* SPDX-License-Identifier: BSD-2-Clause */
/* Location store: memory and SQLite back ends, durability, completions. */
#include "store/store.h"

#include "core/ev.h"
#include "core/htab.h"
#include "store/store_int.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define NOW 1700000000

static char tmpdir[256];

static void db_path(char *out, size_t len, const char *name)
{
    snprintf(out, len, "sqlite:%s/%s", tmpdir, name);
}

static struct store *open_store(const char *spec, int64_t now)
{
    char err[256];
    struct store *s = NULL;
    int rc = store_open(&s, spec, NULL, now, err, sizeof(err));
    if (rc != 0)
        fail_msg("store_open(%s): %d %s", spec, rc, err);
    return s;
}

/* A synchronous completion recorder (loop NULL). */
struct rec {
    int calls;
    int rc;
    size_t count;
    char first_contact[128];
    pthread_t thread;
};

static void on_done(void *arg, int rc, const struct store_binding *b, size_t count)
{
    struct rec *r = arg;
    r->calls++;
    r->rc = rc;
    r->count = count;
    r->thread = pthread_self();
    if (count > 0)
        snprintf(r->first_contact, sizeof(r->first_contact), "%s", b[0].contact);
}

static struct store_change set(const char *contact, const char *cid, uint32_t cseq,
                               int64_t expires_at)
{
    struct store_change c = {.op = STORE_SET};
    c.b.contact = (char *)contact;
    c.b.match_key = (char *)contact;
    c.b.call_id = (char *)cid;
    c.b.cseq = cseq;
    c.b.expires_at = expires_at;
    c.b.q = 500;
    c.b.path = (char *)"<sip:edge.example;lr>";
    c.b.user_agent = (char *)"ua/1";
    c.b.proto = 1;
    c.b.listener = 2;
    c.b.conn_id = 42;
    snprintf(c.b.received, sizeof(c.b.received), "192.0.2.1:5062");
    return c;
}

/* Applies and waits: for the SQLite store the completion runs on the store
 * thread when loop is NULL, so spin until it has. */
static int apply_wait(struct store *s, const char *aor, const struct store_change *c, size_t n,
                      const struct store_apply_opts *o, struct rec *r)
{
    int before = r->calls;
    int rc = store_apply(s, slice_cstr(aor), c, n, o, NULL, on_done, r);
    if (rc < 0)
        return rc;
    while (__atomic_load_n(&r->calls, __ATOMIC_ACQUIRE) == before)
        usleep(100);
    return r->rc;
}

static void basic_ops(const char *spec)
{
    struct store *s = open_store(spec, NOW);
    struct store_apply_opts o = {.now = NOW, .max_contacts = 10, .replace_oldest = true};
    struct rec r = {0};
    struct store_change c[2] = {set("sip:a@192.0.2.1", "cid1", 1, NOW + 60),
                                set("sip:b@192.0.2.1", "cid1", 1, NOW + 120)};
    assert_int_equal(apply_wait(s, "sip:alice@example.com", c, 2, &o, &r), 0);
    assert_int_equal(r.count, 2);
    assert_int_equal(store_aor_count(s), 1);
    assert_int_equal(store_binding_count(s), 2);

    struct store_binding *b = NULL;
    assert_int_equal(store_lookup(s, SLICE_LIT("sip:alice@example.com"), NOW, &b), 2);
    assert_string_equal(b[0].contact, "sip:a@192.0.2.1");
    assert_string_equal(b[1].path, "<sip:edge.example;lr>");
    assert_string_equal(b[1].received, "192.0.2.1:5062");
    assert_int_equal(b[1].q, 500);
    assert_int_equal(b[1].conn_id, 42);
    store_bindings_free(b, 2);
    assert_int_equal(store_lookup(s, SLICE_LIT("sip:nobody@example.com"), NOW, &b), 0);
    assert_null(b);

    /* Remove one; the other expires at NOW+60 and is gone at NOW+60. */
    struct store_change rm = {.op = STORE_REMOVE};
    rm.b.match_key = (char *)"sip:b@192.0.2.1";
    rm.b.call_id = (char *)"cid1";
    rm.b.cseq = 2;
    assert_int_equal(apply_wait(s, "sip:alice@example.com", &rm, 1, &o, &r), 0);
    assert_int_equal(r.count, 1);
    assert_int_equal(store_lookup(s, SLICE_LIT("sip:alice@example.com"), NOW + 60, &b), 0);

    /* Purge: one shard per call, so 64 calls cover the table. */
    size_t purged = 0;
    for (int i = 0; i < 64; i++)
        purged += store_purge(s, NOW + 60);
    assert_int_equal(purged, 1);
    assert_int_equal(store_aor_count(s), 0);
    assert_int_equal(store_binding_count(s), 0);
    store_close(s);
}

static void test_memory_apply_lookup_remove_purge(void **state)
{
    (void)state;
    basic_ops("memory");
}

static void test_sqlite_apply_lookup_remove_purge(void **state)
{
    (void)state;
    char spec[512];
    db_path(spec, sizeof(spec), "basic.db");
    basic_ops(spec);
}

static void test_cseq_ordering_and_remove_all(void **state)
{
    (void)state;
    struct store *s = open_store("memory", NOW);
    struct store_apply_opts o = {.now = NOW};
    struct rec r = {0};
    struct store_change c = set("sip:a@192.0.2.1", "cid1", 5, NOW + 60);
    assert_int_equal(apply_wait(s, "aor", &c, 1, &o, &r), 0);
    /* RFC 3261 §10.3 step 7: same Call-ID, CSeq not higher -> aborted. */
    c.b.cseq = 5;
    assert_int_equal(apply_wait(s, "aor", &c, 1, &o, &r), -ESTALE);
    /* A different Call-ID updates whatever its CSeq. */
    c.b.call_id = (char *)"cid2";
    c.b.cseq = 1;
    assert_int_equal(apply_wait(s, "aor", &c, 1, &o, &r), 0);
    /* Step 6: '*' with the same Call-ID and a CSeq not higher fails... */
    struct store_change all = {.op = STORE_REMOVE_ALL};
    all.b.call_id = (char *)"cid2";
    all.b.cseq = 1;
    assert_int_equal(apply_wait(s, "aor", &all, 1, &o, &r), -ESTALE);
    assert_int_equal(store_binding_count(s), 1);
    all.b.cseq = 2;
    assert_int_equal(apply_wait(s, "aor", &all, 1, &o, &r), 0);
    assert_int_equal(r.count, 0);
    assert_int_equal(store_aor_count(s), 0);
    store_close(s);
}

static void test_max_contacts_replace_oldest_or_reject(void **state)
{
    (void)state;
    struct store *s = open_store("memory", NOW);
    struct store_apply_opts o = {.now = NOW, .max_contacts = 2, .replace_oldest = true};
    struct rec r = {0};
    struct store_change c = set("sip:1@h", "c1", 1, NOW + 600);
    assert_int_equal(apply_wait(s, "aor", &c, 1, &o, &r), 0);
    o.now = NOW + 1;
    c = set("sip:2@h", "c2", 1, NOW + 600);
    assert_int_equal(apply_wait(s, "aor", &c, 1, &o, &r), 0);
    o.now = NOW + 2;
    c = set("sip:3@h", "c3", 1, NOW + 600);
    assert_int_equal(apply_wait(s, "aor", &c, 1, &o, &r), 0);
    assert_int_equal(r.count, 2);
    assert_string_equal(r.first_contact, "sip:2@h"); /* sip:1 was the oldest */
    o.replace_oldest = false;
    c = set("sip:4@h", "c4", 1, NOW + 600);
    assert_int_equal(apply_wait(s, "aor", &c, 1, &o, &r), -EDQUOT);
    assert_int_equal(store_binding_count(s), 2);
    store_close(s);
}

static void test_max_aors(void **state)
{
    (void)state;
    struct store_config cfg;
    store_config_defaults(&cfg);
    cfg.max_aors = 1;
    struct store *s = NULL;
    char err[128];
    assert_int_equal(store_open(&s, "memory", &cfg, NOW, err, sizeof(err)), 0);
    struct store_apply_opts o = {.now = NOW};
    struct rec r = {0};
    struct store_change c = set("sip:1@h", "c1", 1, NOW + 600);
    assert_int_equal(apply_wait(s, "aor1", &c, 1, &o, &r), 0);
    assert_int_equal(apply_wait(s, "aor2", &c, 1, &o, &r), -ENOSPC);
    store_close(s);
    assert_int_equal(store_open(&s, "redis:x", NULL, NOW, err, sizeof(err)), -EINVAL);
}

static void test_sqlite_bindings_survive_reopen(void **state)
{
    (void)state;
    char spec[512];
    db_path(spec, sizeof(spec), "reopen.db");
    struct store *s = open_store(spec, NOW);
    struct store_apply_opts o = {.now = NOW};
    struct rec r = {0};
    struct store_change c[2] = {set("sip:a@h", "cid", 1, NOW + 100),
                                set("sip:b@h", "cid", 1, NOW + 10)};
    assert_int_equal(apply_wait(s, "sip:bob@example.com", c, 2, &o, &r), 0);
    store_close(s);

    s = open_store(spec, NOW + 20); /* sip:b expired meanwhile: not loaded */
    struct store_binding *b = NULL;
    assert_int_equal(store_lookup(s, SLICE_LIT("sip:bob@example.com"), NOW + 20, &b), 1);
    assert_string_equal(b[0].contact, "sip:a@h");
    assert_string_equal(b[0].call_id, "cid");
    assert_string_equal(b[0].user_agent, "ua/1");
    assert_string_equal(b[0].received, "192.0.2.1:5062");
    assert_int_equal(b[0].expires_at, NOW + 100);
    assert_int_equal(b[0].listener, 2);
    assert_int_equal(b[0].proto, 1);
    assert_int_equal(b[0].conn_id, 0); /* not persisted */
    store_bindings_free(b, 1);
    store_close(s);
}

/* ---- completions on the requesting loop ---- */

struct loop_rec {
    int calls;
    int errors;
    pthread_t thread;
};

static void on_loop_done(void *arg, int rc, const struct store_binding *b, size_t count)
{
    (void)b;
    (void)count;
    struct loop_rec *r = arg;
    r->calls++;
    if (rc != 0 || !pthread_equal(pthread_self(), r->thread))
        r->errors++;
}

static void run_until(struct ev_loop *loop, const int *calls, int want)
{
    uint64_t deadline = ev_clock_now_ms() + 60000;
    while (*calls < want && ev_clock_now_ms() < deadline)
        assert_true(ev_loop_run_once(loop, 50) >= 0);
    assert_int_equal(*calls, want);
}

static void completion_on_loop(const char *spec)
{
    struct store *s = open_store(spec, NOW);
    struct ev_loop *loop = ev_loop_new();
    assert_non_null(loop);
    struct loop_rec r = {.thread = pthread_self()};
    struct store_apply_opts o = {.now = NOW};
    struct store_change c = set("sip:a@h", "cid", 1, NOW + 100);
    assert_int_equal(store_apply(s, SLICE_LIT("aor"), &c, 1, &o, loop, on_loop_done, &r), 0);
    assert_int_equal(r.calls, 0); /* never from inside store_apply */
    run_until(loop, &r.calls, 1);
    assert_int_equal(r.errors, 0);
    store_close(s);
    ev_loop_free(loop);
}

static void test_memory_completion_runs_on_requesting_loop(void **state)
{
    (void)state;
    completion_on_loop("memory");
}

static void test_sqlite_completion_runs_on_requesting_loop(void **state)
{
    (void)state;
    char spec[512];
    db_path(spec, sizeof(spec), "loop.db");
    completion_on_loop(spec);
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_sqlite_group_commit_of_1000_writes(void **state)
{
    (void)state;
    char spec[512];
    db_path(spec, sizeof(spec), "group.db");
    struct store *s = open_store(spec, NOW);
    struct ev_loop *loop = ev_loop_new();
    struct loop_rec r = {.thread = pthread_self()};
    struct store_apply_opts o = {.now = NOW};
    double t0 = mono_s();
    for (int i = 0; i < 1000; i++) {
        char aor[64], contact[64];
        snprintf(aor, sizeof(aor), "sip:user%d@example.com", i);
        snprintf(contact, sizeof(contact), "sip:user%d@192.0.2.7:5060", i);
        struct store_change c = set(contact, "cid", 1, NOW + 3600);
        assert_int_equal(store_apply(s, slice_cstr(aor), &c, 1, &o, loop, on_loop_done, &r), 0);
    }
    run_until(loop, &r.calls, 1000);
    double dt = mono_s() - t0;
    print_message("# sqlite group commit: 1000 bindings in %.3f s = %.0f bindings/s\n", dt,
                  1000 / dt);
    assert_int_equal(r.errors, 0);
    store_close(s);
    s = open_store(spec, NOW);
    assert_int_equal(store_binding_count(s), 1000);
    store_close(s);
    ev_loop_free(loop);
}

/* ---- crash safety: the child is killed (as by SIGKILL) after acks ---- */

struct ack_pipe {
    int fd;
    int idx;
};

static void on_child_done(void *arg, int rc, const struct store_binding *b, size_t count)
{
    (void)b;
    (void)count;
    struct ack_pipe *a = arg;
    if (rc == 0 && write(a->fd, &a->idx, sizeof(a->idx)) != sizeof(a->idx))
        _exit(3);
}

static void test_sqlite_acked_bindings_survive_a_crash(void **state)
{
    (void)state;
    char spec[512];
    db_path(spec, sizeof(spec), "crash.db");
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        struct store *s = NULL;
        char err[256];
        if (store_open(&s, spec, NULL, NOW, err, sizeof(err)) != 0)
            _exit(2);
        static struct ack_pipe acks[300];
        struct store_apply_opts o = {.now = NOW};
        for (int i = 0; i < 300; i++) {
            char aor[64];
            snprintf(aor, sizeof(aor), "sip:c%d@example.com", i);
            acks[i] = (struct ack_pipe){p[1], i};
            struct store_change c = set("sip:x@192.0.2.9", "cid", 1, NOW + 3600);
            if (store_apply(s, slice_cstr(aor), &c, 1, &o, NULL, on_child_done, &acks[i]) != 0)
                _exit(4);
            if (i == 200)
                usleep(20000); /* some writes acked, others still queued */
        }
        usleep(5000);
        _exit(0); /* no store_close: queued writes die with the process */
    }
    close(p[1]);
    int idx, acked[300], nacked = 0;
    while (read(p[0], &idx, sizeof(idx)) == sizeof(idx) && nacked < 300)
        acked[nacked++] = idx;
    close(p[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_true(nacked > 0);
    struct store *s = open_store(spec, NOW);
    for (int i = 0; i < nacked; i++) {
        char aor[64];
        snprintf(aor, sizeof(aor), "sip:c%d@example.com", acked[i]);
        struct store_binding *b = NULL;
        assert_int_equal(store_lookup(s, slice_cstr(aor), NOW, &b), 1);
        store_bindings_free(b, 1);
    }
    print_message("# crash test: %d of 300 acked before _exit, all found after reopen\n", nacked);
    store_close(s);
}

/* ---- measurement (SW_STORE_BENCH=1): memory per contact ---- */

static size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

static void test_memory_per_contact_100k(void **state)
{
    (void)state;
    if (getenv("SW_STORE_BENCH") == NULL)
        skip();
    size_t before = heap_in_use();
    struct store *s = open_store("memory", NOW);
    struct store_apply_opts o = {.now = NOW};
    struct rec r = {0};
    for (int i = 0; i < 100000; i++) {
        char aor[64], contact[96];
        snprintf(aor, sizeof(aor), "sip:user%06d@example.com", i);
        snprintf(contact, sizeof(contact), "sip:user%06d@198.51.100.%d:5060;transport=udp", i,
                 i % 250);
        struct store_change c = set(contact, "a84b4c76e66710@pc33.example.com", 1, NOW + 3600);
        c.b.path = NULL;
        c.b.user_agent = (char *)"Linphone/5.2.0";
        assert_int_equal(apply_wait(s, aor, &c, 1, &o, &r), 0);
    }
    size_t after = heap_in_use();
    /* The records live in the store's own mmap'd blocks (src/store/slab.h),
     * which mallinfo does not see: add what the blocks have touched. */
    struct slab_stats st;
    mem_stats(&s->mem, &st);
    size_t total = after - before + st.carved;
    print_message("# memory store: 100000 contacts, %zu bytes in use, %.0f B/contact "
                  "(malloc heap %zu B + record blocks %zu B; 1 contact per AOR, ~110 B of "
                  "strings)\n",
                  total, (double)total / 100000.0, after - before, st.carved);
    store_close(s);
}

static int setup(void **state)
{
    (void)state;
    static const uint8_t key[16] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6};
    htab_seed_fixed(key);
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/sw-test-store-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

struct visit_rec {
    size_t n;
    bool seen[100];
};

static void visit_count(void *arg, struct slice aor, const struct store_binding *b)
{
    struct visit_rec *v = arg;
    int i = -1;
    assert_int_equal(sscanf(b->contact, "sip:u@192.0.2.%d", &i), 1);
    assert_true(i >= 0 && i < 100);
    assert_false(v->seen[i]); /* each binding once per round */
    v->seen[i] = true;
    assert_true(aor.len > 0);
    v->n++;
}

/* A round over every shard visits each binding not expired, once. */
static void test_foreach_shard_visits_every_live_binding_once(void **state)
{
    (void)state;
    struct store *s = open_store("memory", NOW);
    struct store_apply_opts o = {.now = NOW};
    struct rec r = {0};
    for (int i = 0; i < 100; i++) {
        char aor[32], contact[32];
        snprintf(aor, sizeof(aor), "sip:u%d@example.com", i / 2);
        snprintf(contact, sizeof(contact), "sip:u@192.0.2.%d", i);
        struct store_change c = set(contact, contact, 1, i == 7 ? NOW + 10 : NOW + 60);
        assert_int_equal(apply_wait(s, aor, &c, 1, &o, &r), 0);
    }
    struct visit_rec v = {0};
    size_t visited = 0;
    for (unsigned sh = 0; sh < STORE_SHARDS; sh++)
        visited += store_foreach_shard(s, sh, NOW + 20, visit_count, &v);
    assert_int_equal(visited, 99);
    assert_int_equal(v.n, 99);
    assert_false(v.seen[7]); /* expired at NOW + 10 */
    store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memory_apply_lookup_remove_purge),
        cmocka_unit_test(test_sqlite_apply_lookup_remove_purge),
        cmocka_unit_test(test_cseq_ordering_and_remove_all),
        cmocka_unit_test(test_foreach_shard_visits_every_live_binding_once),
        cmocka_unit_test(test_max_contacts_replace_oldest_or_reject),
        cmocka_unit_test(test_max_aors),
        cmocka_unit_test(test_sqlite_bindings_survive_reopen),
        cmocka_unit_test(test_memory_completion_runs_on_requesting_loop),
        cmocka_unit_test(test_sqlite_completion_runs_on_requesting_loop),
        cmocka_unit_test(test_sqlite_group_commit_of_1000_writes),
        cmocka_unit_test(test_sqlite_acked_bindings_survive_a_crash),
        cmocka_unit_test(test_memory_per_contact_100k),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
