/*
 * message - "authmilter-check message FILE -i CLIENT_IP [-H HELO] [-s MAIL_FROM]
 * [-c CONF]": run the message through lib/session exactly as test mode does
 * (authmilter -t), then explain the verdict in sentences: the SPF term that
 * matched, each DKIM signature's outcome and why, which identifier aligned
 * with the From domain, the policy the owner asked for and every local
 * decision.
 *
 * The session is opaque: what it found is read back from its verdict (our
 * own Authentication-Results text, the local notes, the action), read with
 * ar_read below; alignment is re-derived from those results with lib/dmarc
 * (the policy record's adkim/aspf and the organizational domains).
 */
#include "check.h"
#include "../lib/dkimv.h"
#include "../lib/dnscache.h"
#include "../lib/runtime.h"
#include "../lib/session.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define AR_MAX_RESULTS 64
#define AR_MAX_PROPS 8

struct runtime *check_load_runtime(const char *conf_path, struct dns_cache **cache);

/* One "method=result (comment) ptype.prop=value..." of our header. */
struct ar_result {
	char *method, *result, *comment;
	char *prop_name[AR_MAX_PROPS], *prop_value[AR_MAX_PROPS];
	size_t n_props;
};

/* ar_token - up to one of stop outside a quoted string; the text unquoted */
static char *
ar_token(const char **pp, const char *stop)
{
	const char *p = *pp;
	struct buf b;
	bool quoted = false;

	buf_init(&b);
	while (*p && (quoted || !strchr(stop, *p))) {
		if (*p == '"') {
			quoted = !quoted;
		} else if (*p == '\\' && quoted && p[1]) {
			buf_addc(&b, *++p);
		} else {
			buf_addc(&b, *p);
		}
		p++;
	}
	*pp = p;
	char *t = buf_steal(&b);
	return t ? t : xstrdup("");
}

/* ar_comment - "(...)" with nesting and \-escapes; the text inside */
static char *
ar_comment(const char **pp)
{
	const char *p = *pp + 1;
	struct buf b;
	int depth = 1;

	buf_init(&b);
	for (; *p && depth; p++) {
		if (*p == '\\' && p[1]) {
			buf_addc(&b, *++p);
			continue;
		}
		depth += *p == '(' ? 1 : *p == ')' ? -1 : 0;
		if (depth)
			buf_addc(&b, *p);
	}
	*pp = p;
	char *t = buf_steal(&b);
	return t ? t : xstrdup("");
}

static void
skip_space(const char **pp)
{
	while (**pp == ' ' || **pp == '\t' || **pp == '\r' || **pp == '\n')
		(*pp)++;
}

/* ar_read - our header's results after the authserv-id; the count, at most max */
static size_t
ar_read(const char *value, struct ar_result *out, size_t max)
{
	const char *p = strchr(value, ';');
	size_t n = 0;

	while (p && *p == ';' && n < max) {
		struct ar_result *r = &out[n];
		p++;
		skip_space(&p);
		memset(r, 0, sizeof(*r));
		r->method = ar_token(&p, "=; ");
		if (*p == '=')
			p++;
		r->result = ar_token(&p, "; (");
		skip_space(&p);
		if (*p == '(')
			r->comment = ar_comment(&p);
		skip_space(&p);
		while (*p && *p != ';') {
			char *name = ar_token(&p, "=; ");
			char *val = NULL;
			if (*p == '=') {
				p++;
				val = ar_token(&p, "; ");
			}
			if (r->n_props < AR_MAX_PROPS && val) {
				r->prop_name[r->n_props] = name;
				r->prop_value[r->n_props++] = val;
			} else {
				free(name);
				free(val);
				if (*p && *p != ';' && *p != ' ')
					p++;	/* never stuck on a byte no token takes */
			}
			skip_space(&p);
		}
		n++;
	}
	return n;
}

static void
ar_free(struct ar_result *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(r[i].method);
		free(r[i].result);
		free(r[i].comment);
		for (size_t j = 0; j < r[i].n_props; j++) {
			free(r[i].prop_name[j]);
			free(r[i].prop_value[j]);
		}
	}
}

/* prop - a property's value, or NULL */
static const char *
prop(const struct ar_result *r, const char *name)
{
	for (size_t i = 0; i < r->n_props; i++)
		if (strcasecmp(r->prop_name[i], name) == 0)
			return r->prop_value[i];
	return NULL;
}

