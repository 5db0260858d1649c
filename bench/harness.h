/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Parse-bench harness shared by the three per-library executables.
 *
 * Each executable (parse-sipwarden, parse-osip, parse-libre) links exactly
 * one SIP parser plus this harness, so libraries with clashing global
 * symbols (libre's tmr_, uri_, list_ ... vs ours) never meet in one
 * process. The executable defines bench_variants[] and, optionally,
 * bench_setup(); the harness owns main(): it loads the message files,
 * checks every variant's result against values read straight from the
 * bytes, times the variants and prints one TSV line per (variant,
 * message). bench/run assembles those lines into the table.
 */
#ifndef SW_BENCH_HARNESS_H
#define SW_BENCH_HARNESS_H

#include <stddef.h>

/* What a parser reports back in check mode; the harness compares it with
 * what it reads from the message text itself. */
struct bench_out {
    char call_id[256];  /* the full Call-ID value */
    unsigned long cseq; /* CSeq number */
    unsigned status;    /* response status code; 0 for a request */
    unsigned via_count; /* Via values seen (full variants), 0 if not counted */
};

/* Parses data[0..len) once, including every allocation and free the
 * library needs. out is NULL while timing; when non-NULL, fill it.
 * Returns 0 on success, anything else aborts the bench. */
typedef int bench_parse_fn(const char *data, size_t len, struct bench_out *out);

struct bench_variant {
    const char *name; /* column key, e.g. "sipwarden-full" */
    bench_parse_fn *parse;
};

/* Defined by each executable; terminated by {NULL, NULL}. */
extern const struct bench_variant bench_variants[];
/* One-time library set-up (parser_init, libre_init); 0 on success. */
int bench_setup(void);
void bench_teardown(void);

#endif
