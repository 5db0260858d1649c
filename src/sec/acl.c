/* SPDX-License-Identifier: BSD-2-Clause */
/* CIDR matching of IPv4 and IPv6 addresses (a linear list: trusted peer
 * lists are short; a prefix trie would pay only for thousands of entries). */
#include "sec/acl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct acl_net {
    struct acl_ip net; /* masked */
    unsigned prefix;   /* 0..128, in the 16-byte form */
};

/* Owner: creator; immutable. */
struct acl {
    struct acl_net *nets; /* owned */
    size_t count;
};

static const uint8_t v4_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static void map_v4(struct acl_ip *out, const void *v4)
{
    memcpy(out->b, v4_prefix, 12);
    memcpy(out->b + 12, v4, 4);
}

int acl_ip_from_sockaddr(struct acl_ip *out, const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;
        map_v4(out, &s4->sin_addr);
        return 0;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;
        memcpy(out->b, &s6->sin6_addr, 16);
        return 0;
    }
    return -EAFNOSUPPORT;
}

int acl_ip_parse(struct acl_ip *out, const char *s)
{
    uint8_t v4[4];
    if (inet_pton(AF_INET, s, v4) == 1) {
        map_v4(out, v4);
        return 0;
    }
    if (inet_pton(AF_INET6, s, out->b) == 1)
        return 0;
    return -EINVAL;
}

void acl_ip_format(const struct acl_ip *ip, char out[ACL_IP_STRLEN])
{
    if (memcmp(ip->b, v4_prefix, 12) == 0)
        inet_ntop(AF_INET, ip->b + 12, out, ACL_IP_STRLEN);
    else
        inet_ntop(AF_INET6, ip->b, out, ACL_IP_STRLEN);
}

static void mask(struct acl_ip *ip, unsigned prefix)
{
    for (unsigned i = 0; i < 16; i++) {
        unsigned bits = prefix > 8 * i ? SW_MIN(prefix - 8 * i, 8u) : 0;
        ip->b[i] &= (uint8_t)(bits ? 0xff << (8 - bits) : 0);
    }
}

static int parse_cidr(struct acl_net *n, const char *s, size_t len)
{
    char buf[64];
    const char *slash;
    unsigned long prefix;
    if (len == 0 || len >= sizeof(buf))
        return -EINVAL;
    memcpy(buf, s, len);
    buf[len] = '\0';
    slash = strchr(buf, '/');
    if (slash)
        buf[slash - buf] = '\0';
    bool is_v4 = strchr(buf, ':') == NULL;
    if (acl_ip_parse(&n->net, buf) < 0)
        return -EINVAL;
    prefix = 128;
    if (slash) {
        char *end;
        if (slash[1] < '0' || slash[1] > '9')
            return -EINVAL;
        prefix = strtoul(slash + 1, &end, 10);
        if (*end || prefix > (is_v4 ? 32u : 128u))
            return -EINVAL;
        if (is_v4)
            prefix += 96;
    }
    n->prefix = (unsigned)prefix;
    mask(&n->net, n->prefix);
    return 0;
}

const char *acl_cidr_check(const char *s, size_t len)
{
    struct acl_net n;
    return parse_cidr(&n, s, len) < 0 ? "expected an address or CIDR (192.0.2.0/24, 2001:db8::/32)"
                                      : NULL;
}

struct acl *acl_new(char *const *items, size_t count, char *err, size_t errlen)
{
    struct acl *acl = calloc(1, sizeof(*acl));
    if (!acl || (count && !(acl->nets = calloc(count, sizeof(*acl->nets))))) {
        free(acl);
        errno = ENOMEM;
        return NULL;
    }
    for (size_t i = 0; i < count; i++) {
        if (parse_cidr(&acl->nets[i], items[i], strlen(items[i])) < 0) {
            if (errlen)
                snprintf(err, errlen, "'%s' is not an address or CIDR", items[i]);
            acl_free(acl);
            errno = EINVAL;
            return NULL;
        }
    }
    acl->count = count;
    return acl;
}

void acl_free(struct acl *acl)
{
    if (!acl)
        return;
    free(acl->nets);
    free(acl);
}

bool acl_match(const struct acl *acl, const struct acl_ip *ip)
{
    if (!acl)
        return false;
    for (size_t i = 0; i < acl->count; i++) {
        struct acl_ip m = *ip;
        mask(&m, acl->nets[i].prefix);
        if (memcmp(m.b, acl->nets[i].net.b, 16) == 0)
            return true;
    }
    return false;
}
