/*
 * check_dmarc - dmarc.* checks: the record found by lib/dmarc's discovery
 * (RFC 9989 tree walk, or RFC 7489 in that mode), its policy, pct, alignment
 * modes, and whether outside report destinations authorized the domain.
 */
#include "check.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* is_dmarc - the TXT string is a DMARC record */
static bool
is_dmarc(const char *txt, const void *unused)
{
	(void)unused;
	return dmarc_record_is_dmarc(txt);
}

/* count_records - how many v=DMARC1 records sit at _dmarc.domain (-1: DNS trouble) */
static int
count_records(struct check_ctx *cx, const char *domain, char **text)
{
	struct buf name;
	const char *why;
	int count;

	buf_init(&name);
	buf_printf(&name, "_dmarc.%s", domain);
	count = check_txt_matching(cx, name.data, is_dmarc, NULL, text, &why);
	buf_free(&name);
	return count;
}

/* record - dmarc.record; false when there is no record to look further into */
static bool
record(struct check_ctx *cx, const struct dmarc_outcome *out, char **text)
{
	struct check_item *c;
	int n;

	if (out->result == DMARC_TEMPERROR) {
		report_add(cx->rep, "dmarc.record", CHECK_ERROR, "The DMARC lookup failed (%s).",
			   out->record_note ? out->record_note : "DNS error");
		return false;
	}
	if (!out->have_record) {
		n = count_records(cx, cx->domain, text);
		if (n > 1) {
			c = report_add(cx->rep, "dmarc.record", CHECK_FAIL, "_dmarc.%s has %d DMARC "
				       "records: receivers discard them all.", cx->domain, n);
			item_advice(c, "Keep exactly one v=DMARC1 record.");
		} else {
			c = report_add(cx->rep, "dmarc.record", CHECK_FAIL, "No DMARC record for %s "
				       "(%s).", cx->domain, out->record_note ? out->record_note
				       : "none at the domain nor above it");
			item_advice(c, "Publish _dmarc.%s TXT \"v=DMARC1; p=none; rua=mailto:...\" "
				    "and read the reports before tightening it.", cx->domain);
		}
		free(*text);
		*text = NULL;
		return false;
	}
	n = count_records(cx, out->policy_domain, text);
	if (n != 1) {	/* changed between two lookups, or no cache: say so, do not guess */
		report_add(cx->rep, "dmarc.record", CHECK_ERROR, "The record at _dmarc.%s changed "
			   "while it was read.", out->policy_domain);
		return false;
	}
	if (strcasecmp(out->policy_domain, cx->domain) == 0)
		c = report_add(cx->rep, "dmarc.record", CHECK_OK, "Found at _dmarc.%s: %s",
			       out->policy_domain, *text);
	else
		c = report_add(cx->rep, "dmarc.record", CHECK_OK, "No record at _dmarc.%s; the tree "
			       "walk found _dmarc.%s: %s", cx->domain, out->policy_domain, *text);
	item_str(c, "policy_domain", out->policy_domain);
	item_str(c, "org_domain", out->org_domain);
	item_str(c, "record", *text);
	if (out->record_note) {
		c->status = CHECK_WARN;
		item_str(c, "note", out->record_note);
		item_advice(c, "Receivers read it differently from what you wrote (%s): fix the "
			    "tag.", out->record_note);
	}
	return true;
}

/* policy - dmarc.policy: none warns with the rollout advice */
static void
policy(struct check_ctx *cx, const struct dmarc_outcome *out)
{
	const struct dmarc_record *r = &out->rec;
	struct check_item *c;
	enum dmarc_policy p = out->requested;

	cx->dmarc_reject = p == DMARC_POLICY_REJECT;
	c = report_add(cx->rep, "dmarc.policy", p == DMARC_POLICY_NONE ? CHECK_WARN : CHECK_OK,
		       "The policy for %s is %s=%s%s.", cx->domain, out->requested_from,
		       dmarc_policy_name(p), r->testing ? ", in testing (t=y)" : "");
	item_str(c, "p", dmarc_policy_name(r->p));
	item_str(c, "sp", r->sp == DMARC_POLICY_UNSET ? NULL : dmarc_policy_name(r->sp));
	item_str(c, "np", r->np == DMARC_POLICY_UNSET ? NULL : dmarc_policy_name(r->np));
	item_str(c, "applies", dmarc_policy_name(p));
	item_bool(c, "testing", r->testing);
	if (p == DMARC_POLICY_NONE)
		item_advice(c, "p=none only monitors: once the reports show your senders pass, "
			    "move to p=quarantine, then p=reject.");
	else if (r->testing) {
		c->status = CHECK_WARN;
		item_advice(c, "t=y asks receivers to apply one step less: remove it when the "
			    "reports are clean.");
	}
}

