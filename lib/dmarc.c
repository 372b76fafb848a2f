/*
 * dmarc - record discovery (RFC 9989 DNS tree walk, or RFC 7489 with the
 * Public Suffix List), organizational domains, alignment and the result.
 */
#include "dmarc.h"

#include <libpsl.h>
#include <stdint.h>
#include <sys/random.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct walk_entry {
	char *domain;
	struct dmarc_record rec;
};

/* A tree walk that can stop at the policy record and go on later, when an
 * alignment needs the organizational domain: most mail aligns with the From
 * domain itself, and then the queries above it are not needed. */
struct walk {
	struct walk_entry found[DMARC_MAX_WALK];
	size_t n_found;
	bool tempfail;
	struct buf note;	/* the first record read with a problem, and what it was */
	const char *start;
	const char *next;	/* the next domain to ask about; NULL: the walk is over */
	size_t labels;		/* of next */
	int queries;
};

static const char *const result_names[] = { "none", "pass", "fail", "temperror", "permerror" };
static const char *const policy_names[] = { "unset", "none", "quarantine", "reject" };

const char *
dmarc_result_name(enum dmarc_result r)
{
	return result_names[r];
}

const char *
dmarc_policy_name(enum dmarc_policy p)
{
	return policy_names[p];
}

/* dmarc_policy_weaker - one step down: reject -> quarantine -> none */
enum dmarc_policy
dmarc_policy_weaker(enum dmarc_policy p)
{
	return p == DMARC_POLICY_REJECT ? DMARC_POLICY_QUARANTINE : DMARC_POLICY_NONE;
}

/* dmarc_ctx_init - load the PSL for RFC 7489 mode */
bool
dmarc_ctx_init(struct dmarc_ctx *ctx, struct dns *dns, enum dmarc_mode mode,
	       const char *psl_file, char *why, size_t why_size)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->dns = dns;
	ctx->mode = mode;
	if (mode != DMARC_MODE_RFC7489)
		return true;
	ctx->psl = psl_load_file(psl_file);
	if (ctx->psl == NULL) {
		snprintf(why, why_size, "cannot load the public suffix list %s", psl_file);
		return false;
	}
	return true;
}

/* dmarc_ctx_free - release the PSL */
void
dmarc_ctx_free(struct dmarc_ctx *ctx)
{
	if (ctx->psl)
		psl_free(ctx->psl);
	ctx->psl = NULL;
}

/* lookup_record - the one DMARC record at _dmarc.domain: 1 found, 0 none, -1 DNS
 * trouble; a record that is unusable or read differently is told in note */
static int
lookup_record(const struct dmarc_ctx *ctx, const char *domain, struct dmarc_record *rec,
	      struct buf *note)
{
	struct dns_result res;
	struct buf name, why;
	char **strings = NULL;
	size_t n = 0, count = 0, which = 0;
	int found = 0;

	buf_init(&name);
	buf_printf(&name, "_dmarc.%s", domain);
	dns_query(ctx->dns, name.data, LDNS_RR_TYPE_TXT, &res);
	buf_free(&name);
	if (res.status == DNS_TEMPFAIL) {
		if (note->len == 0)
			buf_printf(note, "_dmarc.%s: %s", domain, res.reason ? res.reason : "DNS error");
		dns_result_free(&res);
		return -1;
	}
	if (res.status == DNS_ANSWER)
		n = dns_txt_strings(&res, &strings);
	for (size_t i = 0; i < n; i++)
		if (dmarc_record_is_dmarc(strings[i]))
			which = i, count++;
	/* Several DMARC records at one name are all discarded (RFC 9989 4.10). */
	buf_init(&why);
	if (count == 1 && dmarc_record_parse(strings[which], ctx->mode, rec, &why))
		found = 1;
	if (count > 1)
		buf_adds(&why, "several DMARC records");
	if (why.len && note->len == 0)
		buf_printf(note, "_dmarc.%s: %s", domain, why.data);
	buf_free(&why);
	dns_strings_free(strings, n);
	dns_result_free(&res);
	return found;
}

