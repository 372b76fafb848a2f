/*
 * spf - check_host() of RFC 7208 over lib/dns.
 *
 * One struct spf_eval lives for one identity check and carries the shared
 * limits (DNS-querying terms, void lookups, deadline) through includes and
 * redirects, so they are counted across the whole evaluation.
 */
#include "spf.h"
#include "spf_record.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

enum match { NO_MATCH, MATCH, MATCH_ERROR };

struct spf_eval {
	struct dns *dns;
	const struct spf_request *req;
	const char *sender, *local, *sender_domain;
	int dns_terms, voids;
	time_t deadline;
	char *validated_name;		/* %{p}, computed on first use */
	struct buf reason;
	char *explanation;
	enum spf_result error;		/* set with MATCH_ERROR */
};

static enum spf_result check_host(struct spf_eval *ev, const char *domain, bool want_exp);

static const char *const result_names[] = {
	"none", "neutral", "pass", "fail", "softfail", "temperror", "permerror"
};

/* spf_result_name - RFC 7208 spelling */
const char *
spf_result_name(enum spf_result r)
{
	return result_names[r];
}

/* spf_outcome_free - release what spf_check filled in */
void
spf_outcome_free(struct spf_outcome *out)
{
	free(out->domain);
	free(out->reason);
	free(out->explanation);
	memset(out, 0, sizeof(*out));
}

static enum match
fail_with(struct spf_eval *ev, enum spf_result r, const char *fmt, const char *arg)
{
	buf_reset(&ev->reason);
	buf_printf(&ev->reason, fmt, arg);
	ev->error = r;
	return MATCH_ERROR;
}

/* fail_dns - temperror: "DNS error looking up <what><name> (<why>)" */
static enum match
fail_dns(struct spf_eval *ev, const char *what, const char *name, const struct dns_result *res)
{
	buf_reset(&ev->reason);
	buf_printf(&ev->reason, "DNS error looking up %s%s (%s)", what, name,
		   res->reason ? res->reason : "DNS error");
	ev->error = SPF_TEMPERROR;
	return MATCH_ERROR;
}

/* spf_domain_ok - RFC 7208 4.3: a multi-label name of host-name characters */
static bool
spf_domain_ok(const char *d)
{
	for (const char *p = d; *p; p++)
		if (!(isalnum((unsigned char)*p) || *p == '-' || *p == '_' || *p == '.'))
			return false;
	return dns_name_labels(d) >= 2;
}

/* query - one DNS lookup within the deadline */
static bool
query(struct spf_eval *ev, const char *name, ldns_rr_type type, struct dns_result *res)
{
	if (time(NULL) > ev->deadline) {
		memset(res, 0, sizeof(*res));
		res->status = DNS_TEMPFAIL;
		res->reason = "SPF evaluation time limit";
		return false;
	}
	dns_query(ev->dns, name, type, res);
	return true;
}

/* count_dns_term - RFC 7208 4.6.4: at most 10 DNS-querying terms */
static bool
count_dns_term(struct spf_eval *ev)
{
	return ++ev->dns_terms <= SPF_MAX_DNS_MECHS;
}

/* count_void - one more NXDOMAIN or NODATA; false once over the limit */
static bool
count_void(struct spf_eval *ev, const struct dns_result *res)
{
	if (res->status == DNS_NXDOMAIN || res->status == DNS_NODATA)
		return ++ev->voids <= SPF_MAX_VOID_LOOKUPS;
	return true;
}

static const char *
validated_name_cb(void *ctx);

static void
macro_env(struct spf_eval *ev, const char *domain, struct spf_macro_env *env)
{
	env->sender = ev->sender;
	env->local = ev->local;
	env->sender_domain = ev->sender_domain;
	env->domain = domain;
	env->helo = ev->req->helo;
	env->receiver = ev->req->receiver;
	env->ip = &ev->req->ip;
	env->validated_name = validated_name_cb;
	env->ctx = ev;
}

/* target_name - expand a term's domain-spec (or use <domain>) into out */
static void
target_name(struct spf_eval *ev, const char *domain, const char *spec, size_t len,
	    struct buf *out)
{
	struct spf_macro_env env;

	buf_reset(out);
	if (spec == NULL) {
		buf_adds(out, domain);
		return;
	}
	macro_env(ev, domain, &env);
	spf_macro_expand(&env, spec, len, false, out);
	spf_domain_truncate(out);
}

