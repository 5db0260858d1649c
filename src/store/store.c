/* SPDX-License-Identifier: BSD-2-Clause */
/* Location store: back-end selection and the calls every back end shares. */
#include "store/store.h"

#include "store/store_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const sync_names[] = {"full", "normal", NULL};

const struct cfg_opt store_cfg_opts[] = {
    CFG_UINT("max_aors", struct store_config, max_aors, "1000000", 1, 100000000, false,
             "addresses of record held; a REGISTER for a new one beyond gets 503"),
    CFG_UINT("queue_depth", struct store_config, queue_depth, "65536", 16, 1048576, false,
             "SQLite writes queued and not yet committed; REGISTERs beyond get 503"),
    CFG_UINT("batch_max", struct store_config, batch_max, "512", 1, 65536, false,
             "writes committed together in one SQLite transaction (group commit)"),
    CFG_ENUM("synchronous", struct store_config, synchronous, "full", sync_names, false,
             "SQLite fsync policy: full survives power loss, normal only a crash"),
    CFG_END,
};

void store_config_defaults(struct store_config *cfg)
{
    cfg->max_aors = 1000000;
    cfg->queue_depth = 65536;
    cfg->synchronous = STORE_SYNC_FULL;
    cfg->batch_max = 512;
}

int store_open(struct store **out, const char *spec, const struct store_config *cfg, int64_t now,
               char *err, size_t errlen)
{
    struct store *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        snprintf(err, errlen, "store: out of memory");
        return -ENOMEM;
    }
    if (cfg != NULL)
        s->cfg = *cfg;
    else
        store_config_defaults(&s->cfg);
    if (s->cfg.max_aors == 0)
        s->cfg.max_aors = 1000000;
    if (s->cfg.batch_max == 0)
        s->cfg.batch_max = 512;
    if (s->cfg.queue_depth == 0)
        s->cfg.queue_depth = 65536;
    int rc = mem_init(&s->mem, s->cfg.max_aors);
    if (rc < 0) {
        snprintf(err, errlen, "store: out of memory");
        free(s);
        return rc;
    }
    if (strcmp(spec, "memory") == 0) {
        rc = 0;
    } else if (strncmp(spec, "sqlite:", 7) == 0 && spec[7] != '\0') {
        rc = sql_open(s, spec + 7, now, err, errlen);
    } else {
        snprintf(err, errlen, "store: %s: unknown store (use sqlite:PATH or memory)", spec);
        rc = -EINVAL;
    }
    if (rc < 0) {
        mem_fini(&s->mem);
        free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void store_close(struct store *s)
{
    if (s == NULL)
        return;
    if (s->sql != NULL)
        sql_close(s);
    mem_fini(&s->mem);
    free(s);
}

int store_lookup(struct store *s, struct slice aor, int64_t now, struct store_binding **out)
{
    return mem_lookup(&s->mem, aor, now, out);
}

static void deliver(struct ev_job *job)
{
    struct sql_job *j = SW_CONTAINER_OF(job, struct sql_job, job);
    if (j->done != NULL)
        j->done(j->arg, j->rc, j->rc == 0 ? j->b : NULL, j->rc == 0 ? j->n : 0);
    sql_job_free(j);
}

void store_job_complete(struct sql_job *j)
{
    if (j->loop == NULL) {
        deliver(&j->job);
        return;
    }
    j->job.fn = deliver;
    ev_post(j->loop, &j->job);
}

void sql_job_free(struct sql_job *j)
{
    if (j == NULL)
        return;
    store_bindings_free(j->b, j->n);
    free(j->aor);
    free(j);
}

struct enq_ctx {
    struct store *s;
    struct sql_job *j;
};

/* Under the shard lock: the job joins the queue in commit order. */
static void enqueue_hook(void *arg, struct slice aor)
{
    (void)aor;
    struct enq_ctx *e = arg;
    sql_enqueue(e->s, e->j);
}

int store_apply(struct store *s, struct slice aor, const struct store_change *changes, size_t n,
                const struct store_apply_opts *o, struct ev_loop *loop, store_done_fn *done,
                void *arg)
{
    if (aor.len == 0 || (n > 0 && changes == NULL) || o == NULL)
        return -EINVAL;
    struct sql_job *j = calloc(1, sizeof(*j));
    if (j == NULL)
        return -ENOMEM;
    j->aor = malloc(aor.len + 1);
    if (j->aor == NULL) {
        free(j);
        return -ENOMEM;
    }
    memcpy(j->aor, aor.p, aor.len);
    j->aor[aor.len] = '\0';
    j->aor_len = aor.len;
    j->loop = loop;
    j->done = done;
    j->arg = arg;
    j->now = o->now;

    /* A query (n = 0) changes nothing: no durable write to wait for. */
    bool is_durable = s->sql != NULL && n > 0;
    if (is_durable && sql_reserve(s) < 0) {
        sql_job_free(j);
        return -EAGAIN;
    }
    struct enq_ctx e = {s, j};
    j->rc =
        mem_apply(&s->mem, aor, changes, n, o, &j->b, &j->n, is_durable ? enqueue_hook : NULL, &e);
    if (j->rc == -EINVAL) {
        if (is_durable)
            sql_unreserve(s);
        sql_job_free(j);
        return -EINVAL;
    }
    if (is_durable && j->rc == 0)
        return 0; /* the store thread completes it after COMMIT */
    if (is_durable)
        sql_unreserve(s);
    store_job_complete(j);
    return 0;
}

size_t store_purge(struct store *s, int64_t now)
{
    bool wrapped = false;
    size_t removed = mem_purge(&s->mem, now, &wrapped);
    /* Expired rows are skipped at load anyway; once per full round the
     * store thread deletes them so the file does not grow. */
    if (wrapped && s->sql != NULL && sql_reserve(s) == 0) {
        struct sql_job *j = calloc(1, sizeof(*j));
        if (j == NULL) {
            sql_unreserve(s);
            return removed;
        }
        j->now = now;
        sql_enqueue(s, j);
    }
    return removed;
}

size_t store_aor_count(struct store *s)
{
    return atomic_load(&s->mem.naors);
}

size_t store_binding_count(struct store *s)
{
    return atomic_load(&s->mem.nbindings);
}
