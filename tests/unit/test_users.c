/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for the users file (sec/users.c): passwd, load, reload. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "sec/auth.h"
#include "sec/auth_int.h"

static char dir[64];
static char path[128];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/sw-usersXXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof(path), "%s/users.yaml", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    rmdir(dir);
    return 0;
}

static void expect_ha1(const struct auth_users *u, const char *realm, const char *user,
                       const char *pass)
{
    const struct auth_user *e = auth_users_find(u, slice_cstr(realm), slice_cstr(user));
    assert_non_null(e);
    for (int a = 0; a < AUTH_ALG_COUNT; a++) {
        uint8_t h[AUTH_HASH_MAX];
        auth_ha1((enum auth_algo)a, slice_cstr(user), slice_cstr(realm), slice_cstr(pass), h);
        assert_true(e->has[a]);
        assert_memory_equal(e->ha1[a], h, auth_hash_len((enum auth_algo)a));
    }
}

static void test_passwd_creates_a_0600_file_with_every_algorithm(void **state)
{
    (void)state;
    struct auth_users *u = NULL;
    struct stat st;
    char err[256];
    assert_int_equal(auth_users_passwd(path, "example.com", "alice", "pw1"), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(auth_users_load(&u, path, err, sizeof(err)), 0);
    assert_int_equal(u->count, 1);
    expect_ha1(u, "example.com", "alice", "pw1");
    auth_users_free(u);
}

static void test_passwd_keeps_other_users_and_replaces_the_named_one(void **state)
{
    (void)state;
    struct auth_users *u = NULL;
    char err[256];
    assert_int_equal(auth_users_passwd(path, "example.com", "alice", "pw1"), 0);
    assert_int_equal(auth_users_passwd(path, "example.com", "bob", "pw2"), 0);
    assert_int_equal(auth_users_passwd(path, "example.org", "alice", "pw3"), 0);
    assert_int_equal(auth_users_passwd(path, "example.com", "alice", "new"), 0);
    assert_int_equal(auth_users_load(&u, path, err, sizeof(err)), 0);
    assert_int_equal(u->count, 3);
    expect_ha1(u, "example.com", "alice", "new");
    expect_ha1(u, "example.com", "bob", "pw2");
    expect_ha1(u, "example.org", "alice", "pw3");
    assert_null(auth_users_find(u, SLICE_LIT("example.com"), SLICE_LIT("carol")));
    auth_users_free(u);
}

static void test_passwd_refuses_names_that_cannot_be_quoted(void **state)
{
    (void)state;
    assert_int_equal(auth_users_passwd(path, "example.com", "a\"b", "pw"), -EINVAL);
    assert_int_equal(auth_users_passwd(path, "exa mple.com", "a", "pw"), -EINVAL);
}

static void test_bad_users_file_names_file_and_line(void **state)
{
    (void)state;
    struct auth_users *u = NULL;
    char err[256];
    assert_int_equal(auth_users_load(&u, SW_TEST_DATA "/auth/bad_hex.yaml", err, sizeof(err)),
                     -EINVAL);
    assert_non_null(strstr(err, "bad_hex.yaml:2: ha1_md5: expected 32 hex digits"));
    assert_int_equal(auth_users_load(&u, "/nonexistent/users.yaml", err, sizeof(err)), -ENOENT);
}

static void test_reload_swaps_the_users_snapshot(void **state)
{
    (void)state;
    struct auth_conf c = {0};
    char err[256];
    assert_int_equal(auth_users_passwd(path, "example.com", "alice", "pw1"), 0);
    c.users = path;
    struct auth *a = auth_new(&c, err, sizeof(err));
    assert_non_null(a);
    assert_int_equal(auth_users_count(a), 1);
    assert_int_equal(auth_users_passwd(path, "example.com", "bob", "pw2"), 0);
    assert_int_equal(auth_users_reload(a, path, err, sizeof(err)), 0);
    assert_int_equal(auth_users_count(a), 2);
    /* a broken file keeps the old snapshot */
    assert_int_equal(auth_users_reload(a, SW_TEST_DATA "/auth/bad_hex.yaml", err, sizeof(err)),
                     -EINVAL);
    assert_int_equal(auth_users_count(a), 2);
    auth_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_passwd_creates_a_0600_file_with_every_algorithm, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_passwd_keeps_other_users_and_replaces_the_named_one,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_passwd_refuses_names_that_cannot_be_quoted, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_bad_users_file_names_file_and_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload_swaps_the_users_snapshot, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
