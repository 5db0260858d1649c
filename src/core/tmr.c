/* SPDX-License-Identifier: BSD-2-Clause */
/* Hierarchical timer wheel with a 1 ms tick and cascading levels. */
#include "core/tmr.h"

#include <stdlib.h>

#include "core/util.h"

/*
 * Layout (the classic Linux "timer vectors", also Kamailio's wheel):
 *   level 0: 256 slots of 1 ms        (deadlines < 256 ms ahead)
 *   level 1:  64 slots of 256 ms      (< 16.4 s)
 *   level 2:  64 slots of 16.4 s      (< 17.5 min)
 *   level 3:  64 slots of 17.5 min    (< 18.6 h)
 *   overflow: one unsorted list, re-filed every 18.6 h
 * A timer is filed by its deadline relative to next_tick, the first tick
 * not yet processed. A level-0 slot then holds timers of exactly one tick
 * (or overdue ones filed at next_tick). When next_tick crosses a multiple
 * of a level's span, that level's current slot is re-filed one level down
 * ("cascade"): each timer moves at most four times in its life, so start,
 * stop and expiry are O(1) amortised.
 *
 * Occupancy bitmaps per level make the two hot queries cheap: skipping
 * empty ticks while advancing, and tmr_wheel_next_ms(), which the event
 * loop calls every iteration. A min-heap would give an exact next deadline
 * but O(log n) start/stop; with millions of protocol timers that mostly
 * get stopped (retransmissions answered in time), O(1) wins.
 */

#define L0_BITS 8
#define LN_BITS 6
#define L0_SIZE (1u << L0_BITS)
#define LN_SIZE (1u << LN_BITS)
#define N_UPPER 3
#define HEAD_OVERFLOW (L0_SIZE + N_UPPER * LN_SIZE)
#define HEAD_PENDING (HEAD_OVERFLOW + 1)
#define N_HEADS (HEAD_PENDING + 1)

/* Owner: its worker's event loop; that thread only. */
struct tmr_wheel {
    uint64_t now_ms;    /* clock that tmr_start() measures delays from */
    uint64_t next_tick; /* first tick not yet processed */
    size_t count;       /* armed timers */
    uint64_t bits0[L0_SIZE / 64];
    uint64_t bits_upper[N_UPPER];
    /* List sentinels: level slots, then overflow, then the list of timers
     * being fired in the current tick. Timers are borrowed. */
    struct tmr heads[N_HEADS];
};

static unsigned shift_of(unsigned level)
{
    return L0_BITS + (level - 1) * LN_BITS;
}

static void list_init(struct tmr *h)
{
    h->next = h;
    h->prev = h;
}

static bool list_is_empty(const struct tmr *h)
{
    return h->next == h;
}

static void list_append(struct tmr *h, struct tmr *t)
{
    t->prev = h->prev;
    t->next = h;
    h->prev->next = t;
    h->prev = t;
}

static void list_unlink(struct tmr *t)
{
    t->prev->next = t->next;
    t->next->prev = t->prev;
    t->next = NULL;
    t->prev = NULL;
}

/* Moves all of src's timers to the empty list dst. */
static void list_splice(struct tmr *src, struct tmr *dst)
{
    if (list_is_empty(src)) {
        list_init(dst);
        return;
    }
    dst->next = src->next;
    dst->prev = src->prev;
    dst->next->prev = dst;
    dst->prev->next = dst;
    list_init(src);
}

static void bit_set(struct tmr_wheel *w, unsigned head)
{
    if (head < L0_SIZE)
        w->bits0[head / 64] |= 1ull << (head % 64);
    else if (head < HEAD_OVERFLOW)
        w->bits_upper[(head - L0_SIZE) / LN_SIZE] |= 1ull << ((head - L0_SIZE) % LN_SIZE);
}

static void bit_clear(struct tmr_wheel *w, unsigned head)
{
    if (head < L0_SIZE)
        w->bits0[head / 64] &= ~(1ull << (head % 64));
    else if (head < HEAD_OVERFLOW)
        w->bits_upper[(head - L0_SIZE) / LN_SIZE] &= ~(1ull << ((head - L0_SIZE) % LN_SIZE));
}

static unsigned head_upper(unsigned level, unsigned slot)
{
    return L0_SIZE + (level - 1) * LN_SIZE + slot;
}

