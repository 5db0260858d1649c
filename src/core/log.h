/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Levelled logging to stderr or a file, as text or as JSON lines.
 * Thread-safe: each record is written with one write(2).
 * Failures caused by peers must go through LOG_RL (rate limited: one line
 * per interval with a count), never one line per packet.
 */
#ifndef SW_CORE_LOG_H
#define SW_CORE_LOG_H

#include "core/util.h"

#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_NOTICE, LOG_LVL_INFO, LOG_LVL_DEBUG };
enum log_format { LOG_FMT_TEXT, LOG_FMT_JSON };

/* Not thread-safe: call at start-up or reload from the main thread. */
void log_configure(enum log_level level, enum log_format fmt, int fd);
bool log_enabled(enum log_level level);
/* Parses "error", "warn", ... ; -EINVAL if unknown. */
int log_level_parse(enum log_level *out, const char *name) warn_unused_result;
const char *log_level_name(enum log_level level);

/* Records longer than about 4 KiB of message are cut and end in "...".
 * Text records escape control characters (one line per record); JSON
 * records escape per RFC 8259 and replace invalid UTF-8 with U+FFFD.
 * log_write checks the level itself too. */
void log_write(enum log_level level, const char *module, const char *fmt, ...) SW_PRINTF(3, 4);

/* Rate limiter state: one static per call site. log_write_rl prints at
 * most one record per interval_ms per state; the first one after a quiet
 * spell ends in " (N similar suppressed)" when calls were dropped. */
struct log_rl {
    _Atomic uint64_t last_ms;
    _Atomic uint64_t suppressed;
};
void log_write_rl(struct log_rl *rl, uint64_t interval_ms, enum log_level level, const char *module,
                  const char *fmt, ...) SW_PRINTF(5, 6);

#define LOG_MODULE_DEFAULT "sipwarden"
#define LOG_(lvl, mod, ...)                                                                        \
    do {                                                                                           \
        if (log_enabled(lvl))                                                                      \
            log_write(lvl, mod, __VA_ARGS__);                                                      \
    } while (0)
#define LOG_ERROR(mod, ...) LOG_(LOG_LVL_ERROR, mod, __VA_ARGS__)
#define LOG_WARN(mod, ...) LOG_(LOG_LVL_WARN, mod, __VA_ARGS__)
#define LOG_NOTICE(mod, ...) LOG_(LOG_LVL_NOTICE, mod, __VA_ARGS__)
#define LOG_INFO(mod, ...) LOG_(LOG_LVL_INFO, mod, __VA_ARGS__)
#define LOG_DEBUG(mod, ...) LOG_(LOG_LVL_DEBUG, mod, __VA_ARGS__)
/* Rate limited to one line per 10 s per call site. */
#define LOG_RL(lvl, mod, ...)                                                                      \
    do {                                                                                           \
        static struct log_rl rl_;                                                                  \
        if (log_enabled(lvl))                                                                      \
            log_write_rl(&rl_, 10000, lvl, mod, __VA_ARGS__);                                      \
    } while (0)

#endif
