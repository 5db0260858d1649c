/* SPDX-License-Identifier: BSD-2-Clause */
/* main() of each parse-bench executable: load, verify, time, report. */
#include "harness.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define BENCH_MAX_MSGS 16
#define BENCH_MAX_REPS 31
#define BENCH_CALIBRATE_S 0.05

struct bench_msg {
    const char *path;
    const char *name; /* basename without extension, owned */
    char *data;       /* owned */
    size_t len;
    struct bench_out want; /* read from the text, not from a parser */
};

struct bench_opts {
    double rep_s;     /* CPU seconds per repetition */
    unsigned reps;    /* repetitions; the median is reported */
    bool check_only;  /* verify and exit */
    const char *only; /* run only this variant, or NULL */
};

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "parse bench: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static double cpu_now(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        die("clock_gettime: %s", strerror(errno));
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *read_file(const char *path, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long len;

    if (!f)
        die("%s: %s", path, strerror(errno));
    if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
        die("%s: cannot size", path);
    buf = malloc((size_t)len + 1);
    if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len)
        die("%s: read failed", path);
    buf[len] = '\0';
    fclose(f);
    *len_out = (size_t)len;
    return buf;
}

/* Finds the value of the first header named long_name or short_name in
 * the header section; trims whitespace. Folding is not used in the bench
 * messages, so one line is one field. */
static bool text_header(const struct bench_msg *m, const char *long_name, const char *short_name,
                        const char **v, size_t *vlen)
{
    const char *p = strstr(m->data, "\r\n");

    while (p && p[2] != '\r') {
        const char *line = p + 2;
        const char *eol = strstr(line, "\r\n");
        const char *colon = memchr(line, ':', eol ? (size_t)(eol - line) : 0);
        size_t nlen;

        if (!eol || !colon)
            return false;
        nlen = (size_t)(colon - line);
        while (nlen > 0 && (line[nlen - 1] == ' ' || line[nlen - 1] == '\t'))
            nlen--;
        if ((nlen == strlen(long_name) && strncasecmp(line, long_name, nlen) == 0) ||
            (short_name && nlen == strlen(short_name) &&
             strncasecmp(line, short_name, nlen) == 0)) {
            const char *s = colon + 1;
            const char *e = eol;

            while (s < e && (*s == ' ' || *s == '\t'))
                s++;
            while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
                e--;
            *v = s;
            *vlen = (size_t)(e - s);
            return true;
        }
        p = eol;
    }
    return false;
}

/* Counts Via values: one per Via line plus one per comma in it. */
static unsigned text_via_count(const struct bench_msg *m)
{
    const char *p = strstr(m->data, "\r\n");
    unsigned n = 0;

    while (p && p[2] != '\r') {
        const char *line = p + 2;
        const char *eol = strstr(line, "\r\n");

        if (!eol)
            break;
        if (strncasecmp(line, "via:", 4) == 0 || strncasecmp(line, "v:", 2) == 0) {
            n++;
            for (const char *c = line; c < eol; c++)
                n += *c == ',';
        }
        p = eol;
    }
    return n;
}

static void load_msg(struct bench_msg *m, const char *path)
{
    const char *base = strrchr(path, '/');
    const char *v;
    size_t vlen;
    char *name;

    m->path = path;
    name = strdup(base ? base + 1 : path);
    if (!name)
        die("out of memory");
    if (strchr(name, '.'))
        *strchr(name, '.') = '\0';
    m->name = name;
    m->data = read_file(path, &m->len);
    if (!strstr(m->data, "\r\n\r\n"))
        die("%s: no CRLF CRLF end of headers (messages must use CRLF)", path);

    if (strncmp(m->data, "SIP/2.0 ", 8) == 0)
        m->want.status = (unsigned)strtoul(m->data + 8, NULL, 10);
    if (!text_header(m, "Call-ID", "i", &v, &vlen) || vlen >= sizeof(m->want.call_id))
        die("%s: no usable Call-ID", path);
    memcpy(m->want.call_id, v, vlen);
    m->want.call_id[vlen] = '\0';
    if (!text_header(m, "CSeq", NULL, &v, &vlen))
        die("%s: no CSeq", path);
    m->want.cseq = strtoul(v, NULL, 10);
    m->want.via_count = text_via_count(m);
}

