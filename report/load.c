/*
 * load - history rows into an aggregate report. Messages are read in pages
 * ordered by id, and their DKIM rows for the same id range, so a busy
 * domain's day never sits in memory as rows, only as grouped records.
 */
#include "load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const sql_domains =
	"SELECT DISTINCT policy_domain FROM history_message"
	" WHERE received >= $1 AND received <= $2 ORDER BY policy_domain";
static const char *const sql_domain_one =
	"SELECT DISTINCT policy_domain FROM history_message"
	" WHERE received >= $1 AND received <= $2 AND policy_domain = $3";
static const char *const sql_policy =
	"SELECT policy_domain, p, sp, np, adkim, aspf, testing, discovery, fo, rua, ruf"
	" FROM history_message WHERE policy_domain = $1 AND received >= $2 AND received <= $3"
	" ORDER BY received DESC, id DESC LIMIT 1";
static const char *const sql_messages =
	"SELECT id, source_ip, header_from, envelope_from, envelope_to, dmarc_result,"
	" dkim_aligned, spf_aligned, disposition, override_type, override_comment,"
	" spf_domain, spf_scope, spf_result, p"
	" FROM history_message WHERE policy_domain = $1 AND received >= $2 AND received <= $3"
	" AND id > $4 ORDER BY id LIMIT 5000";
static const char *const sql_dkim =
	"SELECT d.message_id, d.domain, d.selector, d.result, d.human"
	" FROM history_dkim d JOIN history_message m ON m.id = d.message_id"
	" WHERE m.policy_domain = $1 AND m.received >= $2 AND m.received <= $3"
	" AND d.message_id > $4 AND d.message_id <= $5 ORDER BY d.message_id, d.seq";

/* load_domains - which domains get a report */
bool
load_domains(struct history_db *db, long begin, long end, const char *only_domain,
	     struct load_domains *out, struct buf *why)
{
	char b[32], e[32];
	const char *params[3] = { b, e, only_domain };
	struct history_rows rows;

	memset(out, 0, sizeof(*out));
	snprintf(b, sizeof(b), "%ld", begin);
	snprintf(e, sizeof(e), "%ld", end);
	if (!history_db_query(db, only_domain ? sql_domain_one : sql_domains, params,
			      only_domain ? 3 : 2, &rows, why))
		return false;
	out->names = xcalloc(rows.n_rows + 1, sizeof(char *));
	for (size_t r = 0; r < rows.n_rows; r++)
		if (history_rows_get(&rows, r, 0))
			out->names[out->n++] = xstrdup(history_rows_get(&rows, r, 0));
	history_rows_free(&rows);
	return true;
}

/* load_domains_free - release the list */
void
load_domains_free(struct load_domains *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->names[i]);
	free(d->names);
	memset(d, 0, sizeof(*d));
}

/* load_policy - policy_published from the newest row */
static bool
load_policy(struct history_db *db, const char *const *params, struct agg_report *rep,
	    struct buf *why)
{
	struct history_rows rows;
	struct agg_policy pol;

	if (!history_db_query(db, sql_policy, params, 3, &rows, why))
		return false;
	if (rows.n_rows == 0) {
		history_rows_free(&rows);
		buf_printf(why, "no rows for %s in the period", params[0]);
		return false;
	}
#define CELL(c) ((char *)history_rows_get(&rows, 0, (c)))
	pol = (struct agg_policy){ CELL(0), CELL(1), CELL(2), CELL(3), CELL(4), CELL(5),
				   CELL(6), CELL(7), CELL(8), CELL(9), CELL(10) };
#undef CELL
	agg_set_policy(rep, &pol);
	history_rows_free(&rows);
	return true;
}

/* add_page - one page of messages, with the DKIM rows dk[*di..] of each */
static void
add_page(struct agg_report *rep, const struct history_rows *m, const struct history_rows *dk)
{
	struct agg_dkim *sigs = NULL;
	size_t di = 0, cap = 0;

	for (size_t r = 0; r < m->n_rows; r++) {
		const char *id = history_rows_get(m, r, 0);
		size_t n = 0;
		while (di < dk->n_rows && strtoll(history_rows_get(dk, di, 0), NULL, 10)
		       < strtoll(id, NULL, 10))
			di++;	/* cannot happen with both ordered by id; kept for safety */
		for (; di < dk->n_rows && strcmp(history_rows_get(dk, di, 0), id) == 0; di++) {
			if (n == cap) {
				cap = cap ? cap * 2 : 8;
				sigs = xrealloc(sigs, cap * sizeof(*sigs));
			}
			sigs[n++] = (struct agg_dkim){ history_rows_get(dk, di, 1),
				history_rows_get(dk, di, 2), history_rows_get(dk, di, 3),
				history_rows_get(dk, di, 4) };
		}
#define C(c) history_rows_get(m, r, (c))
		struct agg_msg msg = {
			.source_ip = C(1), .header_from = C(2), .envelope_from = C(3),
			.envelope_to = C(4), .dmarc_result = C(5), .dkim_aligned = C(6),
			.spf_aligned = C(7), .disposition = C(8), .override_type = C(9),
			.override_comment = C(10), .spf_domain = C(11), .spf_scope = C(12),
			.spf_result = C(13), .p = C(14), .dkim = sigs, .n_dkim = n,
		};
#undef C
		agg_add(rep, &msg);
	}
	free(sigs);
}

/* load_report - the domain's report for rep's period */
bool
load_report(struct history_db *db, const char *domain, struct agg_report *rep,
	    struct buf *why)
{
	char b[32], e[32], last[32] = "0", hi[32];
	const char *params[5] = { domain, b, e, last, hi };
	struct history_rows m, dk;
	bool ok = true;

	snprintf(b, sizeof(b), "%ld", rep->begin);
	snprintf(e, sizeof(e), "%ld", rep->end);
	if (!load_policy(db, params, rep, why))
		return false;
	for (;;) {
		if (!history_db_query(db, sql_messages, params, 4, &m, why))
			return false;
		if (m.n_rows == 0) {
			history_rows_free(&m);
			break;
		}
		snprintf(hi, sizeof(hi), "%s", history_rows_get(&m, m.n_rows - 1, 0));
		ok = history_db_query(db, sql_dkim, params, 5, &dk, why);
		if (ok) {
			add_page(rep, &m, &dk);
			history_rows_free(&dk);
		}
		history_rows_free(&m);
		if (!ok)
			return false;
		snprintf(last, sizeof(last), "%s", hi);
	}
	agg_finish(rep);
	return true;
}
