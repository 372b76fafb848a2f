/*
 * failure - RFC 9991 failure reports: one ARF message (RFC 5965, with the
 * RFC 6591 auth-failure fields) per failed message the writer kept headers
 * for (it honours fo= and FailureReports), to the ruf= destinations that
 * pass the same checks as rua=, at most one per destination per
 * FailureReportsInterval: the failures over that limit are recorded as
 * suppressed, never sent later.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>
#include <unistd.h>

#include "mime.h"
#include "report.h"
#include "rlog.h"
#include "state.h"

#define FAILURE_PAGE "500"
#define FAILURE_WINDOW 86400	/* default: failures of the last day */

static const char *const sql_failures =
	"SELECT id, received, source_ip, header_from, envelope_from, policy_domain, ruf,"
	" failure_fo, failure_headers, failure_body, spf_result, spf_domain, spf_scope,"
	" dkim_aligned, spf_aligned, disposition"
	" FROM history_message WHERE failure_headers IS NOT NULL AND ruf IS NOT NULL"
	" AND received >= $1 AND received <= $2 AND id > $3 ORDER BY id LIMIT " FAILURE_PAGE;

enum { F_ID, F_RECEIVED, F_IP, F_FROM, F_ENVFROM, F_DOMAIN, F_RUF, F_FO, F_HEADERS,
       F_BODY, F_SPF, F_SPF_DOMAIN, F_SPF_SCOPE, F_DKIM_AL, F_SPF_AL, F_DISP };

#define CELL(c) history_rows_get(rows, r, (c))

/* auth_failure - RFC 6591 Auth-Failure: dmarc, or the fo= d/s cause */
static const char *
auth_failure(const char *fo)
{
	if (fo && (strchr(fo, '0') || strchr(fo, '1')))
		return "dmarc";
	if (fo && strchr(fo, 'd'))
		return "signature";
	return fo && strchr(fo, 's') ? "spf" : "dmarc";
}

/* feedback - the message/feedback-report part */
static void
feedback(const struct report_run *run, const struct history_rows *rows, size_t r,
	 struct buf *m)
{
	bool dk = strcmp(CELL(F_DKIM_AL), "pass") == 0, sp = strcmp(CELL(F_SPF_AL), "pass") == 0;
	const char *disp = CELL(F_DISP);

	buf_printf(m, "Content-Type: message/feedback-report\r\n\r\n"
		   "Feedback-Type: auth-failure\r\nUser-Agent: authmilter-report/%s\r\n"
		   "Version: 1\r\nAuth-Failure: %s\r\n", PACKAGE_VERSION, auth_failure(CELL(F_FO)));
	buf_printf(m, "Authentication-Results: %s; dmarc=fail header.from=%s; spf=%s %s=%s\r\n",
		   run->receiver, CELL(F_FROM), CELL(F_SPF),
		   CELL(F_SPF_SCOPE) && strcmp(CELL(F_SPF_SCOPE), "helo") == 0 ? "smtp.helo"
		   : "smtp.mailfrom", CELL(F_SPF_DOMAIN) ? CELL(F_SPF_DOMAIN) : "");
	buf_adds(m, "Arrival-Date: ");
	mime_date(strtol(CELL(F_RECEIVED), NULL, 10), m);
	buf_printf(m, "\r\nSource-IP: %s\r\nReported-Domain: %s\r\n", CELL(F_IP), CELL(F_FROM));
	buf_printf(m, "Identity-Alignment: %s\r\n", dk && sp ? "dkim,spf" : dk ? "dkim"
		   : sp ? "spf" : "none");
	buf_printf(m, "Delivery-Result: %s\r\n\r\n", strcmp(disp, "reject") == 0 ? "reject"
		   : strcmp(disp, "quarantine") == 0 ? "spam" : "delivered");
}

