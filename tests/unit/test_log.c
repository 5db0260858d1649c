/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for logging: formats, escaping, levels, rate limiting. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/ev.h"
#include "core/log.h"
#include "core/util.h"

static int pipe_fds[2];

static int setup(void **state)
{
    (void)state;
    if (pipe2(pipe_fds, O_NONBLOCK | O_CLOEXEC) < 0)
        return -1;
    (void)fcntl(pipe_fds[1], F_SETPIPE_SZ, 1 << 20);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    log_configure(LOG_LVL_NOTICE, LOG_FMT_TEXT, 2);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    return 0;
}

/* Reads everything currently in the pipe (NUL-terminated, malloc'd). */
static char *drain(size_t *len_out)
{
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap + 1);
    for (;;) {
        if (len == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
        }
        ssize_t n = read(pipe_fds[0], buf + len, cap - len);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    if (len_out)
        *len_out = len;
    return buf;
}

/* ---- a strict little JSON reader for flat objects of strings/numbers ---- */

struct jfield {
    char key[16];
    char val[8192];
    bool is_string;
};

static bool put_utf8(char **o, char *end, unsigned cp)
{
    char tmp[4];
    size_t n;
    if (cp < 0x80) {
        tmp[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        tmp[0] = (char)(0xc0 | cp >> 6);
        tmp[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else {
        tmp[0] = (char)(0xe0 | cp >> 12);
        tmp[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        tmp[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    }
    if ((size_t)(end - *o) < n)
        return false;
    memcpy(*o, tmp, n);
    *o += n;
    return true;
}

/* Parses a JSON string at *p into out; raw control bytes are errors. */
static bool jstring(const char **p, char *out, size_t cap)
{
    const char *s = *p;
    char *o = out, *end = out + cap - 1;
    if (*s++ != '"')
        return false;
    while (*s != '"') {
        unsigned char c = (unsigned char)*s;
        if (c == '\0' || c < 0x20)
            return false;
        if (c == '\\') {
            s++;
            char e = *s++;
            const char *simple = strchr("\"\\/bfnrt", e);
            if (e && simple) {
                const char map[] = "\"\\/\b\f\n\r\t";
                if (o == end)
                    return false;
                *o++ = map[simple - "\"\\/bfnrt"];
            } else if (e == 'u') {
                unsigned cp = 0;
                for (int i = 0; i < 4; i++) {
                    char h = *s++;
                    cp <<= 4;
                    if (h >= '0' && h <= '9')
                        cp |= (unsigned)(h - '0');
                    else if (h >= 'a' && h <= 'f')
                        cp |= (unsigned)(h - 'a' + 10);
                    else if (h >= 'A' && h <= 'F')
                        cp |= (unsigned)(h - 'A' + 10);
                    else
                        return false;
                }
                if (!put_utf8(&o, end, cp))
                    return false;
            } else {
                return false;
            }
            continue;
        }
        if (o == end)
            return false;
        *o++ = (char)c;
        s++;
    }
    *o = '\0';
    *p = s + 1;
    return true;
}

/* Parses one line "{...}\n"; returns the number of fields or -1. */
static int jparse_line(const char *line, struct jfield *f, int max)
{
    const char *p = line;
    int n = 0;
    if (*p++ != '{')
        return -1;
    for (;;) {
        if (n == max)
            return -1;
        if (!jstring(&p, f[n].key, sizeof(f[n].key)) || *p++ != ':')
            return -1;
        if (*p == '"') {
            if (!jstring(&p, f[n].val, sizeof(f[n].val)))
                return -1;
            f[n].is_string = true;
        } else {
            size_t k = 0;
            while (*p >= '0' && *p <= '9' && k < 20)
                f[n].val[k++] = *p++;
            if (k == 0)
                return -1;
            f[n].val[k] = '\0';
            f[n].is_string = false;
        }
        n++;
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p++ != '}')
            return -1;
        break;
    }
    return (*p == '\n' && p[1] == '\0') ? n : -1;
}

static const struct jfield *jget(const struct jfield *f, int n, const char *key)
{
    for (int i = 0; i < n; i++)
        if (strcmp(f[i].key, key) == 0)
            return &f[i];
    return NULL;
}

static struct jfield fields[8];

static void test_log_json_record_parses_with_escaped_message(void **state)
{
    (void)state;
    log_configure(LOG_LVL_DEBUG, LOG_FMT_JSON, pipe_fds[1]);
    ev_thread_set_worker(5);
    const char *nasty = "quote\" backslash\\ nl\n cr\r tab\t bell\x07 esc\x1b del\x7f "
                        "e-acute \xc3\xa9 euro \xe2\x82\xac bad \xff\xfe end";
    log_write(LOG_LVL_WARN, "tp\"udp", "%s", nasty);
    ev_thread_set_worker(0);
    size_t len;
    char *out = drain(&len);
    assert_true(len > 0);
    assert_non_null(strchr(out, '\n'));
    assert_ptr_equal(strchr(out, '\n'), out + len - 1); /* one line */
    int n = jparse_line(out, fields, 8);
    assert_int_equal(n, 5);
    assert_string_equal(jget(fields, n, "level")->val, "warn");
    assert_string_equal(jget(fields, n, "module")->val, "tp\"udp");
    assert_string_equal(jget(fields, n, "worker")->val, "5");
    assert_false(jget(fields, n, "worker")->is_string);
    const struct jfield *tsf = jget(fields, n, "ts");
    assert_non_null(tsf);
    const char *ts = tsf->val;
    assert_int_equal(strnlen(ts, sizeof(tsf->val)), 24);
    assert_int_equal(ts[10], 'T');
    assert_int_equal(ts[23], 'Z');
    assert_string_equal(jget(fields, n, "msg")->val,
                        "quote\" backslash\\ nl\n cr\r tab\t bell\x07 esc\x1b del\x7f "
                        "e-acute \xc3\xa9 euro \xe2\x82\xac bad \xef\xbf\xbd\xef\xbf\xbd end");
    free(out);
}

static void test_log_json_overlong_message_is_cut_but_valid(void **state)
{
    (void)state;
    log_configure(LOG_LVL_INFO, LOG_FMT_JSON, pipe_fds[1]);
    char *big = malloc(20000);
    for (int i = 0; i < 19999; i++)
        big[i] = (i % 3 == 0) ? '\x01' : (i % 3 == 1 ? '\xc3' : '\xa9');
    big[19999] = '\0';
    log_write(LOG_LVL_INFO, "core", "%s", big);
    char *out = drain(NULL);
    int n = jparse_line(out, fields, 8);
    assert_int_equal(n, 5);
    const char *msg = jget(fields, n, "msg")->val;
    assert_true(strlen(msg) > 1000);
    assert_string_equal(msg + strlen(msg) - 3, "...");
    free(out);
    free(big);
}

static void test_log_text_record_has_timestamp_level_module_and_one_line(void **state)
{
    (void)state;
    log_configure(LOG_LVL_NOTICE, LOG_FMT_TEXT, pipe_fds[1]);
    log_write(LOG_LVL_NOTICE, "core", "started %d workers\r\nfake line", 4);
    char *out = drain(NULL);
    /* 2026-11-22T10:00:00.123Z NOTICE [core] ... */
    assert_true(strlen(out) > 25);
    assert_int_equal(out[4], '-');
    assert_int_equal(out[10], 'T');
    assert_int_equal(out[19], '.');
    assert_int_equal(out[23], 'Z');
    assert_string_equal(out + 24, " NOTICE [core] started 4 workers\\r\\nfake line\n");
    free(out);
}

static void test_log_level_filters_records(void **state)
{
    (void)state;
    log_configure(LOG_LVL_WARN, LOG_FMT_TEXT, pipe_fds[1]);
    assert_true(log_enabled(LOG_LVL_ERROR));
    assert_true(log_enabled(LOG_LVL_WARN));
    assert_false(log_enabled(LOG_LVL_NOTICE));
    LOG_DEBUG("core", "not shown");
    LOG_NOTICE("core", "not shown");
    log_write(LOG_LVL_INFO, "core", "not shown either");
    LOG_ERROR("core", "shown");
    char *out = drain(NULL);
    assert_null(strstr(out, "not shown"));
    assert_non_null(strstr(out, " ERROR [core] shown\n"));
    free(out);
}

static void test_log_level_parse_accepts_names_and_rejects_unknown(void **state)
{
    (void)state;
    enum log_level l = LOG_LVL_ERROR;
    assert_int_equal(log_level_parse(&l, "debug"), 0);
    assert_int_equal(l, LOG_LVL_DEBUG);
    assert_int_equal(log_level_parse(&l, "WARNING"), 0);
    assert_int_equal(l, LOG_LVL_WARN);
    assert_int_equal(log_level_parse(&l, "Notice"), 0);
    assert_int_equal(l, LOG_LVL_NOTICE);
    assert_int_equal(log_level_parse(&l, "loud"), -EINVAL);
    assert_int_equal(l, LOG_LVL_NOTICE);
    assert_string_equal(log_level_name(LOG_LVL_INFO), "info");
    assert_string_equal(log_level_name((enum log_level)99), "unknown");
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void test_log_rate_limit_prints_once_then_counts_suppressed(void **state)
{
    (void)state;
    log_configure(LOG_LVL_NOTICE, LOG_FMT_TEXT, pipe_fds[1]);
    static struct log_rl rl;
    for (int i = 0; i < 5; i++)
        log_write_rl(&rl, 3600000, LOG_LVL_WARN, "sec", "bad packet from %d", i);
    char *out = drain(NULL);
    assert_int_equal(count_lines(out), 1);
    assert_non_null(strstr(out, "bad packet from 0\n"));
    free(out);

    /* Pretend the interval has passed (no sleeping in tests). */
    atomic_store(&rl.last_ms, ev_clock_now_ms() - 3600001);
    log_write_rl(&rl, 3600000, LOG_LVL_WARN, "sec", "bad packet from %d", 9);
    out = drain(NULL);
    assert_int_equal(count_lines(out), 1);
    assert_non_null(strstr(out, "bad packet from 9 (4 similar suppressed)\n"));
    free(out);

    atomic_store(&rl.last_ms, ev_clock_now_ms() - 3600001);
    log_write_rl(&rl, 3600000, LOG_LVL_WARN, "sec", "quiet");
    out = drain(NULL);
    assert_non_null(strstr(out, "quiet\n"));
    assert_null(strstr(out, "suppressed"));
    free(out);
}

#define LOG_THREADS 4
#define LINES_PER_THREAD 200

static void *log_thread_main(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    ev_thread_set_worker(id);
    for (int i = 0; i < LINES_PER_THREAD; i++)
        LOG_NOTICE("mt", "thread %u line %d \"%s\"", id, i, "payload payload payload");
    return NULL;
}

static void test_log_concurrent_json_records_never_interleave(void **state)
{
    (void)state;
    log_configure(LOG_LVL_NOTICE, LOG_FMT_JSON, pipe_fds[1]);
    pthread_t th[LOG_THREADS];
    for (uintptr_t i = 0; i < LOG_THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, log_thread_main, (void *)(i + 1)), 0);
    for (int i = 0; i < LOG_THREADS; i++)
        pthread_join(th[i], NULL);
    char *out = drain(NULL);
    size_t lines = 0;
    for (char *line = out; *line;) {
        char *nl = strchr(line, '\n');
        assert_non_null(nl);
        char save = nl[1];
        nl[1] = '\0';
        assert_int_equal(jparse_line(line, fields, 8), 5);
        nl[1] = save;
        line = nl + 1;
        lines++;
    }
    assert_int_equal(lines, LOG_THREADS * LINES_PER_THREAD);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_json_record_parses_with_escaped_message),
        cmocka_unit_test(test_log_json_overlong_message_is_cut_but_valid),
        cmocka_unit_test(test_log_text_record_has_timestamp_level_module_and_one_line),
        cmocka_unit_test(test_log_level_filters_records),
        cmocka_unit_test(test_log_level_parse_accepts_names_and_rejects_unknown),
        cmocka_unit_test(test_log_rate_limit_prints_once_then_counts_suppressed),
        cmocka_unit_test(test_log_concurrent_json_records_never_interleave),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
