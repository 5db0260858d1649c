/* SPDX-License-Identifier: BSD-2-Clause */
/* Levelled text or JSON-lines logging, one write(2) per record. */
#include "core/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/ev.h"

/* Longest formatted message; longer ones are cut and end in "...". */
#define LOG_MAX_MSG 4096
/* Worst case is every message byte escaped as \u00XX (6 bytes). */
#define LOG_MAX_RECORD (LOG_MAX_MSG * 6 + 512)
/* Kept free at the end of a record for the closing ...", "}" and "\n". */
#define LOG_TAIL_RESERVE 16

/* Set at start-up or reload, read by every thread: relaxed atomics so a
 * reload racing with workers is well defined (a record may use either). */
static atomic_int cfg_level = LOG_LVL_NOTICE;
static atomic_int cfg_format = LOG_FMT_TEXT;
static atomic_int cfg_fd = 2;

static const char *const level_names[] = {"error", "warn", "notice", "info", "debug"};
static const char *const level_tags[] = {"ERROR", "WARN", "NOTICE", "INFO", "DEBUG"};

void log_configure(enum log_level level, enum log_format fmt, int fd)
{
    atomic_store_explicit(&cfg_level, (int)level, memory_order_relaxed);
    atomic_store_explicit(&cfg_format, (int)fmt, memory_order_relaxed);
    atomic_store_explicit(&cfg_fd, fd, memory_order_relaxed);
}

bool log_enabled(enum log_level level)
{
    return (int)level <= atomic_load_explicit(&cfg_level, memory_order_relaxed);
}

int log_level_parse(enum log_level *out, const char *name)
{
    if (!name)
        return -EINVAL;
    struct slice s = slice_cstr(name);
    for (size_t i = 0; i < SW_ARRAY_LEN(level_names); i++) {
        if (slice_caseeq_cstr(s, level_names[i])) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    if (slice_caseeq_cstr(s, "warning")) {
        *out = LOG_LVL_WARN;
        return 0;
    }
    return -EINVAL;
}

const char *log_level_name(enum log_level level)
{
    if ((unsigned)level >= SW_ARRAY_LEN(level_names))
        return "unknown";
    return level_names[level];
}

/* ---- record building ---- */

/* A bounded output buffer; once full, further text is dropped. */
struct out {
    char *p;
    size_t len;
    size_t cap; /* usable bytes (the tail reserve excluded) */
    bool is_full;
};

static void out_put(struct out *o, const char *s, size_t n)
{
    if (o->is_full)
        return;
    if (n > o->cap - o->len) {
        o->is_full = true;
        return;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

static void out_str(struct out *o, const char *s)
{
    out_put(o, s, strlen(s));
}

/* Appends the tail regardless of is_full (room was reserved for it). */
static void out_tail(struct out *o, const char *s)
{
    size_t n = strlen(s);
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

/* Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlongs,
 * no surrogates, nothing above U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else {
        return 0;
    }
    if (n < len || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return len;
}

/* Escapes s as the body of a JSON string (RFC 8259 §7). Invalid UTF-8
 * (peer-supplied text often is) becomes U+FFFD so the line stays valid. */
static void out_json_escaped(struct out *o, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n && !o->is_full) {
        unsigned char c = p[i];
        char esc[8];
        switch (c) {
        case '"':
            out_put(o, "\\\"", 2);
            break;
        case '\\':
            out_put(o, "\\\\", 2);
            break;
        case '\n':
            out_put(o, "\\n", 2);
            break;
        case '\r':
            out_put(o, "\\r", 2);
            break;
        case '\t':
            out_put(o, "\\t", 2);
            break;
        case '\b':
            out_put(o, "\\b", 2);
            break;
        case '\f':
            out_put(o, "\\f", 2);
            break;
        default:
            if (c < 0x20 || c == 0x7f) {
                snprintf(esc, sizeof(esc), "\\u%04x", c);
                out_put(o, esc, 6);
            } else if (c < 0x80) {
                out_put(o, (const char *)p + i, 1);
            } else {
                size_t len = utf8_len(p + i, n - i);
                if (len == 0) {
                    out_put(o, "\\ufffd", 6);
                } else {
                    out_put(o, (const char *)p + i, len);
                    i += len - 1;
                }
            }
            break;
        }
        i++;
    }
    if (i < n)
        o->is_full = true;
}

/* Text records are one line each: control characters in the message
 * (say, a CR LF from a peer's header) are shown escaped, so a peer cannot
 * forge log lines. */
static void out_text_escaped(struct out *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n && !o->is_full; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        if (c == '\n') {
            out_put(o, "\\n", 2);
        } else if (c == '\r') {
            out_put(o, "\\r", 2);
        } else if ((c < 0x20 && c != '\t') || c == 0x7f) {
            snprintf(esc, sizeof(esc), "\\x%02x", c);
            out_put(o, esc, 4);
        } else {
            out_put(o, s + i, 1);
        }
    }
}

static void format_ts(char *dst, size_t len)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    /* strftime keeps the compiler's truncation analysis quiet about years
     * with more than four digits. */
    size_t n = strftime(dst, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(dst + n, len - n, ".%03dZ", (int)((ts.tv_nsec / 1000000) % 1000));
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return; /* nowhere to report a failing log sink */
        }
        p += w;
        n -= (size_t)w;
    }
}