struct identities {
	const char *spf_domain;		/* when SPF passed */
	const char *dkim_pass[AR_MAX_RESULTS];
	size_t n_dkim_pass;
	const char *from;
};

/* explain_spf - the identity checked and the term that matched */
static void
explain_spf(const struct ar_result *r, struct identities *ids)
{
	const char *mf = prop(r, "smtp.mailfrom"), *helo = prop(r, "smtp.helo");
	const char *id = mf ? mf : helo ? helo : "";
	const char *at = strrchr(id, '@');

	printf("SPF: %s identity %s: %s", mf ? "the MAIL FROM" : "the HELO", id, r->result);
	printf(r->comment && *r->comment ? ", because %s.\n" : ".\n", r->comment);
	if (strcmp(r->result, "pass") == 0 && mf)
		ids->spf_domain = at ? at + 1 : id;
}

/* explain_dkim - one signature */
static void
explain_dkim(const struct ar_result *r, struct identities *ids)
{
	const char *d = prop(r, "header.d"), *s = prop(r, "header.s"), *a = prop(r, "header.a");

	if (d == NULL) {
		printf("DKIM: %s%s%s.\n", strcmp(r->result, "none") == 0 ? "the message has no "
		       "signature" : r->result, r->comment ? ": " : "", r->comment ? r->comment : "");
		return;
	}
	printf("DKIM: the signature of d=%s (selector %s%s%s) is %s", d, s ? s : "?",
	       a ? ", " : "", a ? a : "", r->result);
	printf(r->comment && *r->comment ? ": %s.\n" : ".\n", r->comment);
	if (strcmp(r->result, "pass") == 0 && ids->n_dkim_pass < AR_MAX_RESULTS)
		ids->dkim_pass[ids->n_dkim_pass++] = d;
}

/* aligned_how - "strictly", "relaxed (organizational domain X)" or NULL */
static const char *
aligned_how(const struct dmarc_ctx *dmarc, const char *id, const char *from, bool strict,
	    char *buf, size_t size)
{
	bool tf1, tf2;
	const char *how = NULL;

	if (strcasecmp(id, from) == 0)
		return "exactly";
	if (strict)
		return NULL;
	char *o1 = dmarc_org_domain(dmarc, id, &tf1), *o2 = dmarc_org_domain(dmarc, from, &tf2);
	if (o1 && o2 && strcasecmp(o1, o2) == 0) {
		snprintf(buf, size, "in relaxed mode (both under %s)", o1);
		how = buf;
	}
	free(o1);
	free(o2);
	return how;
}

/* explain_alignment - which passing identifier aligned with the From domain */
static void
explain_alignment(const struct dmarc_ctx *dmarc, const struct identities *ids)
{
	struct dkimv_outcome none = { 0 };
	struct dmarc_request req = { .author_domain = ids->from, .spf_result = SPF_NONE,
				     .dkim = &none, .mode = dmarc->mode };
	struct dmarc_outcome out;
	char buf[300];
	const char *how;
	bool any = false;

	dmarc_evaluate(dmarc, &req, &out);	/* the record's adkim/aspf (cached DNS) */
	if (ids->spf_domain) {
		how = aligned_how(dmarc, ids->spf_domain, ids->from, out.rec.aspf_strict, buf, sizeof(buf));
		printf("Alignment: SPF passed for %s, which %s%s.\n", ids->spf_domain,
		       how ? "aligns with the From domain " : "does not align with the From domain",
		       how ? how : out.rec.aspf_strict ? " (aspf=s asks for the exact domain)" : "");
		any |= how != NULL;
	}
	for (size_t i = 0; i < ids->n_dkim_pass; i++) {
		how = aligned_how(dmarc, ids->dkim_pass[i], ids->from, out.rec.adkim_strict, buf,
				  sizeof(buf));
		printf("Alignment: DKIM passed for d=%s, which %s%s.\n", ids->dkim_pass[i],
		       how ? "aligns with the From domain " : "does not align with the From domain",
		       how ? how : out.rec.adkim_strict ? " (adkim=s asks for the exact domain)" : "");
		any |= how != NULL;
	}
	if (!ids->spf_domain && ids->n_dkim_pass == 0)
		printf("Alignment: nothing aligned: neither SPF nor any DKIM signature passed.\n");
	else if (!any)
		printf("Alignment: nothing aligned with %s.\n", ids->from);
	dmarc_outcome_free(&out);
}

