/* SPDX-License-Identifier: BSD-2-Clause */
/* Private to src/app/registrar. */
#ifndef SW_APP_REGISTRAR_REG_INT_H
#define SW_APP_REGISTRAR_REG_INT_H

#include "app/registrar/registrar.h"

#include "core/htab.h"
#include "core/tmr.h"

/* Owner: see registrar.h. */
struct registrar {
    struct reg_config cfg;
    struct store *store; /* borrowed */
    reg_auth_fn *auth;
    void *auth_arg; /* borrowed */
    reg_clock_fn *clock;
    void *clock_arg; /* borrowed */
    /* NAT keepalive: touched only on ka_loop's thread (keepalive.c). */
    struct tmr ka_timer;
    struct ev_loop *ka_loop; /* borrowed; NULL: not started */
    reg_ping_send_fn *ka_send;
    void *ka_send_arg;     /* borrowed */
    unsigned ka_cursor;    /* next store shard */
    unsigned ka_inflight;  /* pings awaiting done */
    struct htab *ka_fails; /* owned: failure counts (max_failures != 0) */
};

/* Contact URI text -> the key under which §10.3 step 7 compares bindings.
 * Returns the length or -EMSGSIZE. */
int reg_match_key(char *out, size_t cap, const struct sip_nameaddr *na);
/* q-value "0.5" -> 500 (RFC 3261 §20.10, qvalue of §25.1); -EINVAL. */
int reg_parse_q(uint16_t *out, struct slice s);

#endif