static size_t
count_labels(const char *d)
{
	size_t n = 1;

	for (; *d; d++)
		n += *d == '.';
	return n;
}

/* keep_labels - the suffix of d made of its last keep labels */
static const char *
keep_labels(const char *d, size_t keep)
{
	size_t n = count_labels(d);

	while (n > keep) {
		d = strchr(d, '.') + 1;
		n--;
	}
	return d;
}

static void
walk_free(struct walk *w)
{
	for (size_t i = 0; i < w->n_found; i++) {
		free(w->found[i].domain);
		dmarc_record_free(&w->found[i].rec);
	}
	w->n_found = 0;
	buf_free(&w->note);
}

static void
walk_init(struct walk *w, const char *start)
{
	memset(w, 0, sizeof(*w));
	buf_init(&w->note);
	w->start = w->next = start;
	w->labels = count_labels(start);
}

/* walk_run - RFC 9989 4.10: the author domain, then up from at most 7 labels;
 * until_record stops after the first record found (the policy record) */
static void
walk_run(const struct dmarc_ctx *ctx, struct walk *w, bool until_record)
{
	while (w->next && w->queries < DMARC_MAX_WALK) {
		const char *target = w->next;
		struct dmarc_record rec;
		int r = lookup_record(ctx, target, &rec, &w->note);

		w->queries++;
		if (r < 0) {
			w->tempfail = true;
			w->next = NULL;
			return;
		}
		if (r > 0) {
			w->found[w->n_found].domain = xstrdup(target);
			w->found[w->n_found++].rec = rec;
			if (rec.psd == 'n' || (rec.psd == 'y' && target != w->start)) {
				w->next = NULL;
				return;
			}
		}
		if (w->labels <= 1) {
			w->next = NULL;
			return;
		}
		w->labels = w->labels >= 8 && target == w->start ? 7 : w->labels - 1;
		w->next = keep_labels(w->start, w->labels);
		if (r > 0 && until_record)
			return;
	}
	w->next = NULL;
}

/* walk_org_domain - RFC 9989 4.10.2 from the records a walk found */
static char *
walk_org_domain(const char *start, const struct walk *w)
{
	for (size_t i = 0; i < w->n_found; i++) {
		const struct walk_entry *e = &w->found[i];
		if (e->rec.psd == 'n')
			return xstrdup(e->domain);
		if (e->rec.psd == 'y' && strcmp(e->domain, start) != 0)
			return xstrdup(keep_labels(start, count_labels(e->domain) + 1));
	}
	if (w->n_found > 0)
		return xstrdup(w->found[w->n_found - 1].domain);
	return xstrdup(start);
}

static char *
psl_org_domain(const struct dmarc_ctx *ctx, const char *domain)
{
	const char *reg = psl_registrable_domain(ctx->psl, domain);

	return xstrdup(reg ? reg : domain);
}

/* dmarc_org_domain - by tree walk (RFC 9989) or PSL (RFC 7489) */
char *
dmarc_org_domain(const struct dmarc_ctx *ctx, const char *domain, bool *tempfail)
{
	struct walk w;
	char *org;

	*tempfail = false;
	if (ctx->mode == DMARC_MODE_RFC7489)
		return psl_org_domain(ctx, domain);
	walk_init(&w, domain);
	walk_run(ctx, &w, false);
	if (w.tempfail) {
		*tempfail = true;
		walk_free(&w);
		return NULL;
	}
	org = walk_org_domain(domain, &w);
	walk_free(&w);
	return org;
}

