/* SPDX-License-Identifier: BSD-2-Clause */
/* RFC 4475 / RFC 5118 torture messages against tests/unit/data/sip/expect.txt. */
#include "sip/sipmsg.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define DATA_DIR SW_TEST_DATA "/sip"
#define MAX_FILE 65536

/* longreq (RFC 4475 §3.1.1.7) carries 34 Via values; see expect.txt. */
static const struct sip_limits torture_limits = {65535, 128, 70};

struct expectation {
    char name[128];
    char outcome[16];
    char reason[128];
    bool seen;
};

static struct expectation expects[256];
static size_t expect_count;

static void load_expectations(void)
{
    FILE *f = fopen(DATA_DIR "/expect.txt", "r");
    assert_non_null(f);
    char line[512];
    expect_count = 0;
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        assert_true(expect_count < SW_ARRAY_LEN(expects));
        struct expectation *e = &expects[expect_count++];
        memset(e, 0, sizeof(*e));
        int off = 0;
        assert_int_equal(sscanf(line, "%127s %15s %n", e->name, e->outcome, &off) >= 2, 1);
        snprintf(e->reason, sizeof(e->reason), "%s", line + off);
    }
    fclose(f);
}

static struct expectation *find_expectation(const char *name)
{
    for (size_t i = 0; i < expect_count; i++)
        if (strcmp(expects[i].name, name) == 0)
            return &expects[i];
    return NULL;
}

static size_t read_file(const char *name, char *buf)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", DATA_DIR, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, MAX_FILE, f);
    fclose(f);
    return n;
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a > b && strcmp(s + a - b, suffix) == 0;
}

/* Returns true when the message behaves as its expectation says. */
static bool check_message(const char *file, const char *data, size_t len,
                          const struct expectation *e)
{
    struct sipmsg *m = sipmsg_new(data, len, &torture_limits);
    assert_non_null(m);
    struct sip_err err = {"", 0}, ferr = {"", 0};
    int rc = sipmsg_parse(m, &err);
    int frc = rc == SIP_PARSE_OK ? sipmsg_parse_full(m, &ferr) : SIP_PARSE_BAD;
    bool reply = sipmsg_can_reply(m);
    bool ok;
    if (strcmp(e->outcome, "OK") == 0 && e->reason[0] == '\0') {
        ok = rc == SIP_PARSE_OK && frc == SIP_PARSE_OK;
    } else if (strcmp(e->outcome, "OK") == 0) {
        const char *want = e->reason + strlen("FULLBAD ");
        ok = strncmp(e->reason, "FULLBAD ", 8) == 0 && rc == SIP_PARSE_OK && frc == SIP_PARSE_BAD &&
             strstr(ferr.reason, want) != NULL;
    } else if (strcmp(e->outcome, "BAD") == 0 || strcmp(e->outcome, "REPLY400") == 0) {
        bool want_reply = strcmp(e->outcome, "REPLY400") == 0;
        ok = rc == SIP_PARSE_BAD && strstr(err.reason, e->reason) != NULL && reply == want_reply;
    } else {
        ok = false;
    }
    if (!ok)
        print_message("# %s: expected \"%s %s\", got parse=%s (%s) full=%s (%s) can_reply=%d\n",
                      file, e->outcome, e->reason, rc == SIP_PARSE_OK ? "OK" : "BAD",
                      rc == SIP_PARSE_OK ? "" : err.reason, frc == SIP_PARSE_OK ? "OK" : "BAD",
                      rc == SIP_PARSE_OK && frc != SIP_PARSE_OK ? ferr.reason : "", reply);
    sipmsg_unref(m);
    return ok;
}

static void test_every_torture_message_has_its_expected_outcome(void **state)
{
    (void)state;
    load_expectations();
    DIR *d = opendir(DATA_DIR);
    assert_non_null(d);
    static char buf[MAX_FILE];
    unsigned files = 0, bad = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!has_suffix(de->d_name, ".msg"))
            continue;
        files++;
        char name[256];
        snprintf(name, sizeof(name), "%.*s", (int)(strlen(de->d_name) - 4), de->d_name);
        struct expectation *e = find_expectation(name);
        if (!e) {
            print_message("# %s: no line in expect.txt\n", de->d_name);
            bad++;
            continue;
        }
        e->seen = true;
        size_t len = read_file(de->d_name, buf);
        if (!check_message(de->d_name, buf, len, e))
            bad++;
    }
    closedir(d);
    for (size_t i = 0; i < expect_count; i++)
        if (!expects[i].seen) {
            print_message("# expect.txt names %s, which has no .msg file\n", expects[i].name);
            bad++;
        }
    assert_true(files >= 62);
    assert_int_equal(bad, 0);
}

static void test_every_prefix_of_every_torture_message_parses_without_crashing(void **state)
{
    (void)state;
    DIR *d = opendir(DATA_DIR);
    assert_non_null(d);
    static char buf[MAX_FILE];
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!has_suffix(de->d_name, ".msg"))
            continue;
        size_t len = read_file(de->d_name, buf);
        for (size_t n = 0; n <= len; n++) {
            /* a fresh copy of exactly n bytes, so ASan sees any over-read */
            struct sipmsg *m = sipmsg_new(buf, n, &torture_limits);
            assert_non_null(m);
            struct sip_err err;
            if (sipmsg_parse(m, &err) == SIP_PARSE_OK)
                (void)!sipmsg_parse_full(m, &err);
            (void)sipmsg_can_reply(m);
            sipmsg_unref(m);
        }
    }
    closedir(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_torture_message_has_its_expected_outcome),
        cmocka_unit_test(test_every_prefix_of_every_torture_message_parses_without_crashing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
