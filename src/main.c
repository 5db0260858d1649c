/* SPDX-License-Identifier: BSD-2-Clause */
/* Start-up, signals, reload and shutdown of the sipwarden daemon. */
#include "conf.h"
#include "server.h"

#include "core/htab.h"
#include "core/log.h"
#include "core/metric.h"
#include "sec/auth.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SW_VERSION "0.1.0"
#define EXIT_CONFIG 2

static void usage(FILE *f)
{
    fprintf(f, "usage: sipwarden -c FILE          run with the configuration in FILE\n"
               "       sipwarden --check-config FILE   validate FILE and exit (0 ok, 2 bad)\n"
               "       sipwarden --config-reference    print the configuration reference\n"
               "       sipwarden passwd --file FILE --realm REALM USER PASSWORD\n"
               "                                        add or replace USER's digest hashes\n"
               "       sipwarden --version\n");
}

/* `sipwarden passwd`: writes HA1 hashes for every supported algorithm
 * (RFC 7616 / RFC 8760) into a users file, keeping the other users. The
 * password itself is never stored. */
static int cmd_passwd(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"file", required_argument, NULL, 'f'},
        {"realm", required_argument, NULL, 'r'},
        {NULL, 0, NULL, 0},
    };
    const char *file = NULL, *realm = NULL;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "f:r:", longopts, NULL)) != -1) {
        if (opt == 'f')
            file = optarg;
        else if (opt == 'r')
            realm = optarg;
        else
            goto bad;
    }
    if (file == NULL || realm == NULL || argc - optind != 2)
        goto bad;
    int rc = auth_users_passwd(file, realm, argv[optind], argv[optind + 1]);
    if (rc != 0) {
        if (rc != -EINVAL)
            fprintf(stderr, "%s: %s\n", file, strerror(-rc));
        return EXIT_CONFIG;
    }
    printf("%s: %s@%s written\n", file, argv[optind], realm);
    return 0;
bad:
    usage(stderr);
    return EXIT_CONFIG;
}

static int open_log(const struct conf *c)
{
    if (c->log.file == NULL || c->log.file[0] == '\0')
        return STDERR_FILENO;
    int fd = open(c->log.file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0)
        fprintf(stderr, "%s: log.file %s: %s\n", c->path, c->log.file, strerror(errno));
    return fd;
}

/* The conf enum mirrors log.h's order (error..debug). */
static void apply_log(const struct conf *c, int fd)
{
    log_configure((enum log_level)c->log.level,
                  c->log.format == CONF_LOG_JSON ? LOG_FMT_JSON : LOG_FMT_TEXT, fd);
}

/* SIGHUP: build a whole new snapshot beside the old one and adopt it only
 * if it loaded; settings that need new sockets or threads are reported. */
static void reload(struct server *srv, struct conf **cur, int *log_fd)
{
    struct conf *next = calloc(1, sizeof(*next));
    char err[512];
    if (next == NULL) {
        LOG_ERROR("main", "reload: out of memory");
        return;
    }
    if (conf_load(next, (*cur)->path, err, sizeof(err)) != 0) {
        LOG_ERROR("main", "reload failed, keeping the running configuration: %s", err);
        free(next);
        return;
    }
    char key[128];
    if (cfg_changed_fixed(conf_opts, *cur, next, key, sizeof(key)))
        LOG_WARN("main", "reload: %s changed; that takes effect only after a restart", key);
    if (server_reload(srv, next) != 0) {
        LOG_ERROR("main", "reload: out of memory, keeping the running configuration");
        conf_free(next);
        free(next);
        return;
    }
    int fd = open_log(next);
    if (fd >= 0) {
        apply_log(next, fd);
        if (*log_fd != STDERR_FILENO && *log_fd != fd)
            close(*log_fd);
        *log_fd = fd;
    }
    conf_free(*cur);
    free(*cur);
    *cur = next;
    LOG_NOTICE("main", "reload: configuration re-read from %s", next->path);
}