/* Files an armed timer by its deadline relative to next_tick. */
static void file_timer(struct tmr_wheel *w, struct tmr *t)
{
    uint64_t e = t->expires_ms;
    uint64_t j = w->next_tick;
    unsigned head;
    if (e < j) {
        head = (unsigned)(j & (L0_SIZE - 1)); /* overdue: fire at the next tick */
    } else {
        uint64_t d = e - j;
        if (d < L0_SIZE) {
            head = (unsigned)(e & (L0_SIZE - 1));
        } else {
            head = HEAD_OVERFLOW;
            for (unsigned level = 1; level <= N_UPPER; level++) {
                unsigned sh = shift_of(level);
                if (d < (1ull << (sh + LN_BITS))) {
                    head = head_upper(level, (unsigned)((e >> sh) & (LN_SIZE - 1)));
                    break;
                }
            }
        }
    }
    list_append(&w->heads[head], t);
    bit_set(w, head);
}

/* Re-files every timer of one list (a slot being cascaded, or overflow). */
static void refile(struct tmr_wheel *w, unsigned head)
{
    struct tmr tmp;
    list_splice(&w->heads[head], &tmp);
    bit_clear(w, head);
    while (!list_is_empty(&tmp)) {
        struct tmr *t = tmp.next;
        list_unlink(t);
        file_timer(w, t);
    }
}

/* Called when next_tick is a multiple of 256: moves the due slot of each
 * level whose span boundary is crossed one level down, lowest first. */
static void cascade(struct tmr_wheel *w)
{
    uint64_t j = w->next_tick;
    for (unsigned level = 1; level <= N_UPPER; level++) {
        unsigned sh = shift_of(level);
        unsigned slot = (unsigned)((j >> sh) & (LN_SIZE - 1));
        if (w->bits_upper[level - 1] & (1ull << slot))
            refile(w, head_upper(level, slot));
        if (slot != 0)
            return;
    }
    if (!list_is_empty(&w->heads[HEAD_OVERFLOW]))
        refile(w, HEAD_OVERFLOW);
}

/* First occupied level-0 slot in [from, 256), or 256. */
static unsigned l0_next(const struct tmr_wheel *w, unsigned from)
{
    for (unsigned i = from / 64; i < L0_SIZE / 64; i++) {
        uint64_t word = w->bits0[i];
        if (i == from / 64)
            word &= ~0ull << (from % 64);
        if (word)
            return i * 64 + (unsigned)__builtin_ctzll(word);
    }
    return L0_SIZE;
}

/* Distance from 'from' to the first set bit of a 64-slot ring, or 64. */
static unsigned ring_next(uint64_t word, unsigned from)
{
    if (!word)
        return LN_SIZE;
    uint64_t rot = from ? (word >> from) | (word << (64 - from)) : word;
    return (unsigned)__builtin_ctzll(rot);
}

static uint64_t round_up_pow2(uint64_t v, unsigned sh)
{
    uint64_t m = (1ull << sh) - 1;
    return (v + m) & ~m;
}

struct tmr_wheel *tmr_wheel_new(uint64_t now_ms)
{
    struct tmr_wheel *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    w->now_ms = now_ms;
    w->next_tick = now_ms + 1;
    for (unsigned i = 0; i < N_HEADS; i++)
        list_init(&w->heads[i]);
    return w;
}

void tmr_wheel_free(struct tmr_wheel *w)
{
    if (!w)
        return;
    for (unsigned i = 0; i < N_HEADS; i++) {
        struct tmr *h = &w->heads[i];
        while (!list_is_empty(h)) {
            struct tmr *t = h->next;
            list_unlink(t);
            t->wheel = NULL;
        }
    }
    free(w);
}

void tmr_init(struct tmr *t, tmr_fn *fn, void *arg)
{
    t->next = NULL;
    t->prev = NULL;
    t->expires_ms = 0;
    t->fn = fn;
    t->arg = arg;
    t->wheel = NULL;
}

void tmr_start(struct tmr_wheel *w, struct tmr *t, uint64_t delay_ms)
{
    tmr_stop(t);
    t->expires_ms = delay_ms > UINT64_MAX - w->now_ms ? UINT64_MAX : w->now_ms + delay_ms;
    t->wheel = w;
    w->count++;
    file_timer(w, t);
}

void tmr_stop(struct tmr *t)
{
    struct tmr_wheel *w = t->wheel;
    if (!w)
        return;
    struct tmr *after = t->next;
    list_unlink(t);
    /* A list of one sentinel points at itself: clear its occupancy bit. */
    if (after->next == after) {
        uintptr_t off = (uintptr_t)after - (uintptr_t)w->heads;
        if (off < sizeof(w->heads))
            bit_clear(w, (unsigned)(off / sizeof(struct tmr)));
    }
    t->wheel = NULL;
    w->count--;
}

