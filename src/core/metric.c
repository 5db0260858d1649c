/* SPDX-License-Identifier: BSD-2-Clause */
/* Per-worker counters summed on read. */
#include "core/metric.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <string.h>

#include "core/ev.h"
#include "core/log.h"

#define METRIC_CACHE_LINE 64

/*
 * One row per worker, each starting on its own cache line, so a worker's
 * increments never bounce a line another worker writes. Only the owning
 * worker writes its row (relaxed load + store, no lock prefix); readers
 * sum with relaxed loads and may see a value a few increments old.
 * Trade-off: METRIC_MAX_WORKERS x METRIC_MAX x 8 bytes (256 KiB) static,
 * mostly untouched pages.
 */
struct metric_row {
    _Alignas(METRIC_CACHE_LINE) _Atomic uint64_t v[METRIC_MAX];
};

static struct metric_row rows[METRIC_MAX_WORKERS + 1];

/* Written at start-up only (before workers), read-only afterwards. Id 0
 * is the reserved dummy: lookups that fail return it, writes to it are
 * harmless. */
static const char *names[METRIC_MAX] = {"(none)"};
static const char *helps[METRIC_MAX] = {""};
static size_t n_ids = 1;

metric_id metric_register(const char *name, const char *help)
{
    metric_id id = metric_find(name);
    if (id)
        return id;
    if (n_ids >= METRIC_MAX) {
        LOG_ERROR("metric", "too many counters (max %d), %s not registered", METRIC_MAX, name);
        return 0;
    }
    names[n_ids] = name;
    helps[n_ids] = help ? help : "";
    return (metric_id)n_ids++;
}

void metric_add(metric_id id, uint64_t n)
{
    if (SW_UNLIKELY(id >= METRIC_MAX))
        return;
    /* Workers beyond the table share rows: counts stay approximately
     * right (a rare lost update) rather than writing out of bounds. */
    unsigned w = ev_thread_slot() % (METRIC_MAX_WORKERS + 1);
    _Atomic uint64_t *slot = &rows[w].v[id];
    atomic_store_explicit(slot, atomic_load_explicit(slot, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

uint64_t metric_read(metric_id id)
{
    if (id >= METRIC_MAX)
        return 0;
    uint64_t sum = 0;
    for (unsigned w = 0; w < METRIC_MAX_WORKERS + 1; w++)
        sum += atomic_load_explicit(&rows[w].v[id], memory_order_relaxed);
    return sum;
}

metric_id metric_find(const char *name)
{
    if (!name)
        return 0;
    for (size_t i = 1; i < n_ids; i++)
        if (strcmp(names[i], name) == 0)
            return (metric_id)i;
    return 0;
}

size_t metric_count(void)
{
    return n_ids - 1;
}

const char *metric_name(metric_id id)
{
    return id < n_ids ? names[id] : NULL;
}

const char *metric_help(metric_id id)
{
    return id < n_ids ? helps[id] : NULL;
}

void metric_dump_log(void)
{
    for (size_t i = 1; i < n_ids; i++)
        LOG_NOTICE("metric", "%s %" PRIu64, names[i], metric_read((metric_id)i));
}
