/*
 * state - report_sent and report_backoff. Every statement is one that
 * SQLite and PostgreSQL both read the same way (INSERT ... ON CONFLICT).
 */
#include "state.h"

#include "rlog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const sql_tables =
	"CREATE TABLE IF NOT EXISTS report_sent("
	" kind TEXT NOT NULL, policy_domain TEXT NOT NULL,"
	" period_begin BIGINT NOT NULL, period_end BIGINT NOT NULL,"
	" destination TEXT NOT NULL, state TEXT NOT NULL, host TEXT NOT NULL,"
	" claimed BIGINT NOT NULL, sent BIGINT,"
	" UNIQUE(kind, policy_domain, period_begin, period_end, destination));"
	"CREATE INDEX IF NOT EXISTS report_sent_dest ON report_sent(destination, kind, sent);"
	"CREATE TABLE IF NOT EXISTS report_backoff("
	" destination TEXT PRIMARY KEY, failures INTEGER NOT NULL,"
	" next_try BIGINT NOT NULL, last_error TEXT);"
	"INSERT INTO history_meta(key, value) VALUES('report_schema_version', '1')"
	" ON CONFLICT(key) DO UPDATE SET value = excluded.value;";

/* state_migrate - create our tables (idempotent) */
bool
state_migrate(struct history_db *db, struct buf *why)
{
	return history_db_exec(db, sql_tables, why);
}

/* key_params - the key as $1..$5 */
static void
key_params(const struct state_key *k, char *b, char *e, const char **p)
{
	snprintf(b, 32, "%ld", k->begin);
	snprintf(e, 32, "%ld", k->end);
	p[0] = k->kind;
	p[1] = k->domain;
	p[2] = b;
	p[3] = e;
	p[4] = k->destination;
}

/* state_claim - insert the claim, or find who holds it */
enum state_claim
state_claim(struct history_db *db, const struct state_key *k, const char *host, long now,
	    struct buf *why)
{
	char b[32], e[32], t[32], stale[32];
	const char *p[8];
	struct history_rows rows;
	enum state_claim rc;

	key_params(k, b, e, p);
	snprintf(t, sizeof(t), "%ld", now);
	snprintf(stale, sizeof(stale), "%ld", now - STATE_STALE_CLAIM);
	p[5] = host;
	p[6] = t;
	p[7] = stale;
	/* a stale claim of another host (it died) is taken over */
	if (!history_db_query(db, "INSERT INTO report_sent(kind, policy_domain, period_begin,"
			      " period_end, destination, state, host, claimed)"
			      " VALUES($1, $2, $3, $4, $5, 'claimed', $6, $7)"
			      " ON CONFLICT(kind, policy_domain, period_begin, period_end, destination)"
			      " DO UPDATE SET host = excluded.host, claimed = excluded.claimed"
			      " WHERE report_sent.state = 'claimed' AND report_sent.claimed < $8",
			      p, 8, &rows, why))
		return STATE_CLAIM_ERROR;
	history_rows_free(&rows);
	if (!history_db_query(db, "SELECT state, host FROM report_sent WHERE kind = $1"
			      " AND policy_domain = $2 AND period_begin = $3 AND period_end = $4"
			      " AND destination = $5", p, 5, &rows, why))
		return STATE_CLAIM_ERROR;
	if (rows.n_rows != 1) {
		buf_adds(why, "report_sent: the claim just made is not there");
		rc = STATE_CLAIM_ERROR;
	} else if (strcmp(history_rows_get(&rows, 0, 0), "claimed") != 0) {
		/* 'sent', or 'suppressed' (a failure report over the rate limit): final */
		rc = STATE_CLAIM_SENT;
	} else {
		rc = strcmp(history_rows_get(&rows, 0, 1), host) == 0 ? STATE_CLAIM_OURS
			: STATE_CLAIM_OTHER;
	}
	history_rows_free(&rows);
	return rc;
}

/* state_mark_sent - the MTA has the message */
bool
state_mark_sent(struct history_db *db, const struct state_key *k, long now, struct buf *why)
{
	return state_mark(db, k, "sent", now, why);
}