/* dmarc_report_authorized - the outside destination's _report._dmarc record */
enum dmarc_report_auth
dmarc_report_authorized(const struct dmarc_ctx *ctx, const char *policy_domain,
			const char *dest_domain, struct buf *why)
{
	struct dns_result res;
	struct buf name;
	char **txt = NULL;
	size_t n = 0;
	enum dmarc_report_auth rc = DMARC_REPORT_AUTH_NO;

	buf_init(&name);
	buf_printf(&name, "%s._report._dmarc.%s", policy_domain, dest_domain);
	if (name.len > DNS_MAX_NAME) {
		buf_printf(why, "%s: name too long to ask", name.data);
		buf_free(&name);
		return DMARC_REPORT_AUTH_NO;
	}
	dns_query(ctx->dns, name.data, LDNS_RR_TYPE_TXT, &res);
	if (res.status == DNS_TEMPFAIL) {
		buf_printf(why, "%s TXT: %s", name.data, res.reason ? res.reason : "temporary failure");
		rc = DMARC_REPORT_AUTH_TEMPFAIL;
	} else {
		if (res.status == DNS_ANSWER)
			n = dns_txt_strings(&res, &txt);
		for (size_t i = 0; i < n && rc == DMARC_REPORT_AUTH_NO; i++)
			if (dmarc_record_is_dmarc(txt[i]))
				rc = DMARC_REPORT_AUTH_YES;
		dns_strings_free(txt, n);
		if (rc == DMARC_REPORT_AUTH_NO)
			buf_printf(why, "%s does not authorize reports for %s (no v=DMARC1 at %s)",
				   dest_domain, policy_domain, name.data);
	}
	dns_result_free(&res);
	buf_free(&name);
	return rc;
}

/* is_within - d equals parent or is below it */
static bool
is_within(const char *d, const char *parent)
{
	size_t n = strlen(d), p = strlen(parent);

	if (n < p || strcasecmp(d + n - p, parent) != 0)
		return false;
	return n == p || d[n - p - 1] == '.';
}

#define ALIGN_MEMO 16

/* One evaluation: the author domain's walk, kept to be resumed when an
 * alignment needs its organizational domain, and the relaxed-alignment answers
 * (the SPF domain and several signatures often name the same domain, and each
 * answer costs a tree walk). */
struct evaluation {
	const struct dmarc_ctx *ctx;
	const char *author;
	struct dmarc_outcome *out;
	struct walk walk;
	const char *memo_id[ALIGN_MEMO];
	int memo_result[ALIGN_MEMO];
	size_t n_memo;
};

/* author_org - the author domain's organizational domain, finishing its walk
 * the first time; NULL when DNS trouble kept it unknown */
static const char *
author_org(struct evaluation *ev)
{
	struct dmarc_outcome *out = ev->out;

	if (out->org_domain || ev->walk.tempfail)
		return out->org_domain;
	walk_run(ev->ctx, &ev->walk, false);
	if (ev->walk.tempfail)
		return NULL;
	out->org_domain = walk_org_domain(ev->author, &ev->walk);
	return out->org_domain;
}

/* aligned - 1 aligned, 0 not, -1 could not tell (DNS) */
static int
aligned(struct evaluation *ev, const char *id, bool strict)
{
	const char *org_author;
	bool tempfail;
	char *org;
	int r;

	if (id == NULL || *id == '\0')
		return 0;
	if (strcasecmp(id, ev->author) == 0)
		return 1;
	if (strict)
		return 0;
	if ((org_author = author_org(ev)) == NULL)
		return -1;
	if (!is_within(id, org_author))
		return 0;
	for (size_t i = 0; i < ev->n_memo; i++)
		if (strcasecmp(ev->memo_id[i], id) == 0)
			return ev->memo_result[i];
	org = dmarc_org_domain(ev->ctx, id, &tempfail);
	r = org == NULL ? -1 : strcasecmp(org, org_author) == 0;
	free(org);
	if (ev->n_memo < ALIGN_MEMO) {
		ev->memo_id[ev->n_memo] = id;
		ev->memo_result[ev->n_memo++] = r;
	}
	return r;
}

