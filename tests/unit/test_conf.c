/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for the sipwarden configuration: tables, listen URIs, docs. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"

#define SHIPPED SW_SOURCE_ROOT "/etc/sipwarden.yaml"
#define DOCS SW_SOURCE_ROOT "/docs/config.md"

static char err[512];

static int load(struct conf *c, const char *yaml)
{
    return conf_load_buf(c, yaml, strlen(yaml), "t.yaml", NULL, err, sizeof(err));
}

static void expect_error(const char *yaml, const char *want)
{
    struct conf c;
    int rc = load(&c, yaml);
    if (rc == 0)
        conf_free(&c);
    assert_int_equal(rc, -EINVAL);
    assert_string_equal(err, want);
}

static uint16_t port_of(const struct conf_listen *l)
{
    if (l->addr.ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)&l->addr)->sin6_port);
    return ntohs(((const struct sockaddr_in *)&l->addr)->sin_port);
}

static void test_conf_shipped_file_loads(void **state)
{
    (void)state;
    struct conf c;
    char ip[INET_ADDRSTRLEN];
    int rc = conf_load(&c, SHIPPED, err, sizeof(err));
    if (rc != 0)
        fail_msg("%s", err);
    assert_string_equal(c.path, SHIPPED);
    assert_int_equal(c.listen.count, 2);
    assert_int_equal(c.listen.items[0].proto, CONF_PROTO_UDP);
    assert_int_equal(c.listen.items[1].proto, CONF_PROTO_TCP);
    assert_string_equal(c.listen.items[0].uri, "udp://127.0.0.1:5060");
    assert_int_equal(c.listen.items[0].addr.ss_family, AF_INET);
    assert_int_equal(c.listen.items[0].addrlen, sizeof(struct sockaddr_in));
    inet_ntop(AF_INET, &((struct sockaddr_in *)&c.listen.items[0].addr)->sin_addr, ip, sizeof(ip));
    assert_string_equal(ip, "127.0.0.1");
    assert_int_equal(port_of(&c.listen.items[1]), 5060);
    assert_string_equal(c.server.name, "sipwarden");
    assert_int_equal(c.log.level, CONF_LOG_NOTICE);
    assert_string_equal(c.log.file, "");
    /* "../var" is resolved against etc/, landing at the top of the tree */
    assert_string_equal(c.store, "sqlite:" SW_SOURCE_ROOT "/etc/../var/sipwarden.db");
    conf_free(&c);
    assert_null(c.path);
    assert_null(c.listen.items);
}

static void test_conf_defaults(void **state)
{
    (void)state;
    struct conf c;
    assert_int_equal(load(&c, ""), 0);
    assert_int_equal(c.listen.count, 2);
    assert_string_equal(c.listen.items[1].uri, "tcp://127.0.0.1:5060");
    assert_int_equal(c.workers, 0);
    assert_string_equal(c.server.name, "sipwarden");
    assert_int_equal(c.server.domains.count, 0);
    assert_int_equal(c.log.level, CONF_LOG_NOTICE);
    assert_int_equal(c.log.format, CONF_LOG_TEXT);
    assert_string_equal(c.log.file, "");
    assert_int_equal(c.limits.max_message_size, 65536);
    assert_int_equal(c.limits.max_headers, 128);
    assert_int_equal(c.limits.max_via, 70);
    assert_int_equal(c.udp.batch, 32);
    assert_int_equal(c.udp.rcvbuf, 4u << 20);
    assert_int_equal(c.udp.sndbuf, 0);
    assert_int_equal(c.tcp.max_connections, 4096);
    assert_int_equal(c.tcp.max_connections_per_source, 32);
    assert_int_equal(c.tcp.idle_timeout_ms, 120000);
    assert_int_equal(c.tcp.connect_timeout_ms, 5000);
    assert_string_equal(c.store, "sqlite:var/sipwarden.db"); /* no base dir: as written */
    assert_string_equal(conf_log_level_name(c.log.level), "notice");
    conf_free(&c);
}

