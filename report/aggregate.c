/*
 * aggregate - one RFC 9990 aggregate report per policy domain of the
 * period: build, gzip, name, address and hand each copy to report_deliver.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "load.h"
#include "mime.h"
#include "report.h"
#include "rhash.h"
#include "rlog.h"

#define GENERATOR "authmilter-report " PACKAGE_VERSION

/* report_id - the same for the same receiver, domain and period, so a rerun
 * after a crash rebuilds the very report it may have sent */
static char *
report_id(const struct report_run *run, const char *domain)
{
	char b[32], e[32];
	const char *parts[4] = { run->receiver, domain, b, e };
	struct buf id;

	snprintf(b, sizeof(b), "%ld", run->begin);
	snprintf(e, sizeof(e), "%ld", run->end);
	buf_init(&id);
	buf_printf(&id, "%ld.%016llx", run->begin, (unsigned long long)rhash_parts(parts, 4));
	return buf_steal(&id);
}

/* build_message - the mail for one destination */
static void
build_message(const struct report_run *run, const char *domain, const char *id,
	      const char *name, const struct dest *d, const struct buf *gz, struct buf *msg)
{
	struct buf text, mid;
	const char *parts[2] = { id, d->address };

	buf_init(&text);
	buf_init(&mid);
	buf_printf(&text, "This is a DMARC aggregate report (RFC 9990) from %s for %s,\r\n"
		   "covering %ld to %ld (Unix time, UTC). The report is attached.",
		   run->receiver, domain, run->begin, run->end);
	buf_printf(&mid, "%s.%016llx@%s", id, (unsigned long long)rhash_parts(parts, 2),
		   run->receiver);
	struct mime_report r = {
		.from = run->email, .to = d->address, .policy_domain = domain,
		.submitter = run->receiver, .report_id = id, .filename = name,
		.text = text.data, .content_type = "application/gzip", .date = run->now,
		.message_id = mid.data,
	};
	mime_message(&r, gz->data, gz->len, msg);
	buf_free(&text);
	buf_free(&mid);
}

/* write_file - dry run output */
static bool
write_file(const char *dir, const char *name, const struct buf *data)
{
	struct buf p;
	FILE *fp;
	bool ok;

	buf_init(&p);
	buf_printf(&p, "%s/%s", dir, name);
	fp = fopen(p.data, "wb");
	ok = fp && fwrite(data->data, 1, data->len, fp) == data->len;
	if (fp && fclose(fp) != 0)
		ok = false;
	if (!ok)
		rlog("cannot write %s", p.data);
	buf_free(&p);
	return ok;
}

/* one_domain - build and deliver the domain's report; false when the store failed */
static bool
one_domain(struct report_run *run, const char *domain)
{
	struct agg_report rep;
	struct buf xml, gz, why, name, notes;
	struct dest_list dl;
	char *id = report_id(run, domain);
	bool ok;

	agg_init(&rep, run->begin, run->end);
	buf_init(&xml);
	buf_init(&gz);
	buf_init(&why);
	buf_init(&name);
	buf_init(&notes);
	ok = load_report(run->db, domain, &rep, &why);
	if (!ok) {
		rlog("%s: cannot read its rows: %s", domain, why.data);
		goto out;
	}
	agg_xml(&rep, &(struct agg_meta){ run->org_name, run->email, id, GENERATOR }, &xml);
	if (!mime_gzip(xml.data, xml.len, &gz, &why)) {
		rlog("%s: %s", domain, why.data);
		run->failed++;
		goto out;
	}
	buf_printf(&name, "%s!%s!%ld!%ld!%s.xml.gz", run->receiver, domain, run->begin,
		   run->end, id);
	if (run->dry_run)
		write_file(run->dry_run, name.data, &gz);
	dest_select(&run->rt->dmarc, domain, rep.policy.rua, &run->suppress,
		    (size_t)run->rt->cfg.report_max_recipients, &dl, &notes);
	report_log_notes(domain, "destination", &notes);
	report_count_dests(run, &dl);
	if (dl.n == 0)
		rlog("%s: %ld messages, %zu records, no destination (rua=%s)", domain,
		     rep.n_messages, rep.n_records, rep.policy.rua ? rep.policy.rua : "none");
	for (size_t i = 0; i < dl.n; i++) {
		struct buf msg;
		buf_init(&msg);
		build_message(run, domain, id, name.data, &dl.items[i], &gz, &msg);
		report_deliver(run, "aggregate", domain, run->begin, run->end, &dl.items[i],
			       name.data, &msg);
		buf_free(&msg);
	}
	dest_list_free(&dl);
out:
	agg_free(&rep);
	buf_free(&xml);
	buf_free(&gz);
	buf_free(&why);
	buf_free(&name);
	buf_free(&notes);
	free(id);
	return ok;
}

