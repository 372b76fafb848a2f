/*
 * history_store - insert history rows (schema v1) into an open store, and
 * the process-wide row counters the metrics and the daemon's log read.
 */
#include "history_writer.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

static atomic_ulong n_written, n_dropped, n_failed;

void history_count_written(unsigned long n) { atomic_fetch_add(&n_written, n); }
void history_count_dropped(unsigned long n) { atomic_fetch_add(&n_dropped, n); }
void history_count_failed(unsigned long n) { atomic_fetch_add(&n_failed, n); }

/* history_counts_get - the counters since the process started */
void
history_counts_get(struct history_counts *out)
{
	out->written = atomic_load(&n_written);
	out->dropped = atomic_load(&n_dropped);
	out->failed = atomic_load(&n_failed);
}

/* history_url_ok - sqlite:/ABSOLUTE/PATH (the daemon changes its directory
 * to /) or a postgresql:// URI */
bool
history_url_ok(const char *url)
{
	return (strncmp(url, "sqlite:", 7) == 0 && url[7] == '/')
	    || strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0;
}

static const char message_sql[] =
	"INSERT INTO history_message (received, mta, source_ip, header_from, envelope_from,"
	" envelope_to, helo, policy_domain, discovery, p, sp, np, adkim, aspf, testing, pct,"
	" fo, rua, ruf, dmarc_result, dkim_aligned, spf_aligned, disposition, override_type,"
	" override_comment, spf_domain, spf_scope, spf_result, failure_fo, failure_headers,"
	" failure_body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,"
	" $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31)"
	" RETURNING id";

static const char dkim_sql[] =
	"INSERT INTO history_dkim (message_id, seq, domain, selector, result, human)"
	" VALUES ($1, $2, $3, $4, $5, $6)";

/* insert_dkim - the row's signatures under message id */
static bool
insert_dkim(struct history_db *db, const struct history_row *row, const char *id,
	    struct buf *why)
{
	struct history_rows res;
	char seq[24];

	for (size_t i = 0; i < row->n_dkim; i++) {
		const struct history_dkim_result *d = &row->dkim[i];
		const char *const params[] = { id, seq, d->domain, d->selector, d->result, d->human };

		snprintf(seq, sizeof(seq), "%zu", i);
		if (!history_db_query(db, dkim_sql, params, 6, &res, why))
			return false;
		history_rows_free(&res);
	}
	return true;
}

/* insert_row - one message and its signatures */
static bool
insert_row(struct history_db *db, const struct history_row *r, struct buf *why)
{
	char received[24], pct[16], adkim[2] = { r->adkim, 0 }, aspf[2] = { r->aspf, 0 };
	char testing[2] = { r->testing, 0 };
	const char *const params[] = {
		received, r->mta, r->source_ip, r->header_from, r->envelope_from, r->envelope_to,
		r->helo, r->policy_domain, r->discovery, r->p, r->sp, r->np, adkim, aspf, testing,
		r->pct >= 0 ? pct : NULL, r->fo, r->rua, r->ruf, r->dmarc_result, r->dkim_aligned,
		r->spf_aligned, r->disposition, r->override_type, r->override_comment,
		r->spf_domain, r->spf_scope, r->spf_result, r->failure_fo, r->failure_headers,
		r->failure_body,
	};
	struct history_rows res;
	bool ok;

	snprintf(received, sizeof(received), "%ld", r->received);
	snprintf(pct, sizeof(pct), "%d", r->pct);
	if (!history_db_query(db, message_sql, params, sizeof(params) / sizeof(params[0]), &res,
			      why))
		return false;
	ok = res.n_rows == 1 && history_rows_get(&res, 0, 0) != NULL;
	if (!ok) {
		buf_reset(why);
		buf_adds(why, "insert returned no id");
	}
	ok = ok && insert_dkim(db, r, history_rows_get(&res, 0, 0), why);
	history_rows_free(&res);
	return ok;
}

/* history_store_rows - rows in one transaction; all or none */
bool
history_store_rows(struct history_db *db, struct history_row *const *rows, size_t n,
		   struct buf *why)
{
	if (!history_db_begin(db, why))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!insert_row(db, rows[i], why)) {
			history_db_rollback(db);
			return false;
		}
	if (!history_db_exec(db, "COMMIT", why)) {
		history_db_rollback(db);
		return false;
	}
	return true;
}
