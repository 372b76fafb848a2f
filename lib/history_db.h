/*
 * history_db - one connection to the DMARC history store, SQLite or
 * PostgreSQL, behind one small API: exec, parameterized query returning text
 * cells, migrate, purge. Not thread-safe: one connection per thread.
 *
 * URLs: "sqlite:PATH" (the file is created, WAL, busy timeout) or
 * "postgresql://..." / "postgres://..." (a libpq conninfo URI).
 * Parameters are written $1..$n in the SQL for both backends; values are
 * text, NULL means SQL NULL. Cells come back as text, NULL for SQL NULL.
 */
#ifndef AUTHMILTER_HISTORY_DB_H
#define AUTHMILTER_HISTORY_DB_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

struct history_db;

struct history_rows {
	size_t n_rows, n_cols;
	char **cells;		/* row-major: cells[r * n_cols + c]; NULL = SQL NULL */
};

/* connect and create/upgrade the schema (history_db_migrate);
 * NULL with *why set when the URL is bad or the store cannot be reached */
struct history_db *history_db_open(const char *url, struct buf *why);
void history_db_close(struct history_db *db);
const char *history_db_kind(const struct history_db *db);	/* "sqlite" | "postgresql" */
/* true when the connection is usable (PG: CONNECTION_OK; SQLite: the last
 * statement did not find the store locked past the busy timeout) */
bool history_db_ok(const struct history_db *db);

/* no parameters; may hold several statements */
bool history_db_exec(struct history_db *db, const char *sql, struct buf *why);
bool history_db_query(struct history_db *db, const char *sql, const char *const *params,
		      size_t n_params, struct history_rows *out, struct buf *why);
void history_rows_free(struct history_rows *rows);
/* the cell at (row, col), NULL when out of range or SQL NULL */
const char *history_rows_get(const struct history_rows *rows, size_t row, size_t col);

/* BEGIN taking the write lock at once (SQLite: BEGIN IMMEDIATE); end it with
 * history_db_exec(db, "COMMIT") or history_db_rollback */
bool history_db_begin(struct history_db *db, struct buf *why);
void history_db_rollback(struct history_db *db);

/* create/upgrade to the current schema version; safe to run concurrently
 * (PostgreSQL: an advisory lock; SQLite: BEGIN IMMEDIATE) */
bool history_db_migrate(struct history_db *db, struct buf *why);
/* delete messages (and their DKIM rows) with received < older_than (Unix seconds) */
bool history_db_purge(struct history_db *db, long older_than, struct buf *why);

#endif
