/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Registration-scanning protection: failed authentications are counted
 * per source IP in a sliding window; a source over the limit is banned
 * for the ban time. The caller drops a banned source's packets silently
 * and counts them.
 *
 * Only source IPs are ever banned, never an account (AOR): a scanner
 * guessing alice's password from one address must not lock alice's own
 * phone out from another. Per-AOR counts exist for logging and alerts.
 *
 * Memory is bounded by security.ban_table_size whatever the sources do
 * (spoofed ones included): the table never grows; a full set evicts its
 * least failing, oldest entry, and active bans last.
 *
 * Threading: one table shared by all workers. ban_check is lock-free;
 * the other calls take one shard mutex. Time always comes from the caller
 * (monotonic ms), so tests drive a fake clock.
 */
#ifndef SW_SEC_BAN_H
#define SW_SEC_BAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/util.h"
#include "sec/acl.h"
#include "sec/sec_conf.h"

struct ban_table;

/*
 * Creates the table from the security: section (copied). 'trusted' is
 * borrowed (may be NULL) and must outlive the table; its sources are never
 * counted or banned. NULL on ENOMEM.
 */
struct ban_table *ban_new(const struct security_conf *c, const struct acl *trusted);
void ban_free(struct ban_table *t);

/* True if ip is banned at now_ms. Lock-free; cheap enough for every packet. */
bool ban_check(struct ban_table *t, const struct acl_ip *ip, uint64_t now_ms);

/*
 * Records one failed authentication of 'aor' (user@realm, may be empty)
 * from ip. Returns true if this failure got ip banned (logged at NOTICE,
 * rate-limited). Trusted sources are never banned.
 */
bool ban_auth_failure(struct ban_table *t, const struct acl_ip *ip, struct slice aor,
                      uint64_t now_ms);

/* Bans ip for duration_ms (flood detection, management API); reason is a
 * static string for the log. False for a trusted source. */
bool ban_add(struct ban_table *t, const struct acl_ip *ip, uint64_t duration_ms, const char *reason,
             uint64_t now_ms);
/* Lifts a ban and forgets the source's failures; false if not tracked. */
bool ban_remove(struct ban_table *t, const struct acl_ip *ip);

/* Sources tracked now (never more than ban_capacity). */
size_t ban_entry_count(struct ban_table *t);
size_t ban_capacity(const struct ban_table *t);
/* Failed authentications of aor within the window (0 if not tracked). */
unsigned ban_aor_failures(struct ban_table *t, struct slice aor, uint64_t now_ms);

#endif