/* explain_dmarc - the owner's policy and what it came to */
static void
explain_dmarc(const struct runtime *rt, const struct ar_result *r, struct identities *ids)
{
	const char *policy = prop(r, "policy.dmarc");
	char *local = r->comment ? strstr(r->comment, "; local: ") : NULL;

	ids->from = prop(r, "header.from");
	if (local)
		*local = '\0';
	printf("DMARC: for the From domain %s: %s (%s)%s%s.\n", ids->from ? ids->from : "(unknown)",
	       r->result, r->comment ? r->comment : "", policy ? "; policy applied: " : "",
	       policy ? policy : "");
	if (ids->from)
		explain_alignment(&rt->dmarc, ids);
}

/* explain - every result of our header, then local decisions and the action */
static void
explain(const struct runtime *rt, const struct verdict *v)
{
	struct ar_result *r = xcalloc(AR_MAX_RESULTS, sizeof(*r));
	struct identities ids = { 0 };
	size_t n = ar_read(v->auth_results, r, AR_MAX_RESULTS);

	printf("Authentication-Results: %s\n\n", v->auth_results);
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(r[i].method, "spf") == 0)
			explain_spf(&r[i], &ids);
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(r[i].method, "dkim") == 0)
			explain_dkim(&r[i], &ids);
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(r[i].method, "dmarc") == 0)
			explain_dmarc(rt, &r[i], &ids);
	if (v->dmarc_notes.len) {
		char *notes = xstrdup(v->dmarc_notes.data), *save = NULL;
		for (char *t = strtok_r(notes, ";", &save); t; t = strtok_r(NULL, ";", &save))
			printf("Local decision: %s.\n", t + (*t == ' '));
		free(notes);
	}
	printf("Action: %s", verdict_action_name(v->action));
	if (v->reply_text)
		printf(", with the SMTP reply %s %s %s", v->smtp_code, v->smtp_xcode, v->reply_text);
	printf(".\n");
	for (size_t i = 0; i < v->n_delete; i++)
		printf("Forged Authentication-Results #%zu (claiming our authserv-id) would be "
		       "deleted.\n", v->delete_ar[i]);
	printf("Log line: %s\n", v->summary ? v->summary : "");
	ar_free(r, n);
	free(r);
}

/* check_message_main - see the file comment; 0 when the evaluation ran */
int
check_message_main(int argc, char **argv)
{
	const char *conf = NULL, *ip = NULL, *helo = NULL, *sender = NULL;
	struct runtime_slot slot;
	struct dns_cache *cache;
	struct runtime *rt;
	struct session *s;
	struct verdict v;
	char why[256];
	FILE *fp;
	int c;

	while ((c = getopt(argc, argv, "c:i:H:s:")) != -1) {
		switch (c) {
		case 'c': conf = optarg; break;
		case 'i': ip = optarg; break;
		case 'H': helo = optarg; break;
		case 's': sender = optarg; break;
		default: return 64;
		}
	}
	if (optind + 1 != argc || ip == NULL) {
		fprintf(stderr, "usage: authmilter-check message FILE -i CLIENT_IP [-H HELO] "
			"[-s MAIL_FROM] [-c CONF]\n");
		return 64;
	}
	fp = strcmp(argv[optind], "-") == 0 ? stdin : fopen(argv[optind], "rb");
	if (fp == NULL) {
		fprintf(stderr, "authmilter-check: %s: %s\n", argv[optind], strerror(errno));
		return 66;
	}
	rt = check_load_runtime(conf, &cache);
	if (!dkimv_init((unsigned)rt->cfg.dkim_clock_skew, why, sizeof(why))) {
		fprintf(stderr, "authmilter-check: %s\n", why);
		return 70;
	}
	runtime_slot_init(&slot, rt);
	s = session_new(&slot);
	session_connect(s, ip, NULL);
	if (helo)
		session_helo(s, helo);
	session_mail_from(s, sender ? sender : "");
	session_feed_file(s, fp);
	if (fp != stdin)
		fclose(fp);
	session_eom(s, &v);
	explain(rt, &v);
	verdict_free(&v);
	session_free(s);
	runtime_slot_destroy(&slot);
	dkimv_shutdown();
	dnscache_free(cache);
	return 0;
}
