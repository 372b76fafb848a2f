/*
 * deliver - one report copy to one destination, exactly once: claimed in
 * report_sent, spooled, submitted by a child that journals the MTA's
 * acceptance (send.h), then marked sent. Destinations that keep failing
 * are backed off; reports over the size limits are skipped and logged
 * (RFC 9990 lets a reporter not send what is too large).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "rhash.h"
#include "rlog.h"
#include "state.h"

/* spool_base - ReportSpoolDir/KIND-HASH for the key */
static char *
spool_base(const struct report_run *run, const struct state_key *k)
{
	char b[32], e[32];
	const char *parts[5] = { k->kind, k->domain, b, e, k->destination };
	struct buf p;

	snprintf(b, sizeof(b), "%ld", k->begin);
	snprintf(e, sizeof(e), "%ld", k->end);
	buf_init(&p);
	buf_printf(&p, "%s/%s-%016llx", run->rt->cfg.report_spool_dir, k->kind,
		   (unsigned long long)rhash_parts(parts, 5));
	return buf_steal(&p);
}

/* dry_run - write NAME (the .xml.gz is written by the caller) and NAME!ADDRESS.eml */
static void
dry_run(const struct report_run *run, const char *name, const struct dest *d,
	const struct buf *message)
{
	struct buf p;
	size_t n = strlen(name);
	FILE *fp;

	if (n > 7 && strcmp(name + n - 7, ".xml.gz") == 0)
		n -= 7;
	buf_init(&p);
	buf_printf(&p, "%s/%.*s!%s.eml", run->dry_run, (int)n, name, d->address);
	fp = fopen(p.data, "wb");
	if (fp == NULL || fwrite(message->data, 1, message->len, fp) != message->len
	    || fclose(fp) != 0)
		rlog("cannot write %s", p.data);
	else
		rlog("dry run: %s", p.data);
	buf_free(&p);
}

/* too_big - over ReportMaxSize or the URI's !size */
static bool
too_big(const struct report_run *run, const struct dest *d, const struct buf *message)
{
	return message->len > (size_t)run->rt->cfg.report_max_size
	       || (d->max_size && message->len > d->max_size);
}

/* submit - spool (unless a copy is already spooled) and hand over */
static void
submit(struct report_run *run, const struct state_key *k, const char *base,
       const struct buf *message)
{
	struct buf why;
	enum spool_state st = send_spool_state(base);

	buf_init(&why);
	if (st == SPOOL_DONE) {
		/* an earlier run was killed after the MTA took it: only record that */
		rlog("%s %s to %s: delivered by an earlier run", k->kind, k->domain, k->destination);
		if (state_mark_sent(run->db, k, run->now, &why))
			send_spool_remove(base);
		else
			rlog("report_sent: %s", why.data);
		run->already++;
	} else if (st == SPOOL_NONE && !send_spool_write(base, message->data, message->len, &why)) {
		rlog("%s %s to %s: %s", k->kind, k->domain, k->destination, why.data);
		run->failed++;
	} else if (!send_submit(&run->send, base, k->destination, &why)) {
		rlog("%s %s to %s: %s; backing off", k->kind, k->domain, k->destination, why.data);
		state_backoff_fail(run->db, k->destination, run->now, why.data);
		run->failed++;
	} else {
		rlog("%s %s to %s: sent (%zu bytes)", k->kind, k->domain, k->destination,
		     message->len);
		buf_reset(&why);
		if (state_mark_sent(run->db, k, run->now, &why))
			send_spool_remove(base);	/* else .done stays: the next run marks it */
		else
			rlog("report_sent: %s", why.data);
		state_backoff_clear(run->db, k->destination);
		run->sent++;
	}
	buf_free(&why);
}

/* report_log_notes - one log line per line of notes */
void
report_log_notes(const char *domain, const char *what, const struct buf *notes)
{
	char *copy = xstrdup(notes->data ? notes->data : ""), *save = NULL;

	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		rlog("%s: %s not used: %s", domain, what, l);
	free(copy);
}

/* report_count_dests - what dest_select left out, by reason */
void
report_count_dests(struct report_run *run, const struct dest_list *dl)
{
	run->skip[RMETRICS_SKIP_SUPPRESSED] += dl->n_suppressed;
	run->skip[RMETRICS_SKIP_UNAUTHORIZED] += dl->n_unauthorized;
	run->skip[RMETRICS_SKIP_OTHER] += dl->n_tempfail;
}

/* report_deliver - one copy */
void
report_deliver(struct report_run *run, const char *kind, const char *domain,
	       long begin, long end, const struct dest *d, const char *name,
	       const struct buf *message)
{
	struct state_key k = { kind, domain, begin, end, d->address };
	struct buf why;
	long until;
	char *base;

	if (strpbrk(domain, "\r\n\t ") || strpbrk(name, "\r\n\t /")) {
		rlog("%s report for a domain with blanks or line breaks: not sent", kind);
		run->skipped++;
		run->skip[RMETRICS_SKIP_OTHER]++;
		return;
	}
	if (too_big(run, d, message)) {
		rlog("%s %s to %s: %zu bytes is over the limit (ReportMaxSize %d, URI %llu): not sent",
		     kind, domain, d->address, message->len, run->rt->cfg.report_max_size,
		     d->max_size);
		run->skipped++;
		run->skip[RMETRICS_SKIP_SIZE]++;
		return;
	}
	if (run->dry_run) {
		dry_run(run, name, d, message);
		return;
	}
	if ((until = state_backoff_until(run->db, d->address, run->now)) != 0) {
		rlog("%s %s to %s: backed off until %ld after failures", kind, domain, d->address,
		     until);
		run->skipped++;
		run->skip[RMETRICS_SKIP_BACKOFF]++;
		return;
	}
	buf_init(&why);
	base = spool_base(run, &k);
	switch (state_claim(run->db, &k, run->host, run->now, &why)) {
	case STATE_CLAIM_SENT:
		run->already++;
		break;
	case STATE_CLAIM_OTHER:
		rlog("%s %s to %s: another host is sending it", kind, domain, d->address);
		run->skipped++;
		run->skip[RMETRICS_SKIP_OTHER]++;
		break;
	case STATE_CLAIM_ERROR:
		rlog("%s %s to %s: report_sent: %s", kind, domain, d->address, why.data);
		run->failed++;
		break;
	case STATE_CLAIM_OURS:
		submit(run, &k, base, message);
		break;
	}
	free(base);
	buf_free(&why);
}