/* pct - dmarc.pct: RFC 9989 drops pct (t=y replaces it) */
static void
pct(struct check_ctx *cx, const char *text)
{
	struct buf v;
	struct check_item *c;

	buf_init(&v);
	if (dmarc_record_tag(text, "pct", &v)) {
		c = report_add(cx->rep, "dmarc.pct", CHECK_WARN, "The record has pct=%s, which RFC "
			       "9989 no longer defines.", v.data);
		item_str(c, "pct", v.data);
		item_advice(c, "Remove pct=; to roll out gently use t=y (one step less) instead.");
	} else {
		report_add(cx->rep, "dmarc.pct", CHECK_OK, "No pct= tag.");
	}
	buf_free(&v);
}

/* alignment - dmarc.alignment: informational, strict is a choice */
static void
alignment(struct check_ctx *cx, const struct dmarc_record *r)
{
	struct check_item *c = report_add(cx->rep, "dmarc.alignment", CHECK_OK, "DKIM alignment "
					  "is %s, SPF alignment is %s.", r->adkim_strict ? "strict"
					  : "relaxed", r->aspf_strict ? "strict" : "relaxed");

	item_str(c, "adkim", r->adkim_strict ? "s" : "r");
	item_str(c, "aspf", r->aspf_strict ? "s" : "r");
}

/* authorized - RFC 7489 7.1 as lib/dmarc reads it (authmilter-report asks the same):
 * 1 yes, 0 no, -1 DNS trouble */
static int
authorized(struct check_ctx *cx, const char *policy_domain, const char *dest)
{
	struct buf why;
	enum dmarc_report_auth a;

	buf_init(&why);
	a = dmarc_report_authorized(cx->dmarc, policy_domain, dest, &why);
	buf_free(&why);
	return a == DMARC_REPORT_AUTH_TEMPFAIL ? -1 : a == DMARC_REPORT_AUTH_YES;
}

struct uri_scan {
	enum check_status worst;
	struct buf problems;
	struct buf dests;	/* JSON array members */
};

static void
uri_problem(struct uri_scan *s, enum check_status st, const char *tag, const char *uri,
	    const char *what)
{
	if (st > s->worst)
		s->worst = st;
	buf_printf(&s->problems, "%s%s= %s %s", s->problems.len ? "; " : "", tag, uri, what);
}

/* one_uri - syntax and, for an outside domain, authorization of one report URI */
static void
one_uri(struct check_ctx *cx, const struct dmarc_outcome *out, const char *tag, const char *uri,
	struct uri_scan *s)
{
	const char *at = strrchr(uri, '@');
	char *dest, *bang, *org;
	bool tempfail;
	int a = 1;