static void check(const struct bench_variant *bv, const struct bench_msg *m)
{
    struct bench_out got;

    memset(&got, 0, sizeof(got));
    if (bv->parse(m->data, m->len, &got) != 0)
        die("%s: %s failed to parse it", m->path, bv->name);
    if (strcmp(got.call_id, m->want.call_id) != 0)
        die("%s: %s returned a different Call-ID", m->path, bv->name);
    if (got.cseq != m->want.cseq)
        die("%s: %s returned a different CSeq number", m->path, bv->name);
    if (got.status != m->want.status)
        die("%s: %s returned a different status code", m->path, bv->name);
    if (got.via_count != 0 && got.via_count != m->want.via_count) {
        die("%s: %s counted %u Via values, want %u", m->path, bv->name, got.via_count,
            m->want.via_count);
    }
}

static double time_loop(const struct bench_variant *bv, const struct bench_msg *m, unsigned long n)
{
    double t0 = cpu_now();

    for (unsigned long i = 0; i < n; i++) {
        if (bv->parse(m->data, m->len, NULL) != 0)
            die("%s: %s failed while timing", m->path, bv->name);
    }
    return cpu_now() - t0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static void bench_one(const struct bench_variant *bv, const struct bench_msg *m,
                      const struct bench_opts *o)
{
    double rate[BENCH_MAX_REPS];
    unsigned long n = 256;
    double el;

    /* Calibrate (this also warms caches and the allocator). */
    while ((el = time_loop(bv, m, n)) < BENCH_CALIBRATE_S)
        n *= 2;
    n = (unsigned long)((double)n * o->rep_s / el);
    if (n < 1000)
        n = 1000;

    for (unsigned r = 0; r < o->reps; r++)
        rate[r] = (double)n / time_loop(bv, m, n);
    qsort(rate, o->reps, sizeof(rate[0]), cmp_double);

    /* variant, message, median msgs/CPU-s, min, max, iterations per rep, bytes */
    printf("%s\t%s\t%.0f\t%.0f\t%.0f\t%lu\t%zu\n", bv->name, m->name, rate[o->reps / 2], rate[0],
           rate[o->reps - 1], n, m->len);
    fflush(stdout);
}

static void usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s [-c] [-t SECONDS] [-r REPS] [-v VARIANT] MESSAGE-FILE...\n"
            "  -c          verify every variant on every message, then exit\n"
            "  -t SECONDS  CPU time per repetition (default 0.25)\n"
            "  -r REPS     repetitions, median reported (default 5, odd, max %d)\n"
            "  -v VARIANT  run only this variant\n"
            "Prints one TSV line per variant and message:\n"
            "  variant message median min max iterations bytes (rates in msgs per CPU second)\n",
            argv0, BENCH_MAX_REPS);
    exit(2);
}

int main(int argc, char **argv)
{
    struct bench_opts o = {0.25, 5, false, NULL};
    struct bench_msg msgs[BENCH_MAX_MSGS];
    unsigned nmsg = 0;
    bool found = false;
    int c;

    while ((c = getopt(argc, argv, "ct:r:v:h")) != -1) {
        switch (c) {
        case 'c':
            o.check_only = true;
            break;
        case 't':
            o.rep_s = strtod(optarg, NULL);
            break;
        case 'r':
            o.reps = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'v':
            o.only = optarg;
            break;
        default:
            usage(argv[0]);
        }
    }
    if (optind >= argc || o.reps == 0 || o.reps > BENCH_MAX_REPS || !(o.rep_s > 0) ||
        argc - optind > BENCH_MAX_MSGS)
        usage(argv[0]);

    memset(msgs, 0, sizeof(msgs));
    for (int i = optind; i < argc; i++)
        load_msg(&msgs[nmsg++], argv[i]);

    if (bench_setup() != 0)
        die("library set-up failed");

    /* Verify everything before timing anything. */
    for (const struct bench_variant *bv = bench_variants; bv->name; bv++) {
        if (o.only && strcmp(o.only, bv->name) != 0)
            continue;
        found = true;
        for (unsigned i = 0; i < nmsg; i++)
            check(bv, &msgs[i]);
    }
    if (!found)
        die("no variant named %s", o.only);

    if (!o.check_only) {
        for (const struct bench_variant *bv = bench_variants; bv->name; bv++) {
            if (o.only && strcmp(o.only, bv->name) != 0)
                continue;
            for (unsigned i = 0; i < nmsg; i++)
                bench_one(bv, &msgs[i], &o);
        }
    } else {
        for (const struct bench_variant *bv = bench_variants; bv->name; bv++) {
            if (!o.only || strcmp(o.only, bv->name) == 0)
                fprintf(stderr, "%s: ok on %u messages\n", bv->name, nmsg);
        }
    }

    bench_teardown();
    for (unsigned i = 0; i < nmsg; i++) {
        free(msgs[i].data);
        free((char *)msgs[i].name);
    }
    return 0;
}
