/* SPDX-License-Identifier: BSD-2-Clause */
/* Socket address helpers: numeric parsing, printing, comparison, hashing. */
#include "transport/tp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/htab.h"

static int parse_ip(struct tp_addr *out, const char *ip, size_t len, uint16_t port)
{
    char tmp[INET6_ADDRSTRLEN + 1];
    struct tp_addr a;

    if (len >= 2 && ip[0] == '[' && ip[len - 1] == ']') {
        ip++;
        len -= 2;
        if (len == 0 || len >= sizeof(tmp) || memchr(ip, ':', len) == NULL)
            return -EINVAL;
    }
    if (len == 0 || len >= sizeof(tmp))
        return -EINVAL;
    memcpy(tmp, ip, len);
    tmp[len] = '\0';
    memset(&a, 0, sizeof(a));
    if (inet_pton(AF_INET, tmp, &a.u.sin.sin_addr) == 1) {
        a.u.sin.sin_family = AF_INET;
        a.u.sin.sin_port = htons(port);
        a.len = sizeof(a.u.sin);
    } else if (inet_pton(AF_INET6, tmp, &a.u.sin6.sin6_addr) == 1) {
        a.u.sin6.sin6_family = AF_INET6;
        a.u.sin6.sin6_port = htons(port);
        a.len = sizeof(a.u.sin6);
    } else {
        return -EINVAL;
    }
    *out = a;
    return 0;
}

int tp_addr_from_ip(struct tp_addr *out, struct slice ip, uint16_t port)
{
    return parse_ip(out, ip.p, ip.len, port);
}

int tp_addr_parse(struct tp_addr *out, struct slice s, uint16_t default_port)
{
    const char *p = s.p;
    size_t len = s.len;
    size_t host_len = len;
    uint64_t port = default_port;

    if (len == 0)
        return -EINVAL;
    if (p[0] == '[') {
        const char *end = memchr(p, ']', len);
        if (end == NULL)
            return -EINVAL;
        host_len = (size_t)(end - p) + 1;
        if (host_len < len) {
            if (p[host_len] != ':')
                return -EINVAL;
            if (slice_to_u64(&port, slice_make(p + host_len + 1, len - host_len - 1), 65535) < 0)
                return -EINVAL;
        }
    } else {
        const char *colon = memchr(p, ':', len);
        /* exactly one colon: IPv4 with a port; more: a bare IPv6 */
        if (colon != NULL && memchr(colon + 1, ':', len - (size_t)(colon - p) - 1) == NULL) {
            host_len = (size_t)(colon - p);
            if (slice_to_u64(&port, slice_make(colon + 1, len - host_len - 1), 65535) < 0)
                return -EINVAL;
        }
    }
    return parse_ip(out, p, host_len, (uint16_t)port);
}

const char *tp_addr_ip_str(const struct tp_addr *a, char *buf, size_t len)
{
    char tmp[INET6_ADDRSTRLEN];
    const char *r = NULL;

    if (a->len && a->u.sa.sa_family == AF_INET)
        r = inet_ntop(AF_INET, &a->u.sin.sin_addr, tmp, sizeof(tmp));
    else if (a->len && a->u.sa.sa_family == AF_INET6)
        r = inet_ntop(AF_INET6, &a->u.sin6.sin6_addr, tmp, sizeof(tmp));
    if (len)
        snprintf(buf, len, "%s", r ? tmp : "?");
    return buf;
}

const char *tp_addr_str(const struct tp_addr *a, char *buf, size_t len)
{
    char ip[INET6_ADDRSTRLEN];

    tp_addr_ip_str(a, ip, sizeof(ip));
    if (len == 0)
        return buf;
    if (a->len && a->u.sa.sa_family == AF_INET6)
        snprintf(buf, len, "[%s]:%u", ip, (unsigned)tp_addr_port(a));
    else
        snprintf(buf, len, "%s:%u", ip, (unsigned)tp_addr_port(a));
    return buf;
}

uint16_t tp_addr_port(const struct tp_addr *a)
{
    if (a->len == 0)
        return 0;
    if (a->u.sa.sa_family == AF_INET6)
        return ntohs(a->u.sin6.sin6_port);
    return ntohs(a->u.sin.sin_port);
}

void tp_addr_set_port(struct tp_addr *a, uint16_t port)
{
    if (a->u.sa.sa_family == AF_INET6)
        a->u.sin6.sin6_port = htons(port);
    else
        a->u.sin.sin_port = htons(port);
}

int tp_addr_family(const struct tp_addr *a)
{
    return a->len ? a->u.sa.sa_family : AF_UNSPEC;
}

bool tp_addr_ip_eq(const struct tp_addr *a, const struct tp_addr *b)
{
    if (tp_addr_family(a) != tp_addr_family(b))
        return false;
    if (tp_addr_family(a) == AF_INET)
        return a->u.sin.sin_addr.s_addr == b->u.sin.sin_addr.s_addr;
    if (tp_addr_family(a) == AF_INET6)
        return memcmp(&a->u.sin6.sin6_addr, &b->u.sin6.sin6_addr, 16) == 0;
    return true;
}

bool tp_addr_eq(const struct tp_addr *a, const struct tp_addr *b)
{
    return tp_addr_ip_eq(a, b) && tp_addr_port(a) == tp_addr_port(b);
}

bool tp_addr_is_any(const struct tp_addr *a)
{
    if (tp_addr_family(a) == AF_INET)
        return a->u.sin.sin_addr.s_addr == htonl(INADDR_ANY);
    if (tp_addr_family(a) == AF_INET6)
        return IN6_IS_ADDR_UNSPECIFIED(&a->u.sin6.sin6_addr);
    return false;
}

uint64_t tp_addr_hash(const struct tp_addr *a)
{
    uint8_t key[19] = {0};
    size_t n = 3;
    uint16_t port = tp_addr_port(a);

    key[0] = (uint8_t)tp_addr_family(a);
    key[1] = (uint8_t)(port >> 8);
    key[2] = (uint8_t)port;
    if (key[0] == AF_INET) {
        memcpy(key + 3, &a->u.sin.sin_addr, 4);
        n += 4;
    } else if (key[0] == AF_INET6) {
        memcpy(key + 3, &a->u.sin6.sin6_addr, 16);
        n += 16;
    }
    return htab_hash(key, n);
}

const char *tp_proto_name(enum tp_proto p)
{
    return p == TP_TCP ? "tcp" : "udp";
}