/* discover - find the policy record (and, by the PSL, the org domain); false
 * on DNS trouble */
static bool
discover(struct evaluation *ev)
{
	const struct dmarc_ctx *ctx = ev->ctx;
	const char *author = ev->author;
	struct dmarc_outcome *out = ev->out;
	struct dmarc_record rec = { .p = DMARC_POLICY_UNSET };
	struct walk *w = &ev->walk;

	walk_init(w, author);
	if (ctx->mode == DMARC_MODE_RFC7489) {
		w->next = NULL;
		out->org_domain = psl_org_domain(ctx, author);
		int r = lookup_record(ctx, author, &rec, &w->note);
		if (r == 0 && strcasecmp(out->org_domain, author) != 0) {
			r = lookup_record(ctx, out->org_domain, &rec, &w->note);
			if (r > 0)
				out->policy_domain = xstrdup(out->org_domain);
		} else if (r > 0) {
			out->policy_domain = xstrdup(author);
		}
		if (r < 0)
			return false;
		out->have_record = r > 0;
		out->rec = rec;
		return true;
	}
	walk_run(ctx, w, true);
	if (w->tempfail)
		return false;
	if (w->n_found > 0) {
		out->have_record = true;
		out->rec = w->found[0].rec;	/* its published strings move to out */
		memset(&w->found[0].rec, 0, sizeof(w->found[0].rec));
		w->found[0].rec.psd = out->rec.psd;	/* the org domain still reads it */
		out->policy_domain = xstrdup(w->found[0].domain);
	}
	return true;
}

/* requested_policy - p, sp or np for this author domain */
static void
requested_policy(const struct dmarc_ctx *ctx, const char *author, struct dmarc_outcome *out)
{
	const struct dmarc_record *r = &out->rec;

	out->requested = r->p;
	out->requested_from = "p";
	if (strcasecmp(out->policy_domain, author) == 0)
		return;
	if (r->np != DMARC_POLICY_UNSET && ctx->mode == DMARC_MODE_RFC9989) {
		struct dns_result res;
		dns_query(ctx->dns, author, LDNS_RR_TYPE_A, &res);
		bool nonexistent = res.status == DNS_NXDOMAIN;
		dns_result_free(&res);
		if (nonexistent) {
			out->requested = r->np;
			out->requested_from = "np";
			return;
		}
	}
	if (r->sp != DMARC_POLICY_UNSET) {
		out->requested = r->sp;
		out->requested_from = "sp";
	}
}

static void
describe(struct dmarc_outcome *out, const char *author)
{
	struct buf b;
	const struct dmarc_record *r = &out->rec;

	buf_init(&b);
	buf_printf(&b, "p=%s", dmarc_policy_name(r->p));
	if (r->sp != DMARC_POLICY_UNSET)
		buf_printf(&b, " sp=%s", dmarc_policy_name(r->sp));
	if (r->np != DMARC_POLICY_UNSET)
		buf_printf(&b, " np=%s", dmarc_policy_name(r->np));
	if (r->testing)
		buf_adds(&b, " t=y");
	if (r->pct != 100)
		buf_printf(&b, " pct=%d", r->pct);
	buf_printf(&b, " dis=%s", out->result == DMARC_FAIL
		   ? dmarc_policy_name(out->disposition) : "none");
	if (out->policy_domain && strcasecmp(out->policy_domain, author) != 0)
		buf_printf(&b, " policy from %s", out->policy_domain);
	if (out->record_note)
		buf_printf(&b, "; %s", out->record_note);
	out->reason = buf_steal(&b);
}

/* pct_sampled - true for pct% of messages (RFC 7489 6.6.4), drawn from the
 * kernel's generator: an unseeded random() gives every process the same run */
static bool
pct_sampled(int pct)
{
	uint32_t r;

	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return true;	/* no randomness: apply the policy, the owner's stated wish */
	return (int)(r % 100) < pct;
}

