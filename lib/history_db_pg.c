/*
 * history_db_pg - the PostgreSQL backend of the history store (libpq), so
 * that several MX hosts write one store. Notices are swallowed (lib/ never
 * logs); errors come back as the server's message.
 */
#include "history_db_impl.h"

#include <libpq-fe.h>
#include <string.h>

/* a connection attempt gives up after this many seconds unless the URL says */
#define CONNECT_TIMEOUT "5"
/* pg_advisory_xact_lock key of schema migrations: "amhist" in ASCII */
#define MIGRATION_LOCK "SELECT pg_advisory_xact_lock(120197726697844)"

/* fail - the server's or libpq's reason on one line (libpq writes several,
 * indented, with a trailing newline) */
static bool
fail(const char *what, const char *msg, struct buf *why)
{
	bool space = false;

	buf_reset(why);
	buf_printf(why, "postgresql: %s: ", what);
	for (const char *p = msg; *p; p++) {
		if (*p == '\n' || *p == '\t' || *p == '\r' || *p == ' ') {
			space = true;
			continue;
		}
		if (space && why->data[why->len - 1] != ' ')
			buf_addc(why, ' ');
		space = false;
		buf_addc(why, *p);
	}
	return false;
}

static void quiet(void *arg, const char *message) { (void)arg; (void)message; }

/* history_db_pg_open - connect; the URI's own connect_timeout wins over ours */
void *
history_db_pg_open(const char *conninfo, struct buf *why)
{
	const char *const keys[] = { "connect_timeout", "dbname", NULL };
	const char *const values[] = { CONNECT_TIMEOUT, conninfo, NULL };
	PGconn *conn = PQconnectdbParams(keys, values, 1);

	if (conn == NULL) {
		fail("connect", "out of memory", why);
		return NULL;
	}
	if (PQstatus(conn) != CONNECTION_OK) {
		fail("connect", PQerrorMessage(conn), why);
		PQfinish(conn);
		return NULL;
	}
	PQsetNoticeProcessor(conn, quiet, NULL);
	return conn;
}

/* done - check a result; true when it is one of the good statuses */
static bool
done(PGresult *res, PGconn *conn, const char *what, struct buf *why)
{
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return true;
	fail(what, res ? PQresultErrorMessage(res) : PQerrorMessage(conn), why);
	PQclear(res);
	return false;
}

/* pg_exec - run statements without parameters */
static bool
pg_exec(void *c, const char *sql, struct buf *why)
{
	PGresult *res = PQexec(c, sql);

	if (!done(res, c, "exec", why))
		return false;
	PQclear(res);
	return true;
}

/* pg_query - one statement with text parameters; rows as text */
static bool
pg_query(void *c, const char *sql, const char *const *params, size_t n_params,
	 struct history_rows *out, struct buf *why)
{
	PGresult *res;
	size_t n_rows, n_cols;

	memset(out, 0, sizeof(*out));
	if (n_params > 65535)
		return fail("query", "too many parameters", why);
	res = PQexecParams(c, sql, (int)n_params, NULL, params, NULL, NULL, 0);
	if (!done(res, c, "query", why))
		return false;
	n_rows = (size_t)PQntuples(res);
	n_cols = (size_t)PQnfields(res);
	history_rows_alloc(out, n_rows, n_cols);
	for (size_t r = 0; r < n_rows; r++)
		for (size_t col = 0; col < n_cols; col++)
			if (!PQgetisnull(res, (int)r, (int)col))
				out->cells[r * n_cols + col] =
					xstrdup(PQgetvalue(res, (int)r, (int)col));
	PQclear(res);
	return true;
}

static bool pg_ok(void *c) { return PQstatus(c) == CONNECTION_OK; }
static void pg_close(void *c) { PQfinish(c); }

const struct history_db_ops history_db_pg_ops = {
	.kind = "postgresql",
	.exec = pg_exec,
	.query = pg_query,
	.ok = pg_ok,
	.close = pg_close,
	.begin_write = "BEGIN",
	.lock_migration = MIGRATION_LOCK,
};