/* arf - the whole report message for one destination */
static void
arf(const struct report_run *run, const struct history_rows *rows, size_t r,
    const struct dest *d, struct buf *m)
{
	const char *headers = CELL(F_HEADERS), *body = CELL(F_BODY);
	size_t hl = strlen(headers);
	char b[96];

	/* the sender wrote the headers we quote: a boundary it cannot guess */
	unsigned long long rnd = (unsigned long long)run->now ^ (unsigned long long)getpid();

	if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		rnd ^= (unsigned long long)(uintptr_t)&rnd;	/* still unguessed: ASLR */
	snprintf(b, sizeof(b), "=_authmilter-arf_%s_%016llx", CELL(F_ID), rnd);

	buf_printf(m, "From: %s\r\nTo: %s\r\nDate: ", run->email, d->address);
	mime_date(run->now, m);
	buf_printf(m, "\r\nSubject: DMARC failure report for %s from %s\r\n", CELL(F_FROM),
		   CELL(F_IP));
	buf_printf(m, "Message-ID: <failure.%s.%s@%s>\r\nMIME-Version: 1.0\r\n"
		   "Auto-Submitted: auto-generated\r\n", CELL(F_ID), CELL(F_RECEIVED), run->receiver);
	buf_printf(m, "Content-Type: multipart/report; report-type=feedback-report;\r\n"
		   "\tboundary=\"%s\"\r\n\r\n--%s\r\n", b, b);
	buf_printf(m, "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
		   "This is an authentication failure report (RFC 9991) for a message\r\n"
		   "received by %s from %s with From domain %s.\r\n\r\n--%s\r\n",
		   run->receiver, CELL(F_IP), CELL(F_FROM), b);
	feedback(run, rows, r, m);
	buf_printf(m, "--%s\r\nContent-Type: %s\r\n\r\n", b,
		   body ? "message/rfc822" : "text/rfc822-headers");
	buf_adds(m, headers);
	if (hl < 2 || strcmp(headers + hl - 2, "\r\n") != 0)
		buf_adds(m, "\r\n");
	if (body) {
		buf_adds(m, "\r\n");
		buf_adds(m, body);
		buf_adds(m, "\r\n");
	}
	buf_printf(m, "--%s--\r\n", b);
}

/* rate_limited - did this destination get a failure report within the interval? */
static bool
rate_limited(struct report_run *run, const char *address)
{
	long last;

	for (size_t i = 0; i < run->n_rate_dests; i++)
		if (strcmp(run->rate_dests[i], address) == 0)
			return true;
	last = run->dry_run ? 0 : state_last_sent(run->db, "failure", address);
	return last && last + run->rt->cfg.failure_reports_interval > run->now;
}

/* suppress - record a failure over the rate limit as never to be sent;
 * counted once, by the run that decides it (a rerun sees it decided) */
static void
suppress(struct report_run *run, const struct state_key *k)
{
	struct buf why;

	if (run->dry_run) {
		run->skipped++;
		run->skip[RMETRICS_SKIP_INTERVAL]++;
		return;
	}
	buf_init(&why);
	if (state_claim(run->db, k, run->host, run->now, &why) != STATE_CLAIM_OURS)
		;	/* sent or suppressed before, or another host's */
	else if (!state_mark(run->db, k, "suppressed", run->now, &why))
		rlog("report_sent: %s", why.data);
	else {
		run->skipped++;
		run->skip[RMETRICS_SKIP_INTERVAL]++;
	}
	buf_free(&why);
}

/* The ruf= destinations of a policy domain as its rows recorded them: the
 * same for most failures of a run, so they are selected (parsed, suppressed,
 * authorized: tree walks and TXT lookups) and logged once per run. */
struct ruf_memo {
	struct ruf_sel {
		char *domain, *ruf;
		struct dest_list dl;
	} *items;
	size_t n;
};

/* ruf_select - the destinations of (domain, ruf), selected at first sight;
 * a selection a DNS temporary failure cut short is made again next time */