/* evaluate - the result; false on DNS trouble finding the policy record or,
 * for a result other than pass, the organizational domain (a trusted ARC
 * sealer may still align with it) */
static bool
evaluate(struct evaluation *ev, const struct dmarc_request *req)
{
	struct dmarc_outcome *out = ev->out;
	bool unsure = false;

	if (!discover(ev))
		return false;
	if (!out->have_record) {
		author_org(ev);		/* the walk found nothing and is over: no query */
		out->result = DMARC_NONE;
		return true;
	}
	requested_policy(ev->ctx, ev->author, out);
	if (req->spf_result == SPF_PASS) {
		int a = aligned(ev, req->spf_domain, out->rec.aspf_strict);
		out->spf_aligned = a == 1;
		unsure |= a < 0;
	}
	if (req->spf_result == SPF_TEMPERROR)
		out->aligned_temperror |= aligned(ev, req->spf_domain, out->rec.aspf_strict) != 0;
	for (size_t i = 0; req->dkim && i < req->dkim->n_sigs && !out->dkim_aligned; i++) {
		if (req->dkim->sigs[i].result == DKIMV_TEMPERROR)
			out->aligned_temperror |= aligned(ev, req->dkim->sigs[i].domain,
							  out->rec.adkim_strict) != 0;
		if (req->dkim->sigs[i].result != DKIMV_PASS)
			continue;
		int a = aligned(ev, req->dkim->sigs[i].domain, out->rec.adkim_strict);
		out->dkim_aligned = a == 1;
		unsure |= a < 0;
	}
	if (out->spf_aligned || out->dkim_aligned) {
		out->result = DMARC_PASS;
		return true;
	}
	if (author_org(ev) == NULL)
		return false;
	if (unsure) {
		out->result = DMARC_TEMPERROR;
		return true;
	}
	out->result = DMARC_FAIL;
	out->disposition = out->requested;
	if (out->rec.testing)
		out->disposition = dmarc_policy_weaker(out->disposition);
	if (ev->ctx->mode == DMARC_MODE_RFC7489 && out->rec.pct < 100 && !pct_sampled(out->rec.pct))
		out->disposition = dmarc_policy_weaker(out->disposition);
	return true;
}

/* dmarc_evaluate - the result and the disposition the domain owner asks for.
 * org_domain stays NULL when no alignment needed it: every aligned
 * identifier was the author domain itself. */
void
dmarc_evaluate(const struct dmarc_ctx *ctx, const struct dmarc_request *req,
	       struct dmarc_outcome *out)
{
	struct evaluation ev = { .ctx = ctx, .author = req->author_domain, .out = out };
	bool ok;

	memset(out, 0, sizeof(*out));
	out->disposition = DMARC_POLICY_NONE;
	ok = evaluate(&ev, req);
	out->record_note = ev.walk.note.len ? buf_steal(&ev.walk.note) : NULL;
	walk_free(&ev.walk);
	if (!ok || out->result == DMARC_NONE) {
		struct buf b;
		char *note = out->record_note;

		if (!ok) {	/* a record found before the trouble is not used */
			out->record_note = NULL;
			dmarc_outcome_free(out);
			out->record_note = note;
		}
		buf_init(&b);
		buf_adds(&b, ok ? "no DMARC record" : "DNS error looking up the DMARC record");
		if (out->record_note)
			buf_printf(&b, "; %s", out->record_note);
		out->result = ok ? DMARC_NONE : DMARC_TEMPERROR;
		out->disposition = DMARC_POLICY_NONE;
		out->reason = buf_steal(&b);
		return;
	}
	describe(out, ev.author);
}

/* dmarc_outcome_free - release strings */
void
dmarc_outcome_free(struct dmarc_outcome *out)
{
	free(out->policy_domain);
	free(out->org_domain);
	free(out->record_note);
	free(out->reason);
	dmarc_record_free(&out->rec);
	memset(out, 0, sizeof(*out));
}
