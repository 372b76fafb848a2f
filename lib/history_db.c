/*
 * history_db - the history store's connection: picks the backend from the
 * URL, runs the versioned migrations at open, and purges old rows.
 */
#include "history_db_impl.h"
#include "history_schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* rows removed per purge statement: short transactions, writers barely wait */
#define PURGE_BATCH 5000
#define STR_(x) #x
#define STR(x) STR_(x)

/* history_db_open - connect by URL kind, then create/upgrade the schema */
struct history_db *
history_db_open(const char *url, struct buf *why)
{
	const struct history_db_ops *ops;
	void *conn;
	struct history_db *db;

	if (strncmp(url, "sqlite:", 7) == 0) {
		ops = &history_db_sqlite_ops;
		conn = history_db_sqlite_open(url + 7, why);
	} else if (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0) {
		ops = &history_db_pg_ops;
		conn = history_db_pg_open(url, why);
	} else {
		buf_reset(why);
		buf_adds(why, "not sqlite:PATH or postgresql://...");
		return NULL;
	}
	if (conn == NULL)
		return NULL;
	db = xmalloc(sizeof(*db));
	db->ops = ops;
	db->conn = conn;
	if (!history_db_migrate(db, why)) {
		history_db_close(db);
		return NULL;
	}
	return db;
}

/* history_db_close - disconnect; NULL is fine */
void
history_db_close(struct history_db *db)
{
	if (db == NULL)
		return;
	db->ops->close(db->conn);
	free(db);
}

const char *history_db_kind(const struct history_db *db) { return db->ops->kind; }
bool history_db_ok(const struct history_db *db) { return db->ops->ok(db->conn); }

/* history_db_exec - statements without parameters */
bool
history_db_exec(struct history_db *db, const char *sql, struct buf *why)
{
	return db->ops->exec(db->conn, sql, why);
}

/* history_db_query - one statement, $1..$n text parameters, text cells */
bool
history_db_query(struct history_db *db, const char *sql, const char *const *params,
		 size_t n_params, struct history_rows *out, struct buf *why)
{
	return db->ops->query(db->conn, sql, params, n_params, out, why);
}

/* history_db_begin - a transaction holding the write lock from its start */
bool
history_db_begin(struct history_db *db, struct buf *why)
{
	return db->ops->exec(db->conn, db->ops->begin_write, why);
}

/* history_db_rollback - end a failed transaction; its own failure adds nothing */
void
history_db_rollback(struct history_db *db)
{
	struct buf ignored;

	buf_init(&ignored);
	(void)db->ops->exec(db->conn, "ROLLBACK", &ignored);
	buf_free(&ignored);
}

/* history_rows_alloc - an n_rows x n_cols table of NULL cells */
void
history_rows_alloc(struct history_rows *out, size_t n_rows, size_t n_cols)
{
	out->n_rows = n_rows;
	out->n_cols = n_cols;
	out->cells = n_rows && n_cols ? xcalloc(n_rows * n_cols, sizeof(char *)) : NULL;
}

/* history_rows_free - free the cells; the struct may be reused */
void
history_rows_free(struct history_rows *rows)
{
	for (size_t i = 0; i < rows->n_rows * rows->n_cols; i++)
		free(rows->cells[i]);
	free(rows->cells);
	memset(rows, 0, sizeof(*rows));
}

/* history_rows_get - one cell, NULL when SQL NULL or out of range */
const char *
history_rows_get(const struct history_rows *rows, size_t row, size_t col)
{
	if (row >= rows->n_rows || col >= rows->n_cols)
		return NULL;
	return rows->cells[row * rows->n_cols + col];
}

/* stored_version - the schema version recorded in history_meta, 0 when none */
static bool
stored_version(struct history_db *db, long *version, struct buf *why)
{
	const char *const params[] = { HISTORY_SCHEMA_KEY };
	struct history_rows rows;
	const char *v;
	char *end;

	if (!history_db_query(db, "SELECT value FROM history_meta WHERE key = $1", params, 1,
			      &rows, why))
		return false;
	v = history_rows_get(&rows, 0, 0);
	*version = v ? strtol(v, &end, 10) : 0;
	if (v && (*end != '\0' || *version < 0)) {
		buf_reset(why);
		buf_printf(why, "history_meta: bad %s '%s'", HISTORY_SCHEMA_KEY, v);
		history_rows_free(&rows);
		return false;
	}
	history_rows_free(&rows);
	return true;
}

/* apply_steps - every step after the stored version, then record the new one */
static bool
apply_steps(struct history_db *db, long from, struct buf *why)
{
	char version[16];
	const char *const params[] = { HISTORY_SCHEMA_KEY, version };
	struct history_rows rows;

	if (from > HISTORY_SCHEMA_VERSION) {
		buf_reset(why);
		buf_printf(why, "store schema version %ld is newer than this program's (%d)",
			   from, HISTORY_SCHEMA_VERSION);
		return false;
	}
	if (from == HISTORY_SCHEMA_VERSION)
		return true;
	for (long v = from + 1; v <= HISTORY_SCHEMA_VERSION; v++)
		if (!history_db_exec(db, history_schema_step((int)v, db->ops == &history_db_pg_ops),
				     why))
			return false;
	snprintf(version, sizeof(version), "%d", HISTORY_SCHEMA_VERSION);
	if (!history_db_query(db, "INSERT INTO history_meta (key, value) VALUES ($1, $2)"
			      " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
			      params, 2, &rows, why))
		return false;
	history_rows_free(&rows);
	return true;
}

/* history_db_migrate - create/upgrade under the write lock (concurrent callers wait) */
bool
history_db_migrate(struct history_db *db, struct buf *why)
{
	long version = 0;

	if (!history_db_begin(db, why))
		return false;
	if ((db->ops->lock_migration && !history_db_exec(db, db->ops->lock_migration, why)) ||
	    !history_db_exec(db, history_schema_meta_sql, why) ||
	    !stored_version(db, &version, why) || !apply_steps(db, version, why) ||
	    !history_db_exec(db, "COMMIT", why)) {
		history_db_rollback(db);
		return false;
	}
	return true;
}

/* history_db_purge - delete messages received before older_than, in short batches */
bool
history_db_purge(struct history_db *db, long older_than, struct buf *why)
{
	char cutoff[24];
	const char *const params[] = { cutoff };
	struct history_rows rows;
	size_t n;

	snprintf(cutoff, sizeof(cutoff), "%ld", older_than);
	do {
		if (!history_db_query(db, "DELETE FROM history_message WHERE id IN"
				      " (SELECT id FROM history_message WHERE received < $1"
				      " LIMIT " STR(PURGE_BATCH) ") RETURNING id",
				      params, 1, &rows, why))
			return false;
		n = rows.n_rows;
		history_rows_free(&rows);
	} while (n == PURGE_BATCH);
	return true;
}
