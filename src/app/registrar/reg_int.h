/* SPDX-License-Identifier: BSD-2-Clause */
/* Private to src/app/registrar. */
#ifndef SW_APP_REGISTRAR_REG_INT_H
#define SW_APP_REGISTRAR_REG_INT_H

#include "app/registrar/registrar.h"

/* Owner: see registrar.h. */
struct registrar {
    struct reg_config cfg;
    struct store *store; /* borrowed */
    reg_auth_fn *auth;
    void *auth_arg; /* borrowed */
    reg_clock_fn *clock;
    void *clock_arg; /* borrowed */
};

/* Contact URI text -> the key under which §10.3 step 7 compares bindings.
 * Returns the length or -EMSGSIZE. */
int reg_match_key(char *out, size_t cap, const struct sip_nameaddr *na);
/* q-value "0.5" -> 500 (RFC 3261 §20.10, qvalue of §25.1); -EINVAL. */
int reg_parse_q(uint16_t *out, struct slice s);

#endif