static void test_conf_listen_ipv4_and_ipv6(void **state)
{
    (void)state;
    struct conf c;
    struct in6_addr lo6 = IN6ADDR_LOOPBACK_INIT;
    assert_int_equal(load(&c, "listen:\n"
                              "  - udp://0.0.0.0:5060\n"
                              "  - TCP://10.1.2.3:65535\n"
                              "  - udp://[::1]:5062\n"
                              "  - tcp://[::]:1\n"),
                     0);
    assert_int_equal(c.listen.count, 4);
    assert_int_equal(c.listen.items[0].proto, CONF_PROTO_UDP);
    assert_int_equal(c.listen.items[1].proto, CONF_PROTO_TCP);
    assert_int_equal(port_of(&c.listen.items[1]), 65535);
    assert_int_equal(c.listen.items[2].addr.ss_family, AF_INET6);
    assert_int_equal(c.listen.items[2].addrlen, sizeof(struct sockaddr_in6));
    assert_memory_equal(&((struct sockaddr_in6 *)&c.listen.items[2].addr)->sin6_addr, &lo6,
                        sizeof(lo6));
    assert_int_equal(port_of(&c.listen.items[2]), 5062);
    assert_int_equal(port_of(&c.listen.items[3]), 1);
    assert_string_equal(c.listen.items[3].uri, "tcp://[::]:1");
    assert_string_equal(conf_proto_name(c.listen.items[3].proto), "tcp");
    conf_free(&c);

    /* the same address on both transports is fine */
    assert_int_equal(load(&c, "listen: ['udp://[::1]:5060', 'tcp://[::1]:5060']\n"), 0);
    conf_free(&c);
}

static void test_conf_listen_errors(void **state)
{
    (void)state;
    expect_error("listen: [tls://127.0.0.1:5061]\n",
                 "t.yaml:1:10: listen[0]: 'tls://127.0.0.1:5061' has an unsupported scheme "
                 "(use udp:// or tcp://)");
    expect_error("listen:\n  - udp://127.0.0.1:5060\n  - 127.0.0.1:5060\n",
                 "t.yaml:3:5: listen[1]: '127.0.0.1:5060' is not a listen URI (expected "
                 "udp://IP:PORT or tcp://IP:PORT)");
    expect_error("listen: [udp://127.0.0.1:0]\n",
                 "t.yaml:1:10: listen[0]: 'udp://127.0.0.1:0' has a bad port (expected 1..65535)");
    expect_error("listen: [udp://127.0.0.1:65536]\n",
                 "t.yaml:1:10: listen[0]: 'udp://127.0.0.1:65536' has a bad port (expected "
                 "1..65535)");
    expect_error("listen: [udp://127.0.0.1:50x]\n",
                 "t.yaml:1:10: listen[0]: 'udp://127.0.0.1:50x' has a bad port (expected "
                 "1..65535)");
    expect_error("listen: [udp://127.0.0.1]\n",
                 "t.yaml:1:10: listen[0]: 'udp://127.0.0.1' has no port (expected IP:PORT)");
    expect_error("listen: ['udp://[::1]']\n",
                 "t.yaml:1:10: listen[0]: 'udp://[::1]' has no port (expected [IPv6]:PORT)");
    expect_error("listen: ['udp://::1:5060']\n",
                 "t.yaml:1:10: listen[0]: 'udp://::1:5060' has an IPv6 address without "
                 "brackets (write [::1]:5060)");
    expect_error("listen: ['udp://[::g]:5060']\n",
                 "t.yaml:1:10: listen[0]: 'udp://[::g]:5060' has a bad IPv6 address");
    expect_error("listen: [udp://example.com:5060]\n",
                 "t.yaml:1:10: listen[0]: 'udp://example.com:5060' needs an IP address (host "
                 "names are not resolved at start-up)");
    expect_error("listen: [udp://:5060]\n",
                 "t.yaml:1:10: listen[0]: 'udp://:5060' has no IP address");
    expect_error("listen: []\n", "t.yaml:1:1: listen: at least one listen address is required");
    expect_error("listen: udp://127.0.0.1:5060\n",
                 "t.yaml:1:9: listen: expected a list of URIs such as udp://127.0.0.1:5060");
    expect_error("listen:\n  -\n",
                 "t.yaml:1:1: listen[0]: expected a URI such as udp://127.0.0.1:5060");
}