bool tmr_is_armed(const struct tmr *t)
{
    return t->wheel != NULL;
}

void tmr_wheel_set_now(struct tmr_wheel *w, uint64_t now_ms)
{
    if (now_ms > w->now_ms)
        w->now_ms = now_ms;
}

/* Fires the timers of one level-0 slot. They go to a pending list first so
 * callbacks can stop or restart any of them (tmr_stop unlinks from there). */
static size_t fire_slot(struct tmr_wheel *w, unsigned slot)
{
    struct tmr *pending = &w->heads[HEAD_PENDING];
    size_t fired = 0;
    list_splice(&w->heads[slot], pending);
    bit_clear(w, slot);
    while (!list_is_empty(pending)) {
        struct tmr *t = pending->next;
        list_unlink(t);
        t->wheel = NULL;
        w->count--;
        fired++;
        t->fn(t, t->arg);
    }
    return fired;
}

/*
 * Earliest tick at which something happens: exact for level 0 (slot s
 * holds deadlines of one tick; searching from next_tick's slot and then
 * wrapping gives the ticks in time order), a lower bound for the upper
 * levels and overflow (the tick their occupied slot cascades at).
 * UINT64_MAX when nothing is armed.
 */
static uint64_t next_event_tick(const struct tmr_wheel *w)
{
    uint64_t j = w->next_tick;
    uint64_t bound = UINT64_MAX;

    unsigned idx = (unsigned)(j & (L0_SIZE - 1));
    unsigned s = l0_next(w, idx);
    if (s < L0_SIZE) {
        bound = j + (s - idx);
        /* Before the next cascade point, so nothing can come earlier;
         * unless next_tick itself is a cascade point not yet processed. */
        if (idx != 0)
            return bound;
    } else {
        s = l0_next(w, 0);
        if (s < idx)
            bound = j + (L0_SIZE - idx) + s;
    }
    for (unsigned level = 1; level <= N_UPPER; level++) {
        unsigned sh = shift_of(level);
        uint64_t first = round_up_pow2(j, sh);
        unsigned from = (unsigned)((first >> sh) & (LN_SIZE - 1));
        unsigned d = ring_next(w->bits_upper[level - 1], from);
        if (d < LN_SIZE)
            bound = SW_MIN(bound, first + ((uint64_t)d << sh));
    }
    if (!list_is_empty(&w->heads[HEAD_OVERFLOW]))
        bound = SW_MIN(bound, round_up_pow2(j, L0_BITS + N_UPPER * LN_BITS));
    return bound;
}

size_t tmr_wheel_advance(struct tmr_wheel *w, uint64_t now_ms)
{
    tmr_wheel_set_now(w, now_ms);
    uint64_t target = w->now_ms;
    size_t fired = 0;

    while (w->next_tick <= target) {
        uint64_t j = w->next_tick;
        unsigned idx = (unsigned)(j & (L0_SIZE - 1));
        if (idx == 0)
            cascade(w);
        unsigned slot = l0_next(w, idx);
        if (slot == L0_SIZE) {
            /* Nothing due before the next cascade point: jump to the
             * earliest tick with work. Cascade points skipped on the way
             * have empty slots (next_event_tick is the minimum over all
             * occupied ones), so skipping them loses nothing; this keeps
             * long idle stretches O(levels) rather than O(time / 256). */
            uint64_t next = next_event_tick(w);
            /* The overflow bound is next_tick itself right after its
             * cascade ran; tick j has nothing left, so step past it. */
            if (next <= j)
                next = j + 1;
            w->next_tick = next > target ? target + 1 : next;
            continue;
        }
        uint64_t tick = j + (slot - idx);
        if (tick > target) {
            w->next_tick = target + 1;
            break;
        }
        /* Advance first: timers started by callbacks with a deadline at or
         * before this tick are filed at the next one, not into this slot. */
        w->next_tick = tick + 1;
        fired += fire_slot(w, slot);
    }
    return fired;
}

int64_t tmr_wheel_next_ms(const struct tmr_wheel *w)
{
    if (w->count == 0)
        return -1;
    uint64_t bound = next_event_tick(w);
    if (bound <= w->now_ms)
        return 0;
    uint64_t d = bound - w->now_ms;
    return d > INT64_MAX ? INT64_MAX : (int64_t)d;
}

size_t tmr_wheel_count(const struct tmr_wheel *w)
{
    return w->count;
}

uint64_t tmr_wheel_now_ms(const struct tmr_wheel *w)
{
    return w->now_ms;
}