/* addrs_match - does any A/AAAA record in res fall in the client's network? */
static bool
addrs_match(const struct spf_eval *ev, const struct dns_result *res, unsigned cidr4,
	    unsigned cidr6)
{
	const struct ipaddr *ip = &ev->req->ip;
	size_t n = res->rrs ? ldns_rr_list_rr_count(res->rrs) : 0;

	for (size_t i = 0; i < n; i++) {
		ldns_rdf *rdf = ldns_rr_rdf(ldns_rr_list_rr(res->rrs, i), 0);
		struct ipaddr a = { 0 };
		if (rdf == NULL)
			continue;
		if (ldns_rdf_get_type(rdf) == LDNS_RDF_TYPE_A && ldns_rdf_size(rdf) == 4)
			a.family = AF_INET;
		else if (ldns_rdf_get_type(rdf) == LDNS_RDF_TYPE_AAAA && ldns_rdf_size(rdf) == 16)
			a.family = AF_INET6;
		else
			continue;
		memcpy(a.bytes, ldns_rdf_data(rdf), ldns_rdf_size(rdf));
		if (ipaddr_match(ip, &a, ip->family == AF_INET ? cidr4 : cidr6))
			return true;
	}
	return false;
}

static ldns_rr_type
client_addr_type(const struct spf_eval *ev)
{
	return ev->req->ip.family == AF_INET6 ? LDNS_RR_TYPE_AAAA : LDNS_RR_TYPE_A;
}

/* match_a - "a": an address of the target is in the client's network */
static enum match
match_a(struct spf_eval *ev, const char *name, unsigned cidr4, unsigned cidr6, bool count_voids)
{
	struct dns_result res;
	enum match m;

	query(ev, name, client_addr_type(ev), &res);
	if (res.status == DNS_TEMPFAIL) {
		m = fail_dns(ev, "", name, &res);
	} else if (count_voids && !count_void(ev, &res)) {
		m = fail_with(ev, SPF_PERMERROR, "too many void DNS lookups (at %s)", name);
	} else {
		m = addrs_match(ev, &res, cidr4, cidr6) ? MATCH : NO_MATCH;
	}
	dns_result_free(&res);
	return m;
}

/* match_mx - "mx": an address of one of the target's first 10 MX hosts */
static enum match
match_mx(struct spf_eval *ev, const char *name, unsigned cidr4, unsigned cidr6)
{
	struct dns_result res;
	enum match m = NO_MATCH;
	size_t n;

	query(ev, name, LDNS_RR_TYPE_MX, &res);
	if (res.status == DNS_TEMPFAIL) {
		m = fail_dns(ev, "MX ", name, &res);
		goto out;
	}
	if (!count_void(ev, &res)) {
		m = fail_with(ev, SPF_PERMERROR, "too many void DNS lookups (at MX %s)", name);
		goto out;
	}
	n = res.rrs ? ldns_rr_list_rr_count(res.rrs) : 0;
	if (n > SPF_MAX_NAMES) {
		m = fail_with(ev, SPF_PERMERROR, "more than 10 MX records for %s", name);
		goto out;
	}
	for (size_t i = 0; i < n && m == NO_MATCH; i++) {
		ldns_rdf *host = ldns_rr_rdf(ldns_rr_list_rr(res.rrs, i), 1);
		char *hostname = host ? ldns_rdf2str(host) : NULL;
		/* "." is a null MX (RFC 7505): no mail host at all */
		if (hostname && strcmp(hostname, ".") != 0)
			m = match_a(ev, hostname, cidr4, cidr6, false);
		free(hostname);
	}
out:
	dns_result_free(&res);
	return m;
}

/* name_is_within - name equals domain or is a subdomain of it */
static bool
name_is_within(const char *name, const char *domain)
{
	size_t n = strlen(name), d = strlen(domain);

	if (n > 0 && name[n - 1] == '.')
		n--;
	if (d > 0 && domain[d - 1] == '.')
		d--;
	if (d == 0 || n < d)
		return false;
	if (strncasecmp(name + n - d, domain, d) != 0)
		return false;
	return n == d || name[n - d - 1] == '.';
}

