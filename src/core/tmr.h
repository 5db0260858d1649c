/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Hierarchical timer wheel (one per worker, never shared between threads).
 * The timer node is embedded in its owner; start and stop are O(1).
 * Time is whatever the caller passes to tmr_wheel_advance() in
 * milliseconds, so tests drive it with a fake clock.
 */
#ifndef SW_CORE_TMR_H
#define SW_CORE_TMR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tmr;
typedef void tmr_fn(struct tmr *t, void *arg);

/* Embedded in its owner (owner: the struct containing it; thread: the
 * wheel's worker). Fields are private to tmr.c. */
struct tmr {
    struct tmr *next, *prev; /* list links inside a slot; borrowed */
    uint64_t expires_ms;
    tmr_fn *fn;
    void *arg;               /* borrowed */
    struct tmr_wheel *wheel; /* borrowed; NULL when not armed */
};

/* Creates a wheel whose clock starts at now_ms. NULL on ENOMEM. */
struct tmr_wheel *tmr_wheel_new(uint64_t now_ms);
/* Frees the wheel; armed timers are silently disarmed (not fired). */
void tmr_wheel_free(struct tmr_wheel *w);

void tmr_init(struct tmr *t, tmr_fn *fn, void *arg);
/* (Re)arms t to fire delay_ms after the wheel's current time
 * (tmr_wheel_now_ms). A deadline at or before the last tick already
 * processed (delay 0 right after an advance, or from a callback) fires at
 * the next advance to a later time, so a callback re-arming itself with
 * delay 0 cannot spin. */
void tmr_start(struct tmr_wheel *w, struct tmr *t, uint64_t delay_ms);
/* Disarms t; harmless when not armed. */
void tmr_stop(struct tmr *t);
bool tmr_is_armed(const struct tmr *t);

/* Moves the wheel's clock to now_ms (never backwards) and fires every
 * timer whose deadline is <= now_ms, tick by tick in deadline order. A
 * callback may start or stop any timer, including its own and the ones
 * due next; it must not advance or free the wheel. Returns timers fired. */
size_t tmr_wheel_advance(struct tmr_wheel *w, uint64_t now_ms);
/* Moves the clock that tmr_start() measures from to now_ms (never
 * backwards) without firing anything. The event loop calls it right after
 * reading the clock, so timers armed by I/O callbacks count from the
 * current time, not from the previous iteration's; it advances (fires)
 * after the I/O phase. (Added to the original header.) */
void tmr_wheel_set_now(struct tmr_wheel *w, uint64_t now_ms);
/* Milliseconds until the earliest armed timer (0 if already due), or -1
 * when none is armed. O(1): exact for timers within 256 ms; for farther
 * ones it may be an underestimate (the time their wheel slot cascades;
 * the loop then just wakes up earlier, at most once per level). */
int64_t tmr_wheel_next_ms(const struct tmr_wheel *w);
size_t tmr_wheel_count(const struct tmr_wheel *w);
uint64_t tmr_wheel_now_ms(const struct tmr_wheel *w);

#endif
