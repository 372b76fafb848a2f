/*
 * history_row - one message's DMARC evaluation as a history row (schema v1):
 * the record as published, the results, the alignment, the disposition
 * local policy applied and why it differs from the one asked for, and what
 * an RFC 9991 failure report would need.
 */
#include "history_row.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* text - a string from the network as the store holds it ("" for NULL) */
static char *
text(const char *s)
{
	return history_text(s ? s : "", s ? strlen(s) : 0);
}

/* lower - text, lower case (domains are stored lower case) */
static char *
lower(const char *s)
{
	char *d = text(s);

	for (char *p = d; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return d;
}

static char *dup_or_null(const char *s) { return s ? text(s) : NULL; }

/* policy_or_null - a published policy's name, NULL when the tag was absent */
static const char *
policy_or_null(enum dmarc_policy p)
{
	return p == DMARC_POLICY_UNSET ? NULL : dmarc_policy_name(p);
}

/* history_row_wanted - one row per message with a DMARC record, once its
 * verdict is final (a tempfailed message comes again and is counted then) */
bool
history_row_wanted(const struct history_input *in)
{
	const struct dmarc_eval *ev = in->dmarc;

	return in->cfg->history_db && ev && ev->evaluated && ev->out.have_record
	    && ev->out.policy_domain && ev->from_domain && ev->from_problem == NULL
	    && in->verdict->action != ACTION_TEMPFAIL;
}

/* envelope_domain - the domain of MAIL FROM, "" for <> or a path without one */
static char *
envelope_domain(const char *mail_from)
{
	const char *at = mail_from ? strrchr(mail_from, '@') : NULL;

	return lower(at ? at + 1 : "");
}

/* set_override - RFC 9990 PolicyOverrideType when the applied disposition
 * is not the one the record asks for, with the reason as comment */
static void
set_override(struct history_row *row, const struct dmarc_eval *ev, const struct verdict *v,
	     enum dmarc_policy applied)
{
	const struct dmarc_outcome *o = &ev->out;
	char pct[48];

	if (o->result != DMARC_FAIL)
		return;
	if (v->dmarc_override) {
		row->override_type = v->dmarc_override;
		row->override_comment = dup_or_null(v->dmarc_override_comment);
	} else if (applied != o->disposition) {
		/* policy names its decisions in dmarc_notes; the list rule says "mailing list" */
		row->override_type = v->dmarc_notes.len && strstr(v->dmarc_notes.data, "mailing list")
				   ? "mailing_list" : "local_policy";
		row->override_comment = dup_or_null(v->dmarc_notes.len ? v->dmarc_notes.data : NULL);
	} else if (o->disposition != o->requested && o->rec.testing) {
		row->override_type = "policy_test_mode";
		row->override_comment = xstrdup("t=y");
	} else if (o->disposition != o->requested) {
		/* RFC 7489 pct= sampling: RFC 9990 has no sampled_out any more */
		row->override_type = "other";
		snprintf(pct, sizeof(pct), "sampled out (pct=%d)", o->rec.pct);
		row->override_comment = xstrdup(pct);
	}
}

/* dkim_failed - a signature failed evaluation, whatever its alignment (fo=d) */
static bool
dkim_failed(const struct dkimv_outcome *dk)
{
	for (size_t i = 0; dk && i < dk->n_sigs; i++)
		if (dk->sigs[i].result == DKIMV_FAIL || dk->sigs[i].result == DKIMV_PERMERROR)
			return true;
	return false;
}

/* failure_fo - the fo= conditions (RFC 9991 / RFC 7489 6.3) this message
 * meets, in the order 0 1 d s; NULL when none (fo absent means fo=0) */
static char *
failure_fo(const struct history_input *in, const struct dmarc_outcome *o)
{
	const char *fo = o->rec.fo ? o->rec.fo : "0";
	bool spf_fail = in->spf && in->spf->result == SPF_FAIL;
	const struct { char c; bool met; } cond[] = {
		{ '0', !o->spf_aligned && !o->dkim_aligned },
		{ '1', !o->spf_aligned || !o->dkim_aligned },
		{ 'd', dkim_failed(in->dkim) },
		{ 's', spf_fail },
	};
	char met[5];
	size_t n = 0;

	for (size_t i = 0; i < sizeof(cond) / sizeof(cond[0]); i++) {
		bool asked = false;

		/* fo is a colon-separated list of single characters */
		for (const char *p = fo; *p; p++)
			asked |= (char)tolower((unsigned char)*p) == cond[i].c
				 && (p == fo || p[-1] == ':' || p[-1] == ' ')
				 && (p[1] == '\0' || p[1] == ':' || p[1] == ' ');
		if (asked && cond[i].met)
			met[n++] = cond[i].c;
	}
	met[n] = '\0';
	return n ? xstrdup(met) : NULL;
}

/* set_failure - what a failure report needs, only with FailureReports and a ruf= */
static void
set_failure(struct history_row *row, const struct history_input *in)
{
	const struct history_capture *c = in->capture;

	if (!in->cfg->failure_reports || row->ruf == NULL)
		return;
	row->failure_fo = failure_fo(in, &in->dmarc->out);
	if (row->failure_fo == NULL || c == NULL)
		return;
	if (!c->headers_over && c->headers.len)
		row->failure_headers = history_text(c->headers.data, c->headers.len);
	if (in->cfg->failure_reports_body && !c->body_over && c->body.data)
		row->failure_body = history_text(c->body.data, c->body.len);
}

/* set_dkim - every evaluated signature, in message order */
static void
set_dkim(struct history_row *row, const struct dkimv_outcome *dk)
{
	if (dk == NULL || dk->n_sigs == 0)
		return;
	row->dkim = xcalloc(dk->n_sigs, sizeof(*row->dkim));
	row->n_dkim = dk->n_sigs;
	for (size_t i = 0; i < dk->n_sigs; i++) {
		row->dkim[i].domain = lower(dk->sigs[i].domain);
		row->dkim[i].selector = text(dk->sigs[i].selector);
		row->dkim[i].result = dkimv_result_name(dk->sigs[i].result);
		row->dkim[i].human = dup_or_null(dk->sigs[i].reason);
	}
}

/* set_spf - the MAIL FROM identity's check (postmaster@HELO for <>) */
static void
set_spf(struct history_row *row, const struct history_input *in)
{
	row->spf_result = spf_result_name(in->spf ? in->spf->result : SPF_NONE);
	if (in->spf == NULL || in->spf->domain == NULL)
		return;
	row->spf_domain = lower(in->spf->domain);
	row->spf_scope = in->mail_from && *in->mail_from ? "mfrom" : "helo";
}

#define ROW_STRINGS 15

/* row_strings - where the strings a row owns are, besides its signatures' */
static void
row_strings(struct history_row *row, char **at[ROW_STRINGS])
{
	char **all[ROW_STRINGS] = {
		&row->mta, &row->source_ip, &row->header_from, &row->envelope_from,
		&row->envelope_to, &row->helo, &row->policy_domain, &row->fo, &row->rua, &row->ruf,
		&row->override_comment, &row->spf_domain, &row->failure_fo, &row->failure_headers,
		&row->failure_body,
	};

	memcpy(at, all, sizeof(all));
}

/* put - a copy of s at *next, which moves past it */
static char *
put(char **next, const char *s)
{
	size_t n;

	if (s == NULL)
		return NULL;
	n = strlen(s) + 1;
	memcpy(*next, s, n);
	*next += n;
	return *next - n;
}

/* free_parts - a row as the set_* functions build it, piece by piece */
static void
free_parts(struct history_row *row)
{
	char **strings[ROW_STRINGS];

	row_strings(row, strings);
	for (size_t i = 0; i < ROW_STRINGS; i++)
		free(*strings[i]);
	for (size_t i = 0; i < row->n_dkim; i++) {
		free(row->dkim[i].domain);
		free(row->dkim[i].selector);
		free(row->dkim[i].human);
	}
	free(row->dkim);
	free(row);
}

/*
 * pack - the row, its signatures and strings in one allocation. The writer
 * thread frees rows; a free from another thread takes the lock of the
 * arena the memory came from, which the message threads allocate from:
 * one free a row instead of twenty. The pieces go back here, in the
 * thread that made them.
 */
static struct history_row *
pack(struct history_row *row)
{
	char **from[ROW_STRINGS], **to[ROW_STRINGS];
	size_t size = sizeof(*row) + row->n_dkim * sizeof(*row->dkim);
	struct history_row *p;
	char *next;

	row_strings(row, from);
	for (size_t i = 0; i < ROW_STRINGS; i++)
		size += *from[i] ? strlen(*from[i]) + 1 : 0;
	for (size_t i = 0; i < row->n_dkim; i++) {
		const struct history_dkim_result *d = &row->dkim[i];
		size += (d->domain ? strlen(d->domain) + 1 : 0)
		      + (d->selector ? strlen(d->selector) + 1 : 0)
		      + (d->human ? strlen(d->human) + 1 : 0);
	}
	p = xmalloc(size);
	*p = *row;
	p->dkim = row->n_dkim ? (struct history_dkim_result *)(p + 1) : NULL;
	next = (char *)(p + 1) + row->n_dkim * sizeof(*row->dkim);
	row_strings(p, to);
	for (size_t i = 0; i < ROW_STRINGS; i++)
		*to[i] = put(&next, *from[i]);
	for (size_t i = 0; i < row->n_dkim; i++) {
		const struct history_dkim_result *d = &row->dkim[i];
		p->dkim[i] = (struct history_dkim_result){ put(&next, d->domain),
			put(&next, d->selector), d->result, put(&next, d->human) };
	}
	free_parts(row);
	return p;
}

/* history_row_build - the row for this message */
struct history_row *
history_row_build(const struct history_input *in)
{
	const struct dmarc_eval *ev = in->dmarc;
	const struct dmarc_outcome *o = &ev->out;
	const struct dmarc_record *r = &o->rec;
	enum dmarc_policy applied = in->verdict->dmarc_applied == DMARC_POLICY_UNSET
				  ? DMARC_POLICY_NONE : in->verdict->dmarc_applied;
	struct history_row *row = xcalloc(1, sizeof(*row));

	row->received = (long)time(NULL);
	row->mta = text(in->cfg->authserv_id);
	row->source_ip = text(in->client_ip);
	row->header_from = lower(ev->from_domain);
	row->envelope_from = envelope_domain(in->mail_from);
	row->helo = lower(in->helo);
	row->policy_domain = lower(o->policy_domain);
	row->discovery = in->cfg->dmarc_mode == DMARC_MODE_RFC7489 ? "psl" : "treewalk";
	row->p = policy_or_null(r->p) ? policy_or_null(r->p) : "none";
	row->sp = policy_or_null(r->sp);
	row->np = policy_or_null(r->np);
	row->adkim = r->adkim_strict ? 's' : 'r';
	row->aspf = r->aspf_strict ? 's' : 'r';
	row->testing = r->testing ? 'y' : 'n';
	row->pct = r->pct_published;
	row->fo = dup_or_null(r->fo);
	row->rua = dup_or_null(r->rua);
	row->ruf = dup_or_null(r->ruf);
	row->dmarc_result = dmarc_result_name(o->result);
	row->dkim_aligned = o->dkim_aligned ? "pass" : "fail";
	row->spf_aligned = o->spf_aligned ? "pass" : "fail";
	row->disposition = dmarc_policy_name(applied);
	set_override(row, ev, in->verdict, applied);
	set_spf(row, in);
	set_dkim(row, in->dkim);
	set_failure(row, in);
	return pack(row);
}

/* history_row_free - the row (one allocation, see pack); NULL is fine */
void
history_row_free(struct history_row *row)
{
	free(row);
}