static const struct dest_list *
ruf_select(struct report_run *run, struct ruf_memo *m, const char *domain, const char *ruf)
{
	struct ruf_sel *s = NULL;
	struct buf notes;

	for (size_t i = 0; i < m->n && s == NULL; i++)
		if (strcmp(m->items[i].domain, domain) == 0 && strcmp(m->items[i].ruf, ruf) == 0)
			s = &m->items[i];
	if (s && s->dl.n_tempfail == 0)
		return &s->dl;
	if (s) {
		dest_list_free(&s->dl);
	} else {
		m->items = xrealloc(m->items, (m->n + 1) * sizeof(*m->items));
		s = &m->items[m->n++];
		s->domain = xstrdup(domain);
		s->ruf = xstrdup(ruf);
	}
	buf_init(&notes);
	dest_select(&run->rt->dmarc, domain, ruf, &run->suppress,
		    (size_t)run->rt->cfg.report_max_recipients, &s->dl, &notes);
	report_log_notes(domain, "failure report destination", &notes);
	buf_free(&notes);
	return &s->dl;
}

/* ruf_memo_free - release the run's selections */
static void
ruf_memo_free(struct ruf_memo *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->items[i].domain);
		free(m->items[i].ruf);
		dest_list_free(&m->items[i].dl);
	}
	free(m->items);
}

/* one_failure - one failed message to each of its verified ruf= destinations */
static void
one_failure(struct report_run *run, struct ruf_memo *memo, const struct history_rows *rows,
	    size_t r)
{
	const struct dest_list *dl;
	long id = strtol(CELL(F_ID), NULL, 10), received = strtol(CELL(F_RECEIVED), NULL, 10);

	if (strpbrk(CELL(F_FROM), "\r\n") || strpbrk(CELL(F_IP), "\r\n")
	    || strpbrk(CELL(F_SPF_DOMAIN) ? CELL(F_SPF_DOMAIN) : "", "\r\n")) {
		rlog("failure report for row %s: line breaks in a field, not sent", CELL(F_ID));
		return;
	}
	dl = ruf_select(run, memo, CELL(F_DOMAIN), CELL(F_RUF));
	report_count_dests(run, dl);	/* per failure: each is a report not sent there */
	for (size_t i = 0; i < dl->n; i++) {
		struct state_key k = { "failure", CELL(F_DOMAIN), id, received, dl->items[i].address };
		struct buf m, name;
		if (rate_limited(run, dl->items[i].address)) {
			suppress(run, &k);
			continue;
		}
		buf_init(&m);
		buf_init(&name);
		arf(run, rows, r, &dl->items[i], &m);
		buf_printf(&name, "%s!%s!failure!%ld", run->receiver, CELL(F_DOMAIN), id);
		int before = run->sent;
		report_deliver(run, "failure", CELL(F_DOMAIN), id, received, &dl->items[i], name.data,
			       &m);
		if (run->dry_run || run->sent > before) {
			run->rate_dests = xrealloc(run->rate_dests,
						   (run->n_rate_dests + 1) * sizeof(char *));
			run->rate_dests[run->n_rate_dests++] = xstrdup(dl->items[i].address);
		}
		buf_free(&m);
		buf_free(&name);
	}
}

/* report_failure - the failure reports due in the period (default: the last day) */
bool
report_failure(struct report_run *run)
{
	char b[32], e[32], last[32] = "0";
	const char *params[3] = { b, e, last };
	struct history_rows page;
	struct ruf_memo memo = { NULL, 0 };
	struct buf why;
	bool ok = true;

	if (!run->rt->cfg.failure_reports) {
		rlog("FailureReports is off: no failure reports");
		return true;
	}
	snprintf(b, sizeof(b), "%ld", run->period_given ? run->begin : run->now - FAILURE_WINDOW);
	snprintf(e, sizeof(e), "%ld", run->period_given ? run->end : run->now);
	buf_init(&why);
	for (;;) {
		if (!history_db_query(run->db, sql_failures, params, 3, &page, &why)) {
			rlog("history store: %s", why.data);
			ok = false;
			break;
		}
		for (size_t r = 0; r < page.n_rows; r++)
			one_failure(run, &memo, &page, r);
		if (page.n_rows > 0)
			snprintf(last, sizeof(last), "%s", history_rows_get(&page, page.n_rows - 1, 0));
		size_t n = page.n_rows;
		history_rows_free(&page);
		if (n == 0)
			break;
	}
	for (size_t i = 0; i < run->n_rate_dests; i++)
		free(run->rate_dests[i]);
	free(run->rate_dests);
	ruf_memo_free(&memo);
	buf_free(&why);
	return ok;
}