static void test_conf_listen_duplicates(void **state)
{
    (void)state;
    expect_error("listen:\n  - udp://127.0.0.1:5060\n  - tcp://127.0.0.1:5060\n"
                 "  - udp://127.0.0.1:5060\n",
                 "t.yaml:4:5: listen[2]: 'udp://127.0.0.1:5060' repeats listen[0] "
                 "'udp://127.0.0.1:5060'");
    /* the same address written differently is still the same socket */
    expect_error("listen: ['udp://[::1]:5060', 'UDP://[0:0::1]:5060']\n",
                 "t.yaml:1:30: listen[1]: 'UDP://[0:0::1]:5060' repeats listen[0] "
                 "'udp://[::1]:5060'");
}

static void test_conf_value_errors(void **state)
{
    (void)state;
    expect_error("limits:\n  max_headers: 5000\n",
                 "t.yaml:2:16: limits.max_headers: 5000 is above the maximum 1024");
    expect_error("limits: {max_message_size: 2M}\n",
                 "t.yaml:1:28: limits.max_message_size: 2M is above the maximum 1M");
    expect_error("workers: 65\n", "t.yaml:1:10: workers: 65 is above the maximum 64");
    expect_error("log: {level: verbose}\n", "t.yaml:1:14: log.level: 'verbose' is not one of: "
                                            "error, warn, notice, info, debug");
    expect_error("tcp: {idle_timeout: 0}\n",
                 "t.yaml:1:21: tcp.idle_timeout: 0 is below the minimum 1s");
    expect_error("server: {name: \"bad\\r\\nX-Injected: 1\"}\n",
                 "t.yaml:1:16: server.name: 'bad\\r\\nX-Injected: 1' must be printable ASCII (it "
                 "is sent in Server and User-Agent headers)");
    expect_error("server: {domains: [example.com, 'bad domain']}\n",
                 "t.yaml:1:33: server.domains[1]: 'bad domain' is not a host name or IP address");
    expect_error("server: {domains: ['-x.com']}\n",
                 "t.yaml:1:20: server.domains[0]: '-x.com' is not a host name or IP address");
    expect_error("store: mysql://x\n", "t.yaml:1:8: store: 'mysql://x' is not a store (use "
                                       "sqlite:PATH, redis://HOST:PORT or memory)");
    expect_error("udp:\n  btach: 4\n",
                 "t.yaml:2:3: udp.btach: unknown option (did you mean 'batch'?)");
}

static void test_conf_accepts_domains_and_other_stores(void **state)
{
    (void)state;
    struct conf c;
    assert_int_equal(load(&c, "server:\n  domains: [Example.COM, 192.0.2.1, '[2001:db8::1]', "
                              "'2001:db8::2', sip-1.example.org]\n"
                              "store: redis://127.0.0.1:6379\n"
                              "log: {level: debug, format: json, file: log/sw.log}\n"),
                     0);
    assert_int_equal(c.server.domains.count, 5);
    assert_string_equal(c.server.domains.items[0], "Example.COM");
    assert_string_equal(c.store, "redis://127.0.0.1:6379");
    assert_int_equal(c.log.level, CONF_LOG_DEBUG);
    assert_int_equal(c.log.format, CONF_LOG_JSON);
    assert_string_equal(c.log.file, "log/sw.log");
    conf_free(&c);
    assert_int_equal(load(&c, "store: memory\n"), 0);
    conf_free(&c);
}

