/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The kernel floor of a UDP proxy: a relay that does the system calls
 * sipwarden's worker does per datagram (epoll_wait, recvmmsg, sendmmsg)
 * and no SIP processing at all. What comes from the callee goes to the
 * last caller address seen, anything else goes to the callee. Under the
 * stateless bench scenario (sipp UAC -> relay -> sipp UAS; sipp answers
 * to the source address) it carries the same 12 datagrams per call as a
 * stateless proxy, so its CPU per call is what no proxy on this loop
 * design can go below. See bench/README.md ("How close to the floor").
 *
 *   udp-relay PORT CALLEE_PORT      (both on 127.0.0.1; runs until killed)
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#define BATCH 32
#define SLOT 65536

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: udp-relay PORT CALLEE_PORT\n");
        return 2;
    }
    struct sockaddr_in me = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
    struct sockaddr_in callee = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
    struct sockaddr_in caller = {0};
    inet_pton(AF_INET, "127.0.0.1", &me.sin_addr);
    inet_pton(AF_INET, "127.0.0.1", &callee.sin_addr);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    int sz = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
    if (fd < 0 || bind(fd, (struct sockaddr *)&me, sizeof(me)) != 0) {
        perror("udp-relay: bind");
        return 1;
    }
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
        perror("udp-relay: epoll");
        return 1;
    }
    static char buf[BATCH][SLOT];
    static struct mmsghdr rx[BATCH], tx[BATCH];
    static struct iovec iov[BATCH], txiov[BATCH];
    static struct sockaddr_in from[BATCH], to[BATCH];
    for (;;) {
        struct epoll_event out;
        if (epoll_wait(ep, &out, 1, -1) < 0)
            continue;
        for (int i = 0; i < BATCH; i++) {
            iov[i] = (struct iovec){buf[i], SLOT};
            rx[i].msg_hdr = (struct msghdr){.msg_name = &from[i],
                                            .msg_namelen = sizeof(from[i]),
                                            .msg_iov = &iov[i],
                                            .msg_iovlen = 1};
        }
        int n = recvmmsg(fd, rx, BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0)
            continue;
        int k = 0;
        for (int i = 0; i < n; i++) {
            bool from_callee = from[i].sin_port == callee.sin_port;
            if (!from_callee)
                caller = from[i];
            if (from_callee && caller.sin_port == 0)
                continue;
            to[k] = from_callee ? caller : callee;
            txiov[k] = (struct iovec){buf[i], rx[i].msg_len};
            tx[k].msg_hdr = (struct msghdr){.msg_name = &to[k],
                                            .msg_namelen = sizeof(to[k]),
                                            .msg_iov = &txiov[k],
                                            .msg_iovlen = 1};
            k++;
        }
        if (k > 0)
            (void)sendmmsg(fd, tx, (unsigned)k, MSG_DONTWAIT);
    }
}