/* validated_names - RFC 7208 5.5: PTR names whose addresses include the client */
static size_t
validated_names(struct spf_eval *ev, char *out[SPF_MAX_NAMES], bool *tempfail)
{
	char rev[80];
	struct dns_result res;
	size_t n_ok = 0;

	ipaddr_reverse_name(&ev->req->ip, rev, sizeof(rev));
	query(ev, rev, LDNS_RR_TYPE_PTR, &res);
	*tempfail = res.status == DNS_TEMPFAIL;
	size_t n = res.rrs ? ldns_rr_list_rr_count(res.rrs) : 0;
	for (size_t i = 0; i < n && i < SPF_MAX_NAMES; i++) {
		ldns_rdf *rdf = ldns_rr_rdf(ldns_rr_list_rr(res.rrs, i), 0);
		char *name = rdf ? ldns_rdf2str(rdf) : NULL;
		if (name == NULL)
			continue;
		struct dns_result ares;
		query(ev, name, client_addr_type(ev), &ares);
		if (ares.status == DNS_ANSWER && addrs_match(ev, &ares, 32, 128))
			out[n_ok++] = name;
		else
			free(name);
		dns_result_free(&ares);
	}
	dns_result_free(&res);
	return n_ok;
}

static void
free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
}

/* match_ptr - "ptr" (deprecated but still defined): a validated name within target */
static enum match
match_ptr(struct spf_eval *ev, const char *target)
{
	char *names[SPF_MAX_NAMES];
	bool tempfail;
	size_t n = validated_names(ev, names, &tempfail);
	enum match m = NO_MATCH;

	/* A DNS error on the PTR lookup is no match (RFC 7208 5.5), not temperror. */
	for (size_t i = 0; i < n && m == NO_MATCH; i++)
		if (name_is_within(names[i], target))
			m = MATCH;
	free_names(names, n);
	return m;
}

/* validated_name_cb - %{p}: prefer a name within <domain>, else any, else "unknown" */
static const char *
validated_name_cb(void *ctx)
{
	struct spf_eval *ev = ctx;
	char *names[SPF_MAX_NAMES];
	bool tempfail;

	if (ev->validated_name)
		return ev->validated_name;
	size_t n = validated_names(ev, names, &tempfail);
	size_t pick = 0;
	for (size_t i = 0; i < n; i++)
		if (name_is_within(names[i], ev->sender_domain)) {
			pick = i;
			break;
		}
	if (n > 0) {
		size_t len = strlen(names[pick]);
		if (len > 1 && names[pick][len - 1] == '.')
			names[pick][len - 1] = '\0';
		ev->validated_name = xstrdup(names[pick]);
	} else {
		ev->validated_name = xstrdup("unknown");
	}
	free_names(names, n);
	return ev->validated_name;
}

/* match_exists - "exists": any A record for the target */
static enum match
match_exists(struct spf_eval *ev, const char *name)
{
	struct dns_result res;
	enum match m;

	query(ev, name, LDNS_RR_TYPE_A, &res);
	if (res.status == DNS_TEMPFAIL)
		m = fail_dns(ev, "", name, &res);
	else if (!count_void(ev, &res))
		m = fail_with(ev, SPF_PERMERROR, "too many void DNS lookups (at %s)", name);
	else
		m = res.status == DNS_ANSWER ? MATCH : NO_MATCH;
	dns_result_free(&res);
	return m;
}

/* match_include - RFC 7208 5.2 table */
static enum match
match_include(struct spf_eval *ev, const char *name)
{
	switch (check_host(ev, name, false)) {
	case SPF_PASS:
		return MATCH;
	case SPF_FAIL:
	case SPF_SOFTFAIL:
	case SPF_NEUTRAL:
		return NO_MATCH;
	case SPF_TEMPERROR:
		ev->error = SPF_TEMPERROR;
		return MATCH_ERROR;
	case SPF_NONE:
		return fail_with(ev, SPF_PERMERROR, "included domain %s has no SPF record", name);
	case SPF_PERMERROR:
		break;
	}
	ev->error = SPF_PERMERROR;
	return MATCH_ERROR;
}