/* retry_pending - reports of earlier periods this host claimed but could not
 * send (the MTA failed, or a destination was backed off): the daily run of a
 * new period would otherwise never send them. Rows older than HistoryKeep
 * are gone, so those claims are left alone. */
static bool
retry_pending(struct report_run *run)
{
	static const char *const sql =
		"SELECT DISTINCT policy_domain, period_begin, period_end FROM report_sent"
		" WHERE kind = 'aggregate' AND state = 'claimed' AND host = $1"
		" AND NOT (period_begin = $2 AND period_end = $3) AND period_begin >= $4"
		" ORDER BY period_begin, policy_domain";
	char b[32], e[32], keep[32];
	const char *params[4] = { run->host, b, e, keep };
	struct history_rows rows;
	struct buf why;
	long begin = run->begin, end = run->end;
	bool ok = true;

	snprintf(b, sizeof(b), "%ld", begin);
	snprintf(e, sizeof(e), "%ld", end);
	snprintf(keep, sizeof(keep), "%ld", run->now - 86400L * run->rt->cfg.history_keep);
	buf_init(&why);
	if (!history_db_query(run->db, sql, params, 4, &rows, &why)) {
		rlog("report_sent: %s", why.data);
		buf_free(&why);
		return false;
	}
	for (size_t r = 0; r < rows.n_rows; r++) {
		run->begin = strtol(history_rows_get(&rows, r, 1), NULL, 10);
		run->end = strtol(history_rows_get(&rows, r, 2), NULL, 10);
		rlog("retrying %s for %ld..%ld (not sent by an earlier run)",
		     history_rows_get(&rows, r, 0), run->begin, run->end);
		ok = one_domain(run, history_rows_get(&rows, r, 0)) && ok;
	}
	run->begin = begin;
	run->end = end;
	history_rows_free(&rows);
	buf_free(&why);
	return ok;
}

/* utc_range - "2026-12-04T00:00:00Z..2026-12-04T23:59:59Z": the period for people */
static const char *
utc_range(long begin, long end, char *s, size_t size)
{
	time_t b = (time_t)begin, e = (time_t)end;
	struct tm tb, te;

	gmtime_r(&b, &tb);
	gmtime_r(&e, &te);
	snprintf(s, size, "%04d-%02d-%02dT%02d:%02d:%02dZ..%04d-%02d-%02dT%02d:%02d:%02dZ",
		 tb.tm_year + 1900, tb.tm_mon + 1, tb.tm_mday, tb.tm_hour, tb.tm_min, tb.tm_sec,
		 te.tm_year + 1900, te.tm_mon + 1, te.tm_mday, te.tm_hour, te.tm_min, te.tm_sec);
	return s;
}

/* report_aggregate - every domain of the period */
bool
report_aggregate(struct report_run *run)
{
	char range[96];
	struct load_domains doms;
	struct buf why;
	char *only = run->only_domain ? xstrdup(run->only_domain) : NULL;
	bool ok = true;

	buf_init(&why);
	for (char *p = only; p && *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	if (!load_domains(run->db, run->begin, run->end, only, &doms, &why)) {
		rlog("history store: %s", why.data);
		buf_free(&why);
		free(only);
		return false;
	}
	rlog("period %ld..%ld: %zu policy domains with rows (%s)", run->begin, run->end, doms.n,
	     utc_range(run->begin, run->end, range, sizeof(range)));
	for (size_t i = 0; i < doms.n; i++)
		ok = one_domain(run, doms.names[i]) && ok;
	load_domains_free(&doms);
	if (!run->dry_run && !run->only_domain)
		ok = retry_pending(run) && ok;
	buf_free(&why);
	free(only);
	return ok;
}
