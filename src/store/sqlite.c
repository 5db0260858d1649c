/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * SQLite write-through for the location store: one store thread owns the
 * database connection; workers queue whole-AOR writes to it and get their
 * completion back through ev_post once the COMMIT is durable.
 */
#include "store/store_int.h"

#include "core/log.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Each queued write carries the AOR's complete binding set after the
 * change, written as DELETE + INSERTs. That keeps the writes idempotent
 * and order-only dependent: the queue is fed under the AOR's shard lock,
 * so the last write of an AOR is always its current state.
 * Group commit: the thread takes every queued write (up to batch_max) and
 * commits them in one transaction, paying one WAL fsync per batch.
 */

/* Owner: struct store; the db and statements: the store thread only
 * (and the opening thread before the store thread starts). */
struct store_sql {
    sqlite3 *db;
    sqlite3_stmt *del, *ins, *purge;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct sql_job *head, *tail; /* owned queue */
    bool is_stopping;
    _Atomic unsigned pending; /* reserved slots: queued + being written */
    unsigned depth;
    unsigned batch_max;
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS location ("
    " aor TEXT NOT NULL, match_key TEXT NOT NULL, contact TEXT NOT NULL,"
    " call_id TEXT NOT NULL, cseq INTEGER NOT NULL, expires_at INTEGER NOT NULL,"
    " created_at INTEGER NOT NULL, q INTEGER NOT NULL, path TEXT, user_agent TEXT,"
    " instance TEXT, reg_id INTEGER NOT NULL, proto INTEGER NOT NULL,"
    " received TEXT NOT NULL, listener INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS location_aor ON location(aor);"
    "CREATE INDEX IF NOT EXISTS location_expires ON location(expires_at);";

static int exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        LOG_ERROR("store", "sqlite: %s: %s", sql, msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return -EIO;
    }
    return 0;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s == NULL)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

static int write_job(struct store_sql *q, const struct sql_job *j)
{
    int rc;
    if (j->aor == NULL) {
        sqlite3_bind_int64(q->purge, 1, j->now);
        rc = sqlite3_step(q->purge);
        sqlite3_reset(q->purge);
        return rc == SQLITE_DONE ? 0 : -EIO;
    }
    sqlite3_bind_text(q->del, 1, j->aor, (int)j->aor_len, SQLITE_STATIC);
    rc = sqlite3_step(q->del);
    sqlite3_reset(q->del);
    if (rc != SQLITE_DONE)
        return -EIO;
    for (size_t i = 0; i < j->n; i++) {
        const struct store_binding *b = &j->b[i];
        sqlite3_stmt *st = q->ins;
        sqlite3_bind_text(st, 1, j->aor, (int)j->aor_len, SQLITE_STATIC);
        bind_text(st, 2, b->match_key);
        bind_text(st, 3, b->contact);
        bind_text(st, 4, b->call_id);
        sqlite3_bind_int64(st, 5, b->cseq);
        sqlite3_bind_int64(st, 6, b->expires_at);
        sqlite3_bind_int64(st, 7, b->created_at);
        sqlite3_bind_int(st, 8, b->q);
        bind_text(st, 9, b->path);
        bind_text(st, 10, b->user_agent);
        bind_text(st, 11, b->instance);
        sqlite3_bind_int64(st, 12, b->reg_id);
        sqlite3_bind_int(st, 13, b->proto);
        bind_text(st, 14, b->received);
        sqlite3_bind_int(st, 15, b->listener);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return -EIO;
    }
    return 0;
}

static const char *col_text(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

/* Reads the rows of one AOR (aor != NULL) or of every AOR into memory. */
static int load(struct store *s, const char *aor, int64_t now)
{
    static const char sql_all[] =
        "SELECT aor, match_key, contact, call_id, cseq, expires_at, created_at, q, path,"
        " user_agent, instance, reg_id, proto, received, listener FROM location"
        " WHERE expires_at > ?1 ORDER BY aor, rowid";
    static const char sql_one[] =
        "SELECT aor, match_key, contact, call_id, cseq, expires_at, created_at, q, path,"
        " user_agent, instance, reg_id, proto, received, listener FROM location"
        " WHERE expires_at > ?1 AND aor = ?2 ORDER BY rowid";
    sqlite3_stmt *st = NULL;
    struct store_binding *arr = NULL;
    size_t n = 0, cap = 0;
    char *cur = NULL;
    int rc = 0;
    if (sqlite3_prepare_v2(s->sql->db, aor ? sql_one : sql_all, -1, &st, NULL) != SQLITE_OK)
        return -EIO;
    sqlite3_bind_int64(st, 1, now);
    if (aor != NULL)
        sqlite3_bind_text(st, 2, aor, -1, SQLITE_STATIC);
    for (;;) {
        int step = sqlite3_step(st);
        const char *row_aor = step == SQLITE_ROW ? col_text(st, 0) : NULL;
        if (step != SQLITE_ROW && step != SQLITE_DONE) {
            rc = -EIO;
            break;
        }
        /* Flush the AOR collected so far when the AOR changes or at the end. */
        if (cur != NULL && (row_aor == NULL || strcmp(row_aor, cur) != 0)) {
            rc = mem_replace(&s->mem, slice_cstr(cur), arr, n);
            arr = NULL;
            n = cap = 0;
            free(cur);
            cur = NULL;
            if (rc < 0)
                break;
        }
        if (step == SQLITE_DONE)
            break;
        if (cur == NULL && (cur = strdup(row_aor)) == NULL) {
            rc = -ENOMEM;
            break;
        }
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 4;
            struct store_binding *na = realloc(arr, nc * sizeof(*na));
            if (na == NULL) {
                rc = -ENOMEM;
                break;
            }
            arr = na;
            cap = nc;
        }
        struct store_binding b = {
            .match_key = (char *)col_text(st, 1),
            .contact = (char *)col_text(st, 2),
            .call_id = (char *)col_text(st, 3),
            .cseq = (uint32_t)sqlite3_column_int64(st, 4),
            .expires_at = sqlite3_column_int64(st, 5),
            .created_at = sqlite3_column_int64(st, 6),
            .q = (uint16_t)sqlite3_column_int(st, 7),
            .path = (char *)col_text(st, 8),
            .user_agent = (char *)col_text(st, 9),
            .instance = (char *)col_text(st, 10),
            .reg_id = (uint32_t)sqlite3_column_int64(st, 11),
            .proto = (uint8_t)sqlite3_column_int(st, 12),
            .listener = (uint16_t)sqlite3_column_int(st, 14),
            .conn_id = 0, /* TCP connections do not survive a restart */
        };
        const char *recv = col_text(st, 13);
        snprintf(b.received, sizeof(b.received), "%s", recv ? recv : "");
        if (binding_copy(&arr[n], &b) < 0) {
            rc = -ENOMEM;
            break;
        }
        n++;
    }
    if (aor != NULL && rc == 0 && cur == NULL)
        rc = mem_replace(&s->mem, slice_cstr(aor), NULL, 0); /* none left */
    store_bindings_free(arr, n);
    free(cur);
    sqlite3_finalize(st);
    return rc;
}

static struct sql_job *take_batch(struct store_sql *q, bool *stop)
{
    pthread_mutex_lock(&q->mu);
    while (q->head == NULL && !q->is_stopping)
        pthread_cond_wait(&q->cv, &q->mu);
    struct sql_job *first = q->head, *last = NULL, *j = q->head;
    for (unsigned k = 0; j != NULL && k < q->batch_max; k++) {
        last = j;
        j = j->next;
    }
    if (last != NULL) {
        last->next = NULL;
        q->head = j;
        if (j == NULL)
            q->tail = NULL;
    }
    *stop = q->is_stopping && q->head == NULL;
    pthread_mutex_unlock(&q->mu);
    return first;
}

/* A failed batch was rolled back in SQLite; memory must not keep what was
 * never made durable (§10.3: all or nothing), so every AOR of the batch is
 * reloaded from the database. Known limit: a write of the same AOR queued
 * after the failed one still carries the failed change. */
static void rollback_memory(struct store *s, struct sql_job *batch)
{
    for (struct sql_job *j = batch; j != NULL; j = j->next)
        if (j->aor != NULL && load(s, j->aor, j->now) < 0)
            LOG_ERROR("store", "sqlite: reloading %s after a failed write failed", j->aor);
}

static void *store_thread(void *arg)
{
    struct store *s = arg;
    struct store_sql *q = s->sql;
    for (;;) {
        bool stop = false;
        struct sql_job *batch = take_batch(q, &stop);
        if (batch != NULL) {
            int rc = exec(q->db, "BEGIN IMMEDIATE");
            for (struct sql_job *j = batch; j != NULL && rc == 0; j = j->next)
                rc = write_job(q, j);
            if (rc == 0)
                rc = exec(q->db, "COMMIT");
            if (rc < 0) {
                LOG_ERROR("store", "sqlite: write failed: %s", sqlite3_errmsg(q->db));
                (void)exec(q->db, "ROLLBACK");
                rollback_memory(s, batch);
            }
            unsigned nb = 0;
            for (struct sql_job *j = batch, *next; j != NULL; j = next) {
                next = j->next;
                nb++;
                if (rc < 0 && j->rc == 0)
                    j->rc = -EIO;
                if (j->done != NULL)
                    store_job_complete(j);
                else
                    sql_job_free(j);
            }
            atomic_fetch_sub(&q->pending, nb);
        }
        if (stop)
            break;
    }
    return NULL;
}

int sql_reserve(struct store *s)
{
    struct store_sql *q = s->sql;
    if (atomic_fetch_add(&q->pending, 1) >= q->depth) {
        atomic_fetch_sub(&q->pending, 1);
        return -EAGAIN;
    }
    return 0;
}

void sql_unreserve(struct store *s)
{
    atomic_fetch_sub(&s->sql->pending, 1);
}

void sql_enqueue(struct store *s, struct sql_job *j)
{
    struct store_sql *q = s->sql;
    j->next = NULL;
    pthread_mutex_lock(&q->mu);
    if (q->tail != NULL)
        q->tail->next = j;
    else
        q->head = j;
    q->tail = j;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

static void sql_free(struct store_sql *q)
{
    sqlite3_finalize(q->del);
    sqlite3_finalize(q->ins);
    sqlite3_finalize(q->purge);
    sqlite3_close(q->db);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cv);
    free(q);
}

int sql_open(struct store *s, const char *path, int64_t now, char *err, size_t errlen)
{
    struct store_sql *q = calloc(1, sizeof(*q));
    if (q == NULL) {
        snprintf(err, errlen, "store: out of memory");
        return -ENOMEM;
    }
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
    q->depth = s->cfg.queue_depth;
    q->batch_max = s->cfg.batch_max;
    s->sql = q;
    int rc = sqlite3_open_v2(
        path, &q->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    const char *sync = s->cfg.synchronous == STORE_SYNC_NORMAL ? "PRAGMA synchronous=NORMAL"
                                                               : "PRAGMA synchronous=FULL";
    if (rc != SQLITE_OK || exec(q->db, "PRAGMA journal_mode=WAL") < 0 || exec(q->db, sync) < 0 ||
        exec(q->db, "PRAGMA busy_timeout=5000") < 0 || exec(q->db, schema) < 0)
        goto fail;
    if (sqlite3_prepare_v2(q->db, "DELETE FROM location WHERE aor = ?1", -1, &q->del, NULL) ||
        sqlite3_prepare_v2(q->db,
                           "INSERT INTO location (aor, match_key, contact, call_id, cseq,"
                           " expires_at, created_at, q, path, user_agent, instance, reg_id,"
                           " proto, received, listener) VALUES"
                           " (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15)",
                           -1, &q->ins, NULL) ||
        sqlite3_prepare_v2(q->db, "DELETE FROM location WHERE expires_at <= ?1", -1, &q->purge,
                           NULL))
        goto fail;
    rc = load(s, NULL, now);
    if (rc < 0) {
        snprintf(err, errlen, "store: %s: loading bindings: %s", path,
                 rc == -ENOMEM ? "out of memory" : sqlite3_errmsg(q->db));
        s->sql = NULL;
        sql_free(q);
        return rc;
    }
    if (pthread_create(&q->thread, NULL, store_thread, s) != 0) {
        snprintf(err, errlen, "store: cannot start the store thread");
        s->sql = NULL;
        sql_free(q);
        return -ENOMEM;
    }
    return 0;
fail:
    snprintf(err, errlen, "store: %s: %s", path, q->db ? sqlite3_errmsg(q->db) : "cannot open");
    s->sql = NULL;
    sql_free(q);
    return -EIO;
}

void sql_close(struct store *s)
{
    struct store_sql *q = s->sql;
    pthread_mutex_lock(&q->mu);
    q->is_stopping = true;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
    pthread_join(q->thread, NULL);
    s->sql = NULL;
    sql_free(q);
}