SW_PRINTF(3, 0)
static void log_vwrite(enum log_level level, const char *module, const char *fmt, va_list ap,
                       uint64_t suppressed)
{
    char msg[LOG_MAX_MSG];
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    if (n < 0)
        n = 0;
    size_t msg_len = (size_t)n;
    if (msg_len >= sizeof(msg)) {
        msg_len = sizeof(msg) - 1;
        memcpy(msg + msg_len - 3, "...", 3);
    }
    if (suppressed) {
        int k = snprintf(msg + msg_len, sizeof(msg) - msg_len, " (%llu similar suppressed)",
                         (unsigned long long)suppressed);
        if (k > 0)
            msg_len = SW_MIN(msg_len + (size_t)k, sizeof(msg) - 1);
    }
    if (!module)
        module = LOG_MODULE_DEFAULT;

    char ts[40];
    format_ts(ts, sizeof(ts));
    unsigned lvl = SW_MIN((unsigned)level, (unsigned)LOG_LVL_DEBUG);

    char rec[LOG_MAX_RECORD]; /* ~25 KiB of stack; workers have MiBs */
    struct out o = {rec, 0, sizeof(rec) - LOG_TAIL_RESERVE, false};
    if (atomic_load_explicit(&cfg_format, memory_order_relaxed) == LOG_FMT_JSON) {
        char head[96];
        out_str(&o, "{\"ts\":\"");
        out_str(&o, ts);
        snprintf(head, sizeof(head), "\",\"level\":\"%s\",\"module\":\"", level_names[lvl]);
        out_str(&o, head);
        out_json_escaped(&o, module, strlen(module));
        snprintf(head, sizeof(head), "\",\"worker\":%u,\"msg\":\"", ev_thread_worker());
        out_str(&o, head);
        out_json_escaped(&o, msg, msg_len);
        if (o.is_full)
            out_tail(&o, "...");
        out_tail(&o, "\"}\n");
    } else {
        out_str(&o, ts);
        out_str(&o, " ");
        out_str(&o, level_tags[lvl]);
        out_str(&o, " [");
        out_text_escaped(&o, module, strlen(module));
        out_str(&o, "] ");
        out_text_escaped(&o, msg, msg_len);
        if (o.is_full)
            out_tail(&o, "...");
        out_tail(&o, "\n");
    }
    /* One write per record: concurrent workers never interleave within a
     * line (atomic for pipes up to PIPE_BUF, and for O_APPEND files). */
    write_all(atomic_load_explicit(&cfg_fd, memory_order_relaxed), rec, o.len);
}

void log_write(enum log_level level, const char *module, const char *fmt, ...)
{
    if (!log_enabled(level))
        return;
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(level, module, fmt, ap, 0);
    va_end(ap);
}

void log_write_rl(struct log_rl *rl, uint64_t interval_ms, enum log_level level, const char *module,
                  const char *fmt, ...)
{
    if (!log_enabled(level))
        return;
    uint64_t now = ev_clock_now_ms();
    if (now == 0)
        now = 1; /* 0 marks "never printed" */
    uint64_t last = atomic_load_explicit(&rl->last_ms, memory_order_relaxed);
    /* One thread wins the slot for this interval; the others (and later
     * calls within it) only count. */
    if ((last != 0 && now - last < interval_ms) ||
        !atomic_compare_exchange_strong_explicit(&rl->last_ms, &last, now, memory_order_relaxed,
                                                 memory_order_relaxed)) {
        atomic_fetch_add_explicit(&rl->suppressed, 1, memory_order_relaxed);
        return;
    }
    uint64_t suppressed = atomic_exchange_explicit(&rl->suppressed, 0, memory_order_relaxed);
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(level, module, fmt, ap, suppressed);
    va_end(ap);
}