/* Every error of a broken file names the file, a line and a column. */
static void test_conf_every_error_has_file_line_col(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "listen: [udp://1.2.3.4:99999]\n",
        "workers: -1\n",
        "workers: many\n",
        "server: [a]\n",
        "server:\n  name: ''\n",
        "log:\n  levle: debug\n",
        "limits:\n  max_via: 0\n",
        "udp:\n  rcvbuf: 1G\n",
        "tcp:\n  connect_timeout: 1d\n",
        "store: ''\n",
        "nonsense: 1\n",
        "listen: [\n",
        "a: b: c\n",
        "\t- x\n",
        "log: *nothing\n",
    };
    regex_t re;
    assert_int_equal(
        regcomp(&re, "^t\\.yaml:[0-9]+:[0-9]+: ([^ ]+|invalid YAML): .+$", REG_EXTENDED), 0);
    for (size_t i = 0; i < SW_ARRAY_LEN(bad); i++) {
        struct conf c;
        int rc = load(&c, bad[i]);
        if (rc == 0) {
            conf_free(&c);
            fail_msg("accepted: %s", bad[i]);
        }
        if (regexec(&re, err, 0, NULL, 0) != 0)
            fail_msg("input %zu: bad error line: %s", i, err);
        assert_null(strchr(err, '\n'));
    }
    regfree(&re);
}

static void test_conf_failure_leaves_output_untouched(void **state)
{
    (void)state;
    struct conf c, before;
    memset(&c, 0x77, sizeof(c));
    before = c;
    assert_int_equal(load(&c, "workers: 1000\n"), -EINVAL);
    assert_memory_equal(&c, &before, sizeof(c));
    assert_int_equal(conf_load(&c, "/nonexistent/sipwarden.yaml", err, sizeof(err)), -ENOENT);
    assert_string_equal(err, "/nonexistent/sipwarden.yaml: No such file or directory");
    assert_memory_equal(&c, &before, sizeof(c));
}

static void test_conf_relative_paths_follow_the_config_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/sw-conf-XXXXXX";
    char file[64], want[128];
    struct conf c;
    FILE *f;
    assert_non_null(mkdtemp(dir));
    snprintf(file, sizeof(file), "%s/sw.yaml", dir);
    f = fopen(file, "w");
    assert_non_null(f);
    fputs("log: {file: logs/sw.log}\nstore: sqlite:db/sw.db\n", f);
    fclose(f);
    assert_int_equal(conf_load(&c, file, err, sizeof(err)), 0);
    snprintf(want, sizeof(want), "%s/logs/sw.log", dir);
    assert_string_equal(c.log.file, want);
    snprintf(want, sizeof(want), "sqlite:%s/db/sw.db", dir);
    assert_string_equal(c.store, want);
    conf_free(&c);

    f = fopen(file, "w");
    assert_non_null(f);
    fputs("log: {file: /var/log/sw.log}\nstore: sqlite:/srv/sw.db\n", f);
    fclose(f);
    assert_int_equal(conf_load(&c, file, err, sizeof(err)), 0);
    assert_string_equal(c.log.file, "/var/log/sw.log");
    assert_string_equal(c.store, "sqlite:/srv/sw.db");
    conf_free(&c);
    unlink(file);
    rmdir(dir);
}

static void test_conf_resolve_path(void **state)
{
    (void)state;
    char *p;
    assert_int_equal(conf_resolve_path(&p, "etc", "x.db"), 0);
    assert_string_equal(p, "etc/x.db");
    free(p);
    assert_int_equal(conf_resolve_path(&p, "/", "x.db"), 0);
    assert_string_equal(p, "/x.db");
    free(p);
    assert_int_equal(conf_resolve_path(&p, "/etc/sw/", "../x.db"), 0);
    assert_string_equal(p, "/etc/sw/../x.db");
    free(p);
    assert_int_equal(conf_resolve_path(&p, "etc", "/abs/x.db"), 0);
    assert_string_equal(p, "/abs/x.db");
    free(p);
    assert_int_equal(conf_resolve_path(&p, NULL, "x.db"), 0);
    assert_string_equal(p, "x.db");
    free(p);
    assert_int_equal(conf_resolve_path(&p, "etc", ""), 0);
    assert_string_equal(p, "");
    free(p);
}

