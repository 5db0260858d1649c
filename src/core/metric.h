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
/* Adds to the calling thread's slot (worker from ev_thread_worker()). */
void metric_add(metric_id id, uint64_t n);
static inline void metric_inc(metric_id id)
{
    metric_add(id, 1);
}
/* Sum over all workers. */
uint64_t metric_read(metric_id id);
/* Looks a counter up by name; 0 if the name is unknown... and id 0 is a
 * reserved dummy counter, so callers can test for it. */
metric_id metric_find(const char *name);
size_t metric_count(void);
const char *metric_name(metric_id id);
/* Writes "name value\n" lines for all counters to fd (SIGUSR1 dump). */
void metric_dump_log(void);

#endif
