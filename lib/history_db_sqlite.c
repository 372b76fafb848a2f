/*
 * history_db_sqlite - the SQLite backend of the history store: one file in
 * WAL mode (readers never block the writer), a busy timeout so that the
 * milter's writer and authmilter-report can share it, foreign keys on so
 * purging a message removes its DKIM rows. A connection keeps its last
 * statements prepared: the writer runs the same two INSERTs for every row,
 * and compiling them each time was most of its CPU per row.
 */
#include "history_db_impl.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUSY_TIMEOUT_MS 5000
/* statements kept prepared per connection: the writer's two INSERTs, the
 * purge and the migration's, or a report run's few; the oldest makes room */
#define STMT_CACHE 8

struct sqlite_conn {
	sqlite3 *db;
	struct {
		char *sql;		/* the text it was prepared from; NULL: free slot */
		sqlite3_stmt *stmt;
	} cache[STMT_CACHE];
	size_t next;			/* the slot the next new statement takes */
	bool locked_out;		/* a call found the store locked past the busy timeout */
};

/* fail - the reason of the last error on this connection */
static bool
fail(sqlite3 *conn, const char *what, struct buf *why)
{
	buf_reset(why);
	buf_printf(why, "sqlite: %s: %s", what, sqlite3_errmsg(conn));
	return false;
}

/* conn_fail - fail, remembering a store locked past the busy timeout: what
 * follows (a ROLLBACK that works) would clear sqlite3_errcode */
static bool
conn_fail(struct sqlite_conn *c, const char *what, struct buf *why)
{
	int rc = sqlite3_errcode(c->db);

	if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
		c->locked_out = true;
	return fail(c->db, what, why);
}

/* history_db_sqlite_open - open or create the file, WAL, busy timeout */
void *
history_db_sqlite_open(const char *path, struct buf *why)
{
	sqlite3 *conn = NULL;
	struct sqlite_conn *c;
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
	c = xcalloc(1, sizeof(*c));
	c->db = conn;
	return c;
}

/* sqlite_exec - run statements without parameters */
static bool
sqlite_exec(void *c, const char *sql, struct buf *why)
{
	struct sqlite_conn *conn = c;

	if (sqlite3_exec(conn->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return conn_fail(conn, "exec", why);
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

/* prepared - the statement for sql, from the cache or compiled into it
 * (SQLite recompiles a cached one by itself when the schema changed) */
static sqlite3_stmt *
prepared(struct sqlite_conn *c, const char *sql)
{
	sqlite3_stmt *stmt;
	size_t slot;

	for (size_t i = 0; i < STMT_CACHE; i++)
		if (c->cache[i].sql && strcmp(c->cache[i].sql, sql) == 0)
			return c->cache[i].stmt;
	if (sqlite3_prepare_v2(c->db, sql, -1, &stmt, NULL) != SQLITE_OK)
		return NULL;
	slot = c->next;
	c->next = (c->next + 1) % STMT_CACHE;
	sqlite3_finalize(c->cache[slot].stmt);
	free(c->cache[slot].sql);
	c->cache[slot].sql = xstrdup(sql);
	c->cache[slot].stmt = stmt;
	return stmt;
}

/* sqlite_query - one statement with text parameters; rows as text. The
 * statement goes back to the cache reset, its parameters cleared (they
 * are the caller's, bound without a copy). */
static bool
sqlite_query(void *c, const char *sql, const char *const *params, size_t n_params,
	     struct history_rows *out, struct buf *why)
{
	struct sqlite_conn *conn = c;
	sqlite3_stmt *stmt;
	bool ok;

	memset(out, 0, sizeof(*out));
	stmt = prepared(c, sql);
	if (stmt == NULL)
		return conn_fail(conn, "prepare", why);
	ok = bind(stmt, params, n_params);
	if (!ok)
		conn_fail(conn, "bind", why);
	else if (!(ok = collect(stmt, out) == SQLITE_DONE)) {
		conn_fail(conn, "step", why);
		history_rows_free(out);
	}
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	return ok;
}

/* sqlite_ok - false once a call found the store locked past the busy
 * timeout (another process's long write): that is a store not there for
 * now, whose rows wait, not a row the store refused. The writer closes
 * and reopens the connection then, so the flag is never cleared. */
static bool
sqlite_ok(void *c)
{
	return !((struct sqlite_conn *)c)->locked_out;
}

/* sqlite_close - the cached statements first: a connection with statements
 * left is not closed */
static void
sqlite_close(void *conn)
{
	struct sqlite_conn *c = conn;

	for (size_t i = 0; i < STMT_CACHE; i++) {
		sqlite3_finalize(c->cache[i].stmt);
		free(c->cache[i].sql);
	}
	sqlite3_close(c->db);
	free(c);
}

const struct history_db_ops history_db_sqlite_ops = {
	.kind = "sqlite",
	.exec = sqlite_exec,
	.query = sqlite_query,
	.ok = sqlite_ok,
	.close = sqlite_close,
	.begin_write = "BEGIN IMMEDIATE",
	.lock_migration = NULL,
};
