/* SPDX-License-Identifier: BSD-2-Clause */
/* Option tables of the auth: and security: config sections (core/cfg.h). */
#ifndef SW_SEC_SEC_CONF_H
#define SW_SEC_SEC_CONF_H

#include <stdint.h>

#include "core/cfg.h"
#include "sec/auth.h"

/* security.auth_failures */
struct sec_auth_failures {
    unsigned int max;   /* failures per source within window before a ban */
    uint64_t window_ms; /* sliding window */
    uint64_t ban_ms;    /* ban duration */
};

/* security: */
struct security_conf {
    struct sec_auth_failures auth_failures;
    unsigned int ban_table_size; /* tracked sources (and AORs / 4) */
    struct cfg_strlist scanners; /* User-Agent substrings, case-insensitive */
    struct cfg_strlist trusted;  /* CIDRs never banned */
};

/* Table for struct auth_conf (sec/auth.h), the auth: section. */
extern const struct cfg_opt auth_cfg_opts[];
/* Table for struct security_conf, the security: section. */
extern const struct cfg_opt security_cfg_opts[];

#endif
