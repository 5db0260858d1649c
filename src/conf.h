/* SPDX-License-Identifier: BSD-2-Clause */
/* The sipwarden configuration: struct conf, its option tables and loading. */
#ifndef SW_CONF_H
#define SW_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "app/registrar/registrar.h"
#include "app/routing/route.h"
#include "sec/sec_conf.h"
#include "transport/dns.h"
#include "core/cfg.h"
#include "core/util.h"

enum conf_proto {
    CONF_PROTO_UDP = 0,
    CONF_PROTO_TCP,
};

/* One listen address, parsed from "udp://IP:PORT" or "tcp://[IPv6]:PORT". */
struct conf_listen {
    enum conf_proto proto;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char *uri; /* owned: the string as written in the file */
};

struct conf_listens {
    struct conf_listen *items; /* owned array */
    size_t count;
};

enum conf_log_level {
    CONF_LOG_ERROR = 0,
    CONF_LOG_WARN,
    CONF_LOG_NOTICE,
    CONF_LOG_INFO,
    CONF_LOG_DEBUG,
};

enum conf_log_format {
    CONF_LOG_TEXT = 0,
    CONF_LOG_JSON,
};

struct conf_server {
    char *name;                 /* owned; Server / User-Agent header value */
    struct cfg_strlist domains; /* host names or IPs that are "us" */
};

struct conf_log {
    int level;  /* enum conf_log_level */
    int format; /* enum conf_log_format */
    char *file; /* owned; resolved path, "" = stderr */
};

struct conf_limits {
    size_t max_message_size;
    unsigned int max_headers;
    unsigned int max_via;
};

struct conf_udp {
    unsigned int batch;
    size_t rcvbuf; /* 0 = kernel default */
    size_t sndbuf; /* 0 = kernel default */
};

struct conf_tcp {
    unsigned int max_connections;
    unsigned int max_connections_per_source;
    uint64_t idle_timeout_ms;
    uint64_t connect_timeout_ms;
};

/* RFC 3261 §16 proxy (src/app/proxy). */
enum conf_proxy_next {
    CONF_NEXT_UNAVAILABLE = 0, /* next q-group after 408, 503, transport errors */
    CONF_NEXT_FAILURE,         /* next q-group after any non-2xx, non-6xx final */
};

struct conf_proxy {
    bool record_route;
    bool stateless;
    /* "sip:IP[:PORT][;transport=udp|tcp][;q=0.5]" each; owned. Temporary
     * routing until the route table lands: where requests with no route
     * go (same q: parallel, higher q first). */
    struct cfg_strlist default_target;
    int next; /* enum conf_proxy_next */
    uint64_t timer_c_ms;
    unsigned int max_branches;
};

/* RFC 3261 §17 transaction timers (src/txn). */
struct conf_txn {
    uint64_t t1_ms;
    uint64_t t2_ms;
    uint64_t t4_ms;
    unsigned int max_transactions; /* per worker */
};

/*
 * A whole loaded configuration. Owned by whoever called conf_load; read-only
 * once loaded (a reload loads a new one beside it). Any thread may read it.
 */
struct conf {
    char *path; /* owned: the file it was loaded from */
    struct conf_listens listen;
    unsigned int workers; /* 0 = one per online CPU */
    struct conf_server server;
    struct conf_log log;
    struct conf_limits limits;
    struct conf_udp udp;
    struct conf_tcp tcp;
    struct conf_proxy proxy;
    struct conf_txn txn;
    struct dns_config dns;           /* RFC 3263 next-hop resolution (transport/dns.h) */
    struct cfg_list routes;          /* of struct route_conf (app/routing/route.h) */
    struct route_conf default_route; /* what no route matches */
    struct cfg_list dispatchers;     /* map of struct disp_set_conf */
    char *store;                     /* owned: "sqlite:PATH" (PATH resolved) or another URL */
    struct store_config store_options;
    struct reg_config registrar;
    struct auth_conf auth; /* users path resolved */
    struct security_conf security;
};

/* The option table of struct conf (top level). */
extern const struct cfg_opt conf_opts[];

/*
 * Loads the YAML file at 'path' into 'out'. On failure writes exactly one
 * line "file:line:col: key.path: what is wrong" (or "file: reason" when the
 * file cannot be read) into 'err', leaves 'out' untouched and returns a
 * negative errno (-EINVAL for a bad config). Relative paths in the file
 * (log.file, a sqlite: store) are resolved against the file's directory.
 */
int conf_load(struct conf *out, const char *path, char *err, size_t errlen) warn_unused_result;

/*
 * As conf_load, from 'len' bytes of YAML in memory; 'name' is used in
 * errors and, when 'base_dir' is not NULL, relative paths are resolved
 * against it (fuzzing and tests pass NULL to keep paths as written).
 */
int conf_load_buf(struct conf *out, const char *yaml, size_t len, const char *name,
                  const char *base_dir, char *err, size_t errlen) warn_unused_result;

/* Releases what conf_load stored; 'c' may then be loaded again. */
void conf_free(struct conf *c);

/*
 * Stores in *out (malloc'd) 'path' resolved against 'base_dir': absolute
 * paths, "" and a NULL base_dir give a copy of 'path'. Returns 0 or -ENOMEM.
 */
int conf_resolve_path(char **out, const char *base_dir, const char *path) warn_unused_result;

/* Writes docs/config.md: the Markdown reference generated from conf_opts. */
void conf_write_reference(FILE *f);

/* Name of a protocol ("udp") and of a log level ("notice"). */
const char *conf_proto_name(enum conf_proto p);
const char *conf_log_level_name(int level);

#endif
