/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Counters: each worker increments its own cache-line-separated slot with
 * a relaxed store (no atomic RMW, no sharing); readers sum all slots.
 * Counters are registered at start-up, before workers start.
 */
#ifndef SW_CORE_METRIC_H
#define SW_CORE_METRIC_H

#include <stddef.h>
#include <stdint.h>

#define METRIC_MAX 512
#define METRIC_MAX_WORKERS 64

typedef uint32_t metric_id;

/* Registers a counter; name is a static string ("sip_rx_total{transport=udp}").
 * Not thread-safe (start-up only). Returns the same id for the same name. */
metric_id metric_register(const char *name, const char *help);
/* Adds to the calling thread's slot (ev_thread_slot(): 0 for threads that
 * are not workers, worker id + 1 for workers). Each slot must be written
 * by one thread at a time; slots wrap modulo METRIC_MAX_WORKERS + 1, and
 * sharing one loses updates, nothing worse. */
void metric_add(metric_id id, uint64_t n);
static inline void metric_inc(metric_id id)
{
    metric_add(id, 1);
}
/* Sum over all workers. */
uint64_t metric_read(metric_id id);
/* Looks a counter up by name; 0 if the name is unknown... and id 0 is a
 * reserved dummy counter, so callers can test for it. metric_register
 * also returns 0 when all METRIC_MAX ids are taken (logged). */
metric_id metric_find(const char *name);
/* Number of registered counters, the dummy not included: valid ids are
 * 1 .. metric_count(). */
size_t metric_count(void);
/* Name / help text given at registration; NULL for an unused id
 * ("(none)" / "" for the dummy id 0). metric_help was added to the
 * original header (Prometheus # HELP lines). */
const char *metric_name(metric_id id);
const char *metric_help(metric_id id);
/* Logs one "name value" record per counter at NOTICE through core/log
 * (SIGUSR1 dump); nothing shows when the log level is below notice. */
void metric_dump_log(void);

#endif