/*
 * glibc gives each thread that allocates its own arena, and a thread
 * arena grows one mprotect() and one page fault at a time and cannot
 * reuse what the main thread freed at start-up (the parsed config and
 * users file). One arena per four workers (at least one) keeps the
 * per-thread tcache for the hot small sizes and measured better with 1
 * and 2 workers: bench/load rr and reg-auth, 1,000/s, 4-28% less CPU,
 * page faults per 8,000 reg-auth pairs 4,824 -> 155 (bench/README.md).
 * MALLOC_ARENA_MAX or GLIBC_TUNABLES in the environment win.
 */
static void tune_malloc(const struct conf *c)
{
    if (getenv("MALLOC_ARENA_MAX") != NULL || getenv("GLIBC_TUNABLES") != NULL)
        return;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned w = c->workers ? c->workers : (cpus > 0 ? (unsigned)cpus : 1u);
    (void)mallopt(M_ARENA_MAX, (int)((w + 3) / 4));
}

static int run(const char *path)
{
    struct conf *conf = calloc(1, sizeof(*conf));
    char err[512];
    if (conf == NULL)
        return 1;
    if (conf_load(conf, path, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        free(conf);
        return EXIT_CONFIG;
    }
    int log_fd = open_log(conf);
    if (log_fd < 0) {
        conf_free(conf);
        free(conf);
        return EXIT_CONFIG;
    }
    apply_log(conf, log_fd);
    htab_seed_random();
    tune_malloc(conf);

    /* Block the signals we handle before any thread exists, so workers
     * inherit the mask and only sigwait() below ever sees them. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    int rc = 1;
    struct server *srv = server_new(conf, err, sizeof(err));
    if (srv == NULL) {
        LOG_ERROR("main", "start-up failed: %s", err);
        goto out;
    }
    /* Parsing the config and users file (libfyaml) leaves megabytes of
     * freed memory: hand the pages back before the workers start
     * (10,000 users: 35 MB of RSS at rest without this, 10 MB with it). */
    (void)malloc_trim(0);
    if (server_start(srv) != 0) {
        LOG_ERROR("main", "start-up failed: cannot start workers");
        goto out;
    }
    for (size_t i = 0; i < server_listener_count(srv); i++) {
        char a[96];
        LOG_NOTICE("main", "listening on %s", server_listener_str(srv, (unsigned)i, a, sizeof(a)));
    }
    LOG_NOTICE("main", "sipwarden %s started with config %s", SW_VERSION, conf->path);

    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGTERM || sig == SIGINT) {
            LOG_NOTICE("main", "signal %d: shutting down", sig);
            break;
        }
        if (sig == SIGHUP)
            reload(srv, &conf, &log_fd);
        else if (sig == SIGUSR1)
            metric_dump_log();
    }
    server_stop(srv);
    rc = 0;
    LOG_NOTICE("main", "stopped");
out:
    server_free(srv);
    conf_free(conf);
    free(conf);
    if (log_fd != STDERR_FILENO)
        close(log_fd);
    return rc;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check-config", required_argument, NULL, 'C'},
        {"config-reference", no_argument, NULL, 'R'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL;
    int opt;
    if (argc > 1 && strcmp(argv[1], "passwd") == 0)
        return cmd_passwd(argc - 1, argv + 1);
    while ((opt = getopt_long(argc, argv, "c:hV", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            config = optarg;
            break;
        case 'C': {
            struct conf c;
            char err[512];
            if (conf_load(&c, optarg, err, sizeof(err)) != 0) {
                fprintf(stderr, "%s\n", err);
                return EXIT_CONFIG;
            }
            conf_free(&c);
            printf("%s: configuration is valid\n", optarg);
            return 0;
        }
        case 'R':
            conf_write_reference(stdout);
            return 0;
        case 'V':
            printf("sipwarden %s\n", SW_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return EXIT_CONFIG;
        }
    }
    if (config == NULL || optind != argc) {
        usage(stderr);
        return EXIT_CONFIG;
    }
    return run(config);
}
