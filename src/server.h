/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The first transaction user: answers OPTIONS addressed to sipwarden
 * itself and rejects, with a well-formed response, every request it
 * cannot serve yet (RFC 3261 §8.2). Stray responses are dropped and
 * counted. The proxy, registrar and B2BUA replace the "cannot serve" part.
 */
#ifndef SW_SERVER_H
#define SW_SERVER_H

#include "conf.h"

struct server;

/* Opens every listener of conf (on the calling thread, so errors surface at
 * start-up). conf is borrowed for the call only: what the server needs is
 * copied. NULL on failure with a message in err. */
struct server *server_new(const struct conf *conf, char *err, size_t errlen);
/* Starts the workers. -errno on failure. */
int server_start(struct server *s) warn_unused_result;
/* Stops and joins the workers; idempotent. */
void server_stop(struct server *s);
void server_free(struct server *s);
/* Adopts the reloadable parts of a new configuration (server name, domains)
 * at each worker's next loop iteration: a refcounted snapshot is posted to
 * every worker, which swaps it in on its own thread (no lock on the
 * message path). next is borrowed for the call only. Settings that need
 * a restart are not looked at (main reports them). 0 or -ENOMEM. */
int server_reload(struct server *s, const struct conf *next) warn_unused_result;
/* Actual bound address of listener i ("udp://127.0.0.1:5060"). */
const char *server_listener_str(struct server *s, unsigned i, char *buf, size_t len);
size_t server_listener_count(const struct server *s);

#endif