/* match_term - evaluate one mechanism */
static enum match
match_term(struct spf_eval *ev, const char *domain, const struct spf_term *t, struct buf *name)
{
	if (t->type == SPF_MECH_ALL)
		return MATCH;
	if (t->type == SPF_MECH_IP4 || t->type == SPF_MECH_IP6)
		return ipaddr_match(&ev->req->ip, &t->net,
				    t->type == SPF_MECH_IP4 ? t->cidr4 : t->cidr6) ? MATCH : NO_MATCH;
	if (!count_dns_term(ev))
		return fail_with(ev, SPF_PERMERROR, "more than 10 DNS lookups (at %s)", domain);
	target_name(ev, domain, t->domain, t->domain_len, name);
	switch (t->type) {
	case SPF_MECH_INCLUDE: return match_include(ev, name->data);
	case SPF_MECH_A: return match_a(ev, name->data, t->cidr4, t->cidr6, true);
	case SPF_MECH_MX: return match_mx(ev, name->data, t->cidr4, t->cidr6);
	case SPF_MECH_PTR: return match_ptr(ev, name->data);
	case SPF_MECH_EXISTS: return match_exists(ev, name->data);
	default: return NO_MATCH;
	}
}

/* explain - RFC 7208 6.2: exp= text, or our default; never an error */
static void
explain(struct spf_eval *ev, const char *domain, const struct spf_record *rec)
{
	struct spf_macro_env env;
	struct buf name, text;
	struct dns_result res;
	char **strings = NULL;
	size_t n = 0;

	buf_init(&name);
	buf_init(&text);
	macro_env(ev, domain, &env);
	if (rec && rec->exp) {
		target_name(ev, domain, rec->exp, rec->exp_len, &name);
		query(ev, name.data, LDNS_RR_TYPE_TXT, &res);
		if (res.status == DNS_ANSWER)
			n = dns_txt_strings(&res, &strings);
		if (n == 1 && !spf_macro_expand(&env, strings[0], strlen(strings[0]), true, &text))
			buf_reset(&text);
		dns_strings_free(strings, n);
		dns_result_free(&res);
	}
	if (text.len == 0) {
		static const char deflt[] = "%{o} does not designate %{c} as a permitted sender";
		spf_macro_expand(&env, deflt, sizeof(deflt) - 1, true, &text);
	}
	free(ev->explanation);
	ev->explanation = buf_steal(&text);
	buf_free(&name);
}

/* fetch_record - RFC 7208 4.4/4.5: exactly one "v=spf1" TXT record */
static enum spf_result
fetch_record(struct spf_eval *ev, const char *domain, char **record)
{
	struct dns_result res;
	char **strings = NULL;
	size_t n = 0, found = 0;
	enum spf_result r = SPF_NONE;

	*record = NULL;
	query(ev, domain, LDNS_RR_TYPE_TXT, &res);
	if (res.status == DNS_TEMPFAIL) {
		fail_dns(ev, "the SPF record of ", domain, &res);
		dns_result_free(&res);
		return SPF_TEMPERROR;
	}
	if (res.status == DNS_ANSWER)
		n = dns_txt_strings(&res, &strings);
	for (size_t i = 0; i < n; i++) {
		if (!spf_record_is_spf(strings[i]))
			continue;
		if (found++ == 0)
			*record = xstrdup(strings[i]);
	}
	if (found > 1) {
		fail_with(ev, SPF_PERMERROR, "%s has more than one SPF record", domain);
		free(*record);
		*record = NULL;
		r = SPF_PERMERROR;
	} else if (found == 0) {
		buf_reset(&ev->reason);
		buf_printf(&ev->reason, "no SPF record for %s", domain);
	} else {
		r = SPF_PASS;	/* "found": the caller evaluates it */
	}
	dns_strings_free(strings, n);
	dns_result_free(&res);
	return r;
}