/* state_mark - a final state: 'sent' or 'suppressed' */
bool
state_mark(struct history_db *db, const struct state_key *k, const char *state, long now,
	   struct buf *why)
{
	char b[32], e[32], t[32];
	const char *p[7];
	struct history_rows rows;

	key_params(k, b, e, p);
	snprintf(t, sizeof(t), "%ld", now);
	p[5] = t;
	p[6] = state;
	if (!history_db_query(db, "UPDATE report_sent SET state = $7, sent = $6"
			      " WHERE kind = $1 AND policy_domain = $2 AND period_begin = $3"
			      " AND period_end = $4 AND destination = $5", p, 7, &rows, why))
		return false;
	history_rows_free(&rows);
	return true;
}

/* one_long - the first cell of a one-row query as a number, dflt when none */
static long
one_long(struct history_db *db, const char *sql, const char *const *p, size_t n, long dflt)
{
	struct history_rows rows;
	struct buf why;
	long v = dflt;

	buf_init(&why);
	if (history_db_query(db, sql, p, n, &rows, &why)) {
		if (rows.n_rows > 0 && history_rows_get(&rows, 0, 0))
			v = strtol(history_rows_get(&rows, 0, 0), NULL, 10);
		history_rows_free(&rows);
	} else {
		rlog("history store: %s", why.data);
	}
	buf_free(&why);
	return v;
}

/* state_backoff_until - when a failing destination may be tried again */
long
state_backoff_until(struct history_db *db, const char *destination, long now)
{
	const char *p[1] = { destination };
	long until = one_long(db, "SELECT next_try FROM report_backoff WHERE destination = $1",
			      p, 1, 0);

	return until > now ? until : 0;
}

/* state_backoff_fail - one more failure: wait BASE * 2^(failures-1), capped */
void
state_backoff_fail(struct history_db *db, const char *destination, long now, const char *error)
{
	const char *p1[1] = { destination };
	long failures = one_long(db, "SELECT failures FROM report_backoff WHERE destination = $1",
				 p1, 1, 0) + 1;
	long wait = STATE_BACKOFF_BASE;
	char f[32], t[32];
	const char *p[4] = { destination, f, t, error };
	struct history_rows rows;
	struct buf why;

	for (long i = 1; i < failures && wait < STATE_BACKOFF_MAX; i++)
		wait *= 2;
	if (wait > STATE_BACKOFF_MAX)
		wait = STATE_BACKOFF_MAX;
	snprintf(f, sizeof(f), "%ld", failures);
	snprintf(t, sizeof(t), "%ld", now + wait);
	buf_init(&why);
	if (history_db_query(db, "INSERT INTO report_backoff(destination, failures, next_try,"
			     " last_error) VALUES($1, $2, $3, $4) ON CONFLICT(destination) DO UPDATE"
			     " SET failures = excluded.failures, next_try = excluded.next_try,"
			     " last_error = excluded.last_error", p, 4, &rows, &why))
		history_rows_free(&rows);
	else
		rlog("cannot record the back-off of %s: %s", destination, why.data);
	buf_free(&why);
}

/* state_backoff_clear - the destination works again */
void
state_backoff_clear(struct history_db *db, const char *destination)
{
	const char *p[1] = { destination };
	struct history_rows rows;
	struct buf why;

	buf_init(&why);
	if (history_db_query(db, "DELETE FROM report_backoff WHERE destination = $1", p, 1,
			     &rows, &why))
		history_rows_free(&rows);
	else
		rlog("cannot clear the back-off of %s: %s", destination, why.data);
	buf_free(&why);
}

/* state_last_sent - for FailureReportsInterval */
long
state_last_sent(struct history_db *db, const char *kind, const char *destination)
{
	const char *p[2] = { kind, destination };

	return one_long(db, "SELECT MAX(sent) FROM report_sent WHERE kind = $1"
			" AND destination = $2 AND state = 'sent'", p, 2, 0);
}