	if (strncasecmp(uri, "mailto:", 7) != 0 || at == NULL || at == uri + 7 || at[1] == '\0') {
		uri_problem(s, CHECK_FAIL, tag, uri, "is not a mailto: address");
		return;
	}
	dest = xstrdup(at + 1);
	if ((bang = strchr(dest, '!')) != NULL)	/* "!10m": a size limit */
		*bang = '\0';
	org = dmarc_org_domain(cx->dmarc, dest, &tempfail);
	if (org == NULL)
		a = -1;
	else if (strcasecmp(org, out->org_domain) != 0)
		a = authorized(cx, out->policy_domain, dest);
	if (s->dests.len)
		buf_adds(&s->dests, ", ");
	buf_adds(&s->dests, "{\"tag\": ");
	json_string(&s->dests, tag);
	buf_adds(&s->dests, ", \"uri\": ");
	json_string(&s->dests, uri);
	buf_printf(&s->dests, ", \"external\": %s, \"authorized\": %s}",
		   org && strcasecmp(org, out->org_domain) != 0 ? "true" : "false",
		   a > 0 ? "true" : a == 0 ? "false" : "null");
	if (a == 0)
		uri_problem(s, CHECK_FAIL, tag, uri, "is outside the domain and has not authorized "
			    "it (no _report._dmarc record)");
	else if (a < 0)
		uri_problem(s, CHECK_ERROR, tag, uri, "could not be checked (DNS)");
	free(org);
	free(dest);
}

/* uris - every URI of one tag, comma-separated */
static void
uris(struct check_ctx *cx, const struct dmarc_outcome *out, const char *text, const char *tag,
     struct uri_scan *s)
{
	struct buf v;
	char *save = NULL, *u;

	buf_init(&v);
	if (dmarc_record_tag(text, tag, &v))
		for (u = strtok_r(v.data, ",", &save); u; u = strtok_r(NULL, ",", &save)) {
			while (*u == ' ' || *u == '\t')
				u++;
			char *e = u + strlen(u);
			while (e > u && (e[-1] == ' ' || e[-1] == '\t'))
				*--e = '\0';
			one_uri(cx, out, tag, u, s);
		}
	buf_free(&v);
}

/* reports - dmarc.rua: rua/ruf syntax and outside authorization */
static void
reports(struct check_ctx *cx, const struct dmarc_outcome *out, const char *text)
{
	struct uri_scan s = { .worst = CHECK_OK };
	struct check_item *c;
	struct buf v;
	bool have_rua;

	buf_init(&s.problems);
	buf_init(&s.dests);
	buf_init(&v);
	have_rua = dmarc_record_tag(text, "rua", &v);
	buf_free(&v);
	uris(cx, out, text, "rua", &s);
	uris(cx, out, text, "ruf", &s);
	if (s.problems.len) {
		c = report_add(cx->rep, "dmarc.rua", s.worst, "Report destinations: %s.",
			       s.problems.data);
		if (s.worst == CHECK_FAIL)
			item_advice(c, "Ask the outside receiver to publish "
				    "%s._report._dmarc.<its domain> TXT \"v=DMARC1\", or report to "
				    "an address in your own domain.", out->policy_domain);
	} else if (!have_rua) {
		c = report_add(cx->rep, "dmarc.rua", CHECK_WARN, "No rua=: nobody receives the "
			       "aggregate reports.");
		item_advice(c, "Add rua=mailto:dmarc-reports@%s so you see who sends as you.",
			    cx->domain);
	} else {
		c = report_add(cx->rep, "dmarc.rua", CHECK_OK, "Every report destination is valid "
			       "and authorized.");
	}
	buf_init(&v);
	buf_adds(&v, "[");
	buf_add(&v, s.dests.data ? s.dests.data : "", s.dests.len);
	buf_adds(&v, "]");
	item_raw(c, "destinations", v.data);
	buf_free(&v);
	buf_free(&s.problems);
	buf_free(&s.dests);
}

/* check_dmarc - every dmarc.* check */
void
check_dmarc(struct check_ctx *cx)
{
	struct dkimv_outcome none = { 0 };
	/* No identifier: the result is never pass, so dmarc_evaluate determines
	 * org_domain whenever it finds a record (record() and reports() read it). */
	struct dmarc_request req = {
		.author_domain = cx->domain, .spf_result = SPF_NONE, .spf_domain = NULL,
		.dkim = &none, .mode = cx->dmarc->mode,
	};
	struct dmarc_outcome out;
	char *text = NULL;

	dmarc_evaluate(cx->dmarc, &req, &out);
	if (record(cx, &out, &text)) {
		policy(cx, &out);
		pct(cx, text);
		alignment(cx, &out.rec);
		reports(cx, &out, text);
	}
	free(text);
	dmarc_outcome_free(&out);
}