/* evaluate - walk the terms of a parsed record, then redirect */
static enum spf_result
evaluate(struct spf_eval *ev, const char *domain, const struct spf_record *rec, bool want_exp)
{
	struct buf name;
	enum spf_result r = SPF_NEUTRAL;

	buf_init(&name);
	for (size_t i = 0; i < rec->n_terms; i++) {
		const struct spf_term *t = &rec->terms[i];
		enum match m = match_term(ev, domain, t, &name);
		if (m == MATCH_ERROR) {
			r = ev->error;
			goto out;
		}
		if (m == MATCH) {
			r = t->qualifier;
			buf_reset(&ev->reason);
			buf_printf(&ev->reason, "%s matched %.*s", domain,
				   (int)(t->text_len > 200 ? 200 : t->text_len), t->text);
			if (r == SPF_FAIL && want_exp)
				explain(ev, domain, rec);
			goto out;
		}
	}
	if (rec->redirect) {
		if (!count_dns_term(ev)) {
			fail_with(ev, SPF_PERMERROR, "more than 10 DNS lookups (at %s)", domain);
			r = SPF_PERMERROR;
			goto out;
		}
		target_name(ev, domain, rec->redirect, rec->redirect_len, &name);
		r = check_host(ev, name.data, want_exp);
		if (r == SPF_NONE) {
			fail_with(ev, SPF_PERMERROR, "redirect to %s, which has no SPF record", name.data);
			r = SPF_PERMERROR;
		}
		goto out;
	}
	buf_reset(&ev->reason);
	buf_printf(&ev->reason, "no mechanism of %s matched", domain);
out:
	buf_free(&name);
	return r;
}

/* check_host - RFC 7208 section 4 */
static enum spf_result
check_host(struct spf_eval *ev, const char *domain, bool want_exp)
{
	struct spf_record *rec;
	struct buf why;
	char *record;
	enum spf_result r;

	if (!spf_domain_ok(domain)) {
		buf_reset(&ev->reason);
		buf_printf(&ev->reason, "\"%.100s\" is not a valid domain", domain);
		return SPF_NONE;
	}
	r = fetch_record(ev, domain, &record);
	if (record == NULL)
		return r;
	rec = xmalloc(sizeof(*rec));
	buf_init(&why);
	if (spf_record_parse(record, rec, &why)) {
		r = evaluate(ev, domain, rec, want_exp);
	} else {
		buf_reset(&ev->reason);
		buf_printf(&ev->reason, "syntax error in the SPF record of %s: %s", domain, why.data);
		r = SPF_PERMERROR;
	}
	buf_free(&why);
	spf_record_free(rec);
	free(rec);
	free(record);
	return r;
}

/* split_sender - local-part and domain; no local-part means "postmaster" */
static void
split_sender(const char *sender, char **local, char **domain)
{
	const char *at = strrchr(sender, '@');

	if (at == NULL) {
		*local = xstrdup("postmaster");
		*domain = xstrdup(sender);
		return;
	}
	*local = at == sender ? xstrdup("postmaster") : xstrndup(sender, (size_t)(at - sender));
	*domain = xstrdup(at + 1);
}

/* spf_check - evaluate one identity: MAIL FROM (or postmaster@HELO) or HELO */
void
spf_check(struct dns *dns, const struct spf_request *req, enum spf_identity id,
	  struct spf_outcome *out)
{
	struct spf_eval ev;
	char *local, *domain, *sender;
	const char *helo = req->helo ? req->helo : "";

	memset(out, 0, sizeof(*out));
	memset(&ev, 0, sizeof(ev));
	ev.dns = dns;
	ev.req = req;
	ev.deadline = time(NULL) + SPF_TIME_LIMIT;
	buf_init(&ev.reason);

	if (id == SPF_ID_HELO || req->sender == NULL || req->sender[0] == '\0') {
		local = xstrdup("postmaster");
		domain = xstrdup(helo);
	} else {
		split_sender(req->sender, &local, &domain);
	}
	size_t dl = strlen(domain);
	if (dl > 1 && domain[dl - 1] == '.')
		domain[dl - 1] = '\0';
	sender = xmalloc(strlen(local) + strlen(domain) + 2);
	memcpy(sender, local, strlen(local));
	sender[strlen(local)] = '@';
	memcpy(sender + strlen(local) + 1, domain, strlen(domain) + 1);
	ev.sender = sender;
	ev.local = local;
	ev.sender_domain = domain;

	out->result = check_host(&ev, domain, true);
	out->domain = xstrdup(domain);
	out->reason = buf_steal(&ev.reason);
	if (out->result == SPF_FAIL && ev.explanation == NULL)
		explain(&ev, domain, NULL);
	out->explanation = out->result == SPF_FAIL ? ev.explanation : NULL;
	if (out->result != SPF_FAIL)
		free(ev.explanation);
	free(ev.validated_name);
	free(sender);
	free(local);
	free(domain);
}
