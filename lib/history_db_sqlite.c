/*
 * history_db_sqlite - the SQLite backend of the history store: one file in
 * WAL mode (readers never block the writer), a busy timeout so that the
 * milter's writer and authmilter-report can share it, foreign keys on so
 * purging a message removes its DKIM rows.
 */
#include "history_db_impl.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#define BUSY_TIMEOUT_MS 5000

/* fail - the reason of the last error on this connection */
static bool
fail(sqlite3 *conn, const char *what, struct buf *why)
{
	buf_reset(why);
	buf_printf(why, "sqlite: %s: %s", what, sqlite3_errmsg(conn));
	return false;
}

/* history_db_sqlite_open - open or create the file, WAL, busy timeout */
void *
history_db_sqlite_open(const char *path, struct buf *why)
{
	sqlite3 *conn = NULL;
	static const char setup[] = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
				    " PRAGMA foreign_keys=ON;";

	if (*path == '\0') {
		buf_reset(why);
		buf_adds(why, "sqlite: empty path");
		return NULL;
	}
	if (sqlite3_open_v2(path, &conn, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		if (conn == NULL) {
			buf_reset(why);
			buf_printf(why, "sqlite: %s: cannot open", path);
		} else {
			fail(conn, path, why);
			sqlite3_close(conn);
		}
		return NULL;
	}
	sqlite3_busy_timeout(conn, BUSY_TIMEOUT_MS);
	if (sqlite3_exec(conn, setup, NULL, NULL, NULL) != SQLITE_OK) {
		fail(conn, path, why);
		sqlite3_close(conn);
		return NULL;
	}
	return conn;
}

/* sqlite_exec - run statements without parameters */
static bool
sqlite_exec(void *c, const char *sql, struct buf *why)
{
	sqlite3 *conn = c;

	if (sqlite3_exec(conn, sql, NULL, NULL, NULL) != SQLITE_OK)
		return fail(conn, "exec", why);
	return true;
}

/* bind - bind $1..$n as text; a name the SQL does not use is skipped */
static bool
bind(sqlite3_stmt *stmt, const char *const *params, size_t n_params)
{
	char name[24];

	for (size_t i = 0; i < n_params; i++) {
		int idx;

		snprintf(name, sizeof(name), "$%zu", i + 1);
		idx = sqlite3_bind_parameter_index(stmt, name);
		if (idx == 0)
			continue;
		if ((params[i] == NULL ? sqlite3_bind_null(stmt, idx)
		     : sqlite3_bind_text(stmt, idx, params[i], -1, SQLITE_STATIC)) != SQLITE_OK)
			return false;
	}
	return true;
}

/* collect - step through the rows, growing the table as they come */
static int
collect(sqlite3_stmt *stmt, struct history_rows *out)
{
	size_t cap = 0, n_cols = (size_t)sqlite3_column_count(stmt);
	int rc;

	out->n_cols = n_cols;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (out->n_rows == cap) {
			cap = cap ? 2 * cap : 8;
			out->cells = xrealloc(out->cells, cap * (n_cols ? n_cols : 1) * sizeof(char *));
		}
		for (size_t c = 0; c < n_cols; c++) {
			const unsigned char *v = sqlite3_column_text(stmt, (int)c);

			out->cells[out->n_rows * n_cols + c] = v ? xstrdup((const char *)v) : NULL;
		}
		out->n_rows++;
	}
	return rc;
}

/* sqlite_query - one statement with text parameters; rows as text */
static bool
sqlite_query(void *c, const char *sql, const char *const *params, size_t n_params,
	     struct history_rows *out, struct buf *why)
{
	sqlite3 *conn = c;
	sqlite3_stmt *stmt = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (sqlite3_prepare_v2(conn, sql, -1, &stmt, NULL) != SQLITE_OK)
		return fail(conn, "prepare", why);
	if (!bind(stmt, params, n_params)) {
		fail(conn, "bind", why);
		sqlite3_finalize(stmt);
		return false;
	}
	rc = collect(stmt, out);
	if (rc != SQLITE_DONE) {
		fail(conn, "step", why);
		sqlite3_finalize(stmt);
		history_rows_free(out);
		return false;
	}
	sqlite3_finalize(stmt);
	return true;
}

static bool sqlite_ok(void *c) { (void)c; return true; }
static void sqlite_close(void *c) { sqlite3_close(c); }

const struct history_db_ops history_db_sqlite_ops = {
	.kind = "sqlite",
	.exec = sqlite_exec,
	.query = sqlite_query,
	.ok = sqlite_ok,
	.close = sqlite_close,
	.begin_write = "BEGIN IMMEDIATE",
	.lock_migration = NULL,
};
