/*
 * arc_trust - the trusted-forwarder decision (RFC 8617 section 7.2: a
 * receiver may use the chain's results in its local policy).
 *
 * Relaxed alignment here asks whether the AAR's domain is the From domain's
 * organizational domain or below it; that is the organizational-domain
 * equality of RFC 7489 / RFC 9989 except where a DMARC record or PSL entry
 * makes a deeper organizational domain, which then counts as aligned. The
 * domains compared come from a host the admin trusts, not from the sender.
 */
#include "arc_trust.h"
#include "resinfo.h"

#include <string.h>
#include <strings.h>

/* ends_with_label - is d equal to base or a subdomain of it (case-insensitive)? */
static bool
ends_with_label(const char *d, const char *base, bool allow_equal)
{
	size_t n = strlen(d), l = strlen(base);

	if (l == 0 || l > n || strcasecmp(d + n - l, base) != 0)
		return false;
	if (l == n)
		return allow_equal;
	return d[n - l - 1] == '.' || base[0] == '.';
}

/* arc_trust_listed - ".example.org" lists its subdomains only, a bare name itself only */
bool
arc_trust_listed(char *const *sealers, size_t n, const char *domain)
{
	for (size_t i = 0; domain && i < n; i++) {
		const char *s = sealers[i];
		if (s[0] == '.' ? ends_with_label(domain, s, false) && domain[0] != '.'
				: strcasecmp(domain, s) == 0)
			return true;
	}
	return false;
}

/* arc_trust_aligned - strict: the same name; relaxed: at or below the organizational domain */
bool
arc_trust_aligned(const char *domain, const char *from_domain, const char *org_domain,
		  bool strict)
{
	if (domain == NULL || *domain == '\0' || from_domain == NULL)
		return false;
	if (strict)
		return strcasecmp(domain, from_domain) == 0;
	return ends_with_label(domain, org_domain ? org_domain : from_domain, true);
}

/* domain_of - the part after the last '@' of an address, or the value itself */
static const char *
domain_of(const char *v)
{
	const char *at = v ? strrchr(v, '@') : NULL;

	return at ? at + 1 : v;
}

/* shows_pass - what in these results passed for the From domain, or NULL */
static const char *
shows_pass(const struct resinfo_list *l, const struct arc_trust_request *req)
{
	const char *via = NULL;

	for (size_t i = 0; i < l->n; i++) {
		const struct resinfo *r = &l->results[i];
		if (strcmp(r->result, "pass") != 0)
			continue;
		if (strcmp(r->method, "dmarc") == 0) {
			const char *from = resinfo_get(r, "header.from");
			if (from && strcasecmp(domain_of(from), req->from_domain) == 0)
				return "dmarc";		/* the strongest: stop here */
		} else if (strcmp(r->method, "dkim") == 0) {
			const char *d = resinfo_get(r, "header.d");
			if (d == NULL)
				d = domain_of(resinfo_get(r, "header.i"));
			if (arc_trust_aligned(d, req->from_domain, req->org_domain, req->adkim_strict))
				via = "dkim";
		} else if (strcmp(r->method, "spf") == 0 && via == NULL) {
			const char *mf = domain_of(resinfo_get(r, "smtp.mailfrom"));
			if (arc_trust_aligned(mf, req->from_domain, req->org_domain, req->aspf_strict))
				via = "spf";
		}
	}
	return via;
}

/* newest_trusted - the set of the highest instance sealed by a listed domain */
static const struct arc_set_view *
newest_trusted(const struct arc_trust_request *req)
{
	const struct arc_set_view *best = NULL;

	for (size_t i = 0; i < req->chain->n_sets; i++) {
		const struct arc_set_view *set = &req->chain->sets[i];
		if (arc_trust_listed(req->sealers, req->n_sealers, set->seal_domain)
		    && (best == NULL || set->instance > best->instance))
			best = set;
	}
	return best;
}

/* arc_trust_decide - the override, or why there is none */
void
arc_trust_decide(const struct arc_trust_request *req, struct arc_trust *out)
{
	const struct arc_set_view *set;
	struct resinfo_list l;
	const char *why;

	memset(out, 0, sizeof(*out));
	if (req->dmarc != DMARC_FAIL || req->from_domain == NULL)
		return (void)(out->why_not = "DMARC did not fail");
	if (req->n_sealers == 0)
		return (void)(out->why_not = "no trusted ARC sealers");
	if (req->chain == NULL || req->chain->status != ARC_PASS)
		return (void)(out->why_not = "no valid ARC chain");
	set = newest_trusted(req);
	if (set == NULL)
		return (void)(out->why_not = "no trusted sealer in the ARC chain");
	out->sealer = set->seal_domain;
	out->instance = set->instance;
	if (set->aar_payload == NULL
	    || !resinfo_parse(set->aar_payload, strlen(set->aar_payload), &l, &why))
		return (void)(out->why_not = "trusted sealer's AAR unreadable");
	out->via = shows_pass(&l, req);
	resinfo_free(&l);
	if (out->via == NULL)
		return (void)(out->why_not = "trusted sealer's AAR shows no aligned pass");
	out->override = true;
}
