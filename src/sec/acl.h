/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * IP addresses and CIDR lists for trusted peers and ban keys. Addresses
 * are held as 16 bytes: IPv6, or IPv4 mapped to ::ffff:a.b.c.d, so one
 * key type serves both families. An acl is immutable after acl_new and
 * may be read by any thread.
 */
#ifndef SW_SEC_ACL_H
#define SW_SEC_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/util.h"

struct acl_ip {
    uint8_t b[16];
};

#define ACL_IP_STRLEN 46 /* INET6_ADDRSTRLEN */

/* From an AF_INET or AF_INET6 sockaddr; -EAFNOSUPPORT otherwise. */
int acl_ip_from_sockaddr(struct acl_ip *out, const struct sockaddr *sa) warn_unused_result;
/* Parses "192.0.2.1" or "2001:db8::1"; -EINVAL otherwise. */
int acl_ip_parse(struct acl_ip *out, const char *s) warn_unused_result;
/* Prints the address (IPv4-mapped ones as dotted quads). */
void acl_ip_format(const struct acl_ip *ip, char out[ACL_IP_STRLEN]);

/* A list of networks. Owner: whoever called acl_new. */
struct acl;

/* Parses "a.b.c.d/n", "x::/n" or a bare address (host route) per item.
 * Returns NULL with errno EINVAL (err names the item) or ENOMEM. */
struct acl *acl_new(char *const *items, size_t count, char *err, size_t errlen);
void acl_free(struct acl *acl);
/* True if ip is inside any network of acl (false for a NULL acl). */
bool acl_match(const struct acl *acl, const struct acl_ip *ip);
/* Config check for one CIDR string: NULL if valid, else a static reason. */
const char *acl_cidr_check(const char *s, size_t len);

#endif