static void test_conf_reload_check_names_restart_options(void **state)
{
    (void)state;
    struct conf a, b;
    char key[64];
    assert_int_equal(load(&a, "log: {level: info}\n"), 0);
    assert_int_equal(load(&b, "log: {level: debug}\nserver: {name: edge}\n"), 0);
    assert_false(cfg_changed_fixed(conf_opts, &a, &b, key, sizeof(key)));
    conf_free(&b);
    /* limits are copied into the transport at start: a restart is needed */
    assert_int_equal(load(&b, "limits: {max_headers: 64}\n"), 0);
    assert_true(cfg_changed_fixed(conf_opts, &a, &b, key, sizeof(key)));
    assert_string_equal(key, "limits.max_headers");
    conf_free(&b);
    assert_int_equal(load(&b, "listen: [udp://127.0.0.1:5060, tcp://127.0.0.1:5080]\n"), 0);
    assert_true(cfg_changed_fixed(conf_opts, &a, &b, key, sizeof(key)));
    assert_string_equal(key, "listen");
    conf_free(&b);
    assert_int_equal(load(&b, "udp: {batch: 8}\n"), 0);
    assert_true(cfg_changed_fixed(conf_opts, &a, &b, key, sizeof(key)));
    assert_string_equal(key, "udp.batch");
    conf_free(&b);
    conf_free(&a);
}

static char *generated_reference(size_t *len)
{
    char *text = NULL;
    FILE *f = open_memstream(&text, len);
    assert_non_null(f);
    conf_write_reference(f);
    assert_int_equal(fclose(f), 0);
    return text;
}

static void reference_has_every_key(const char *text, const struct cfg_opt *table,
                                    const char *prefix)
{
    char want[160];
    for (const struct cfg_opt *o = table; o->key != NULL; o++) {
        if (o->type == CFG_T_SECTION) {
            char sub[128];
            snprintf(sub, sizeof(sub), "%s%s.", prefix, o->key);
            reference_has_every_key(text, o->sub, sub);
            continue;
        }
        assert_non_null(o->help);
        assert_true(strlen(o->help) > 20);
        snprintf(want, sizeof(want), "| `%s%s` |", prefix, o->key);
        if (strstr(text, want) == NULL)
            fail_msg("reference lacks %s", want);
    }
}

/*
 * docs/config.md is generated from the tables; this fails when the committed
 * copy is stale. SW_UPDATE_DOCS=1 rewrites it instead.
 */
static void test_conf_docs_config_md_is_up_to_date(void **state)
{
    (void)state;
    size_t len, have_len = 0;
    char *text = generated_reference(&len);
    char *have = NULL;
    FILE *f;

    reference_has_every_key(text, conf_opts, "");
    if (getenv("SW_UPDATE_DOCS") != NULL) {
        f = fopen(DOCS, "w");
        assert_non_null(f);
        assert_int_equal(fwrite(text, 1, len, f), len);
        assert_int_equal(fclose(f), 0);
    }
    f = fopen(DOCS, "r");
    if (f == NULL)
        fail_msg("%s is missing; run SW_UPDATE_DOCS=1 test_conf", DOCS);
    have = malloc(len + 2);
    assert_non_null(have);
    have_len = fread(have, 1, len + 1, f);
    fclose(f);
    if (have_len != len || memcmp(have, text, len) != 0)
        fail_msg("%s is stale: regenerate it with SW_UPDATE_DOCS=1 "
                 "build/<dir>/tests/unit/test_conf",
                 DOCS);
    free(have);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conf_shipped_file_loads),
        cmocka_unit_test(test_conf_defaults),
        cmocka_unit_test(test_conf_listen_ipv4_and_ipv6),
        cmocka_unit_test(test_conf_listen_errors),
        cmocka_unit_test(test_conf_listen_duplicates),
        cmocka_unit_test(test_conf_value_errors),
        cmocka_unit_test(test_conf_accepts_domains_and_other_stores),
        cmocka_unit_test(test_conf_every_error_has_file_line_col),
        cmocka_unit_test(test_conf_failure_leaves_output_untouched),
        cmocka_unit_test(test_conf_relative_paths_follow_the_config_file),
        cmocka_unit_test(test_conf_resolve_path),
        cmocka_unit_test(test_conf_reload_check_names_restart_options),
        cmocka_unit_test(test_conf_docs_config_md_is_up_to_date),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
