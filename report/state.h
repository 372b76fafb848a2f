/*
 * state - what authmilter-report remembers in the history store, in its
 * own tables: report_sent (one row per report kind, policy domain, period
 * and destination: claimed before sending, marked sent after the MTA took
 * it) and report_backoff (destinations that keep failing wait longer each
 * time). Its schema version is history_meta's 'report_schema_version'.
 */
#ifndef AUTHMILTER_REPORT_STATE_H
#define AUTHMILTER_REPORT_STATE_H

#include <stdbool.h>

#include "buf.h"
#include "history_db.h"

#define STATE_SCHEMA_VERSION 1
#define STATE_STALE_CLAIM 3600		/* another host's claim older than this is taken over */
#define STATE_BACKOFF_BASE 900		/* first wait after a failure, doubled each time */
#define STATE_BACKOFF_MAX (7 * 86400)

struct state_key {
	const char *kind;		/* "aggregate" | "failure" */
	const char *domain;
	long begin, end;
	const char *destination;	/* the address */
};

enum state_claim {
	STATE_CLAIM_OURS,	/* ours to send (new, or left by an earlier run of this host) */
	STATE_CLAIM_SENT,	/* already sent */
	STATE_CLAIM_OTHER,	/* another host is sending it */
	STATE_CLAIM_ERROR,
};

bool state_migrate(struct history_db *db, struct buf *why);
enum state_claim state_claim(struct history_db *db, const struct state_key *k, const char *host,
			     long now, struct buf *why);
bool state_mark_sent(struct history_db *db, const struct state_key *k, long now,
		     struct buf *why);
bool state_mark(struct history_db *db, const struct state_key *k, const char *state, long now,
		struct buf *why);
/* 0: may send now; otherwise the time the destination's back-off ends */
long state_backoff_until(struct history_db *db, const char *destination, long now);
void state_backoff_fail(struct history_db *db, const char *destination, long now,
			const char *error);
void state_backoff_clear(struct history_db *db, const char *destination);
/* the newest failure report sent to destination, 0 for none */
long state_last_sent(struct history_db *db, const char *kind, const char *destination);

#endif
