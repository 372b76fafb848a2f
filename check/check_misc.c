/*
 * check_misc - mx.*, tlsrpt.record, bimi.record and the parked-domain shape.
 */
#include "check.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* mx_hosts - the MX targets of res, without the final dot; null MX counted */
static void
mx_hosts(struct check_ctx *cx, const struct dns_result *res, size_t *n_null)
{
	size_t n = res->rrs ? ldns_rr_list_rr_count(res->rrs) : 0;

	*n_null = 0;
	cx->mx_hosts = xcalloc(n + 1, sizeof(*cx->mx_hosts));
	for (size_t i = 0; i < n; i++) {
		ldns_rdf *host = ldns_rr_rdf(ldns_rr_list_rr(res->rrs, i), 1);
		char *name = host ? ldns_rdf2str(host) : NULL;
		size_t len = name ? strlen(name) : 0;
		if (name == NULL)
			continue;
		if (strcmp(name, ".") == 0) {
			(*n_null)++;
		} else {
			if (len > 1 && name[len - 1] == '.')
				name[len - 1] = '\0';
			cx->mx_hosts[cx->n_mx++] = xstrdup(name);
		}
		free(name);
	}
}

/* host_resolves - the host has an A or AAAA record; -1 on DNS trouble */
static int
host_resolves(struct check_ctx *cx, const char *host)
{
	static const ldns_rr_type types[] = { LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA };
	int r = 0;

	for (size_t i = 0; i < 2 && r == 0; i++) {
		struct dns_result res;
		dns_query(cx->dns, host, types[i], &res);
		r = res.status == DNS_ANSWER ? 1 : res.status == DNS_TEMPFAIL ? -1 : 0;
		dns_result_free(&res);
	}
	return r;
}

/* mx_addresses - mx.hosts: every MX target has an address */
static void
mx_addresses(struct check_ctx *cx)
{
	struct buf bad;
	struct check_item *c;
	size_t n_bad = 0;
	bool tempfail = false;

	buf_init(&bad);
	for (size_t i = 0; i < cx->n_mx; i++) {
		int r = host_resolves(cx, cx->mx_hosts[i]);
		tempfail |= r < 0;
		if (r == 0)
			buf_printf(&bad, "%s%s", n_bad++ ? ", " : "", cx->mx_hosts[i]);
	}
	if (n_bad) {
		c = report_add(cx->rep, "mx.hosts", CHECK_FAIL, "MX hosts without an address: %s.",
			       bad.data);
		item_advice(c, "Point the MX records at hosts that have A/AAAA records.");
	} else if (tempfail) {
		c = report_add(cx->rep, "mx.hosts", CHECK_ERROR, "The address lookup of an MX host "
			       "failed.");
	} else {
		c = report_add(cx->rep, "mx.hosts", CHECK_OK, "Every MX host has an address.");
	}
	item_str(c, "unresolved", bad.data ? bad.data : "");
	buf_free(&bad);
}

/* check_mx - mx.record (null MX of RFC 7505 included) and mx.hosts */
void
check_mx(struct check_ctx *cx)
{
	struct dns_result res;
	struct check_item *c;
	struct buf list;
	size_t n_null = 0;

	dns_query(cx->dns, cx->domain, LDNS_RR_TYPE_MX, &res);
	if (res.status == DNS_TEMPFAIL) {
		report_add(cx->rep, "mx.record", CHECK_ERROR, "The MX lookup failed (%s).",
			   res.reason ? res.reason : "DNS error");
		dns_result_free(&res);
		return;
	}
	if (res.status == DNS_NXDOMAIN) {
		c = report_add(cx->rep, "mx.record", CHECK_FAIL, "%s does not exist (NXDOMAIN).",
			       cx->domain);
		item_advice(c, "Check the spelling, or that the zone is delegated and published.");
		dns_result_free(&res);
		return;
	}
	cx->mx_known = true;
	mx_hosts(cx, &res, &n_null);
	dns_result_free(&res);
	buf_init(&list);
	buf_adds(&list, "[");
	for (size_t i = 0; i < cx->n_mx; i++) {
		if (i)
			buf_adds(&list, ", ");
		json_string(&list, cx->mx_hosts[i]);
	}
	buf_adds(&list, "]");
	if (n_null && cx->n_mx == 0) {
		cx->null_mx = true;
		c = report_add(cx->rep, "mx.record", CHECK_OK, "Null MX (RFC 7505): the domain "
			       "accepts no mail.");
	} else if (n_null) {
		c = report_add(cx->rep, "mx.record", CHECK_FAIL, "A null MX beside other MX records.");
		item_advice(c, "RFC 7505: the null MX must be the only MX record; remove one or the "
			    "other.");
	} else if (cx->n_mx == 0) {
		c = report_add(cx->rep, "mx.record", CHECK_WARN, "No MX record: senders fall back "
			       "to the domain's address.");
		item_advice(c, "Publish MX records, or \"0 .\" (null MX) if the domain receives no "
			    "mail.");
	} else {
		c = report_add(cx->rep, "mx.record", CHECK_OK, "%zu MX record%s.", cx->n_mx,
			       cx->n_mx == 1 ? "" : "s");
	}
	item_raw(c, "hosts", list.data);
	item_bool(c, "null_mx", cx->null_mx);
	buf_free(&list);
	if (cx->n_mx)
		mx_addresses(cx);
}

/* uri_list_ok - comma-separated URIs, each starting with one of the schemes */
static bool
uri_list_ok(const char *v, const char *const *schemes)
{
	char *copy = xstrdup(v), *save = NULL, *u;
	bool ok = true, any = false;

	for (u = strtok_r(copy, ",", &save); u && ok; u = strtok_r(NULL, ",", &save)) {
		while (*u == ' ')
			u++;
		ok = false;
		for (const char *const *s = schemes; *s; s++)
			ok |= strncasecmp(u, *s, strlen(*s)) == 0 && u[strlen(*s)] != '\0';
		any = true;
	}
	free(copy);
	return ok && any;
}

/* tag_value - the value of "name=" in a ';'-separated tag list, trimmed; NULL if absent */
static char *
tag_value(const char *txt, const char *name)
{
	char *copy = xstrdup(txt), *save = NULL, *t, *out = NULL;

	for (t = strtok_r(copy, ";", &save); t; t = strtok_r(NULL, ";", &save)) {
		char *eq = strchr(t, '=');
		while (*t == ' ' || *t == '\t')
			t++;
		if (eq == NULL)
			continue;
		char *e = eq;
		while (e > t && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if ((size_t)(e - t) != strlen(name) || strncmp(t, name, (size_t)(e - t)) != 0)
			continue;
		char *v = eq + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		e = v + strlen(v);
		while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		free(out);
		out = xstrdup(v);
	}
	free(copy);
	return out;
}

/* lookup_one - the one record at name starting with prefix; false when the
 * lookup already gave its finding (error, none, several) */
static bool
lookup_one(struct check_ctx *cx, const char *id, const char *name, const char *prefix,
	   bool wanted, char **text)
{
	const char *why = NULL;
	struct check_item *c;
	int n = check_txt_with_prefix(cx, name, prefix, text, &why);

	if (n < 0) {
		report_add(cx->rep, id, CHECK_ERROR, "The TXT lookup of %s failed (%s).", name, why);
	} else if (n == 0) {
		c = report_add(cx->rep, id, wanted ? CHECK_WARN : CHECK_OK, "No %s record at %s%s.",
			       prefix, name, wanted ? "" : " (optional)");
		if (wanted)
			item_advice(c, "Publish %s TXT \"%s; rua=mailto:tlsrpt@%s\" to hear of TLS "
				    "failures delivering to you.", name, prefix, cx->domain);
	} else if (n > 1) {
		c = report_add(cx->rep, id, CHECK_FAIL, "%d %s records at %s: receivers use none.",
			       n, prefix, name);
		item_advice(c, "Keep exactly one record.");
	} else {
		return true;
	}
	free(*text);
	*text = NULL;
	return false;
}

/* check_tlsrpt - tlsrpt.record: _smtp._tls with v=TLSRPTv1 and a rua of mailto:/https: */
void
check_tlsrpt(struct check_ctx *cx)
{
	static const char *const schemes[] = { "mailto:", "https:", NULL };
	struct buf name;
	struct check_item *c;
	char *text, *rua;

	if (cx->null_mx)
		return;	/* no inbound SMTP, nothing to report on */
	buf_init(&name);
	buf_printf(&name, "_smtp._tls.%s", cx->domain);
	if (lookup_one(cx, "tlsrpt.record", name.data, "v=TLSRPTv1", true, &text)) {
		rua = tag_value(text, "rua");
		if (rua && uri_list_ok(rua, schemes)) {
			c = report_add(cx->rep, "tlsrpt.record", CHECK_OK, "TLS reports go to %s.", rua);
		} else {
			c = report_add(cx->rep, "tlsrpt.record", CHECK_FAIL, "The TLS-RPT record has %s.",
				       rua ? "a rua= that is not mailto: or https:" : "no rua=");
			item_advice(c, "Give rua=mailto:ADDRESS or rua=https://URL (RFC 8460 3).");
		}
		item_str(c, "record", text);
		free(rua);
		free(text);
	}
	buf_free(&name);
}

/* bimi_uri_ok - empty, or https: */
static bool
bimi_uri_ok(const char *v)
{
	return v == NULL || *v == '\0' || strncasecmp(v, "https://", 8) == 0;
}

/* check_bimi - bimi.record: default._bimi with v=BIMI1; l= and a= syntax only */
void
check_bimi(struct check_ctx *cx)
{
	struct buf name;
	struct check_item *c;
	char *text, *l, *a;

	buf_init(&name);
	buf_printf(&name, "default._bimi.%s", cx->domain);
	if (lookup_one(cx, "bimi.record", name.data, "v=BIMI1", false, &text)) {
		l = tag_value(text, "l");
		a = tag_value(text, "a");
		if (bimi_uri_ok(l) && bimi_uri_ok(a) && (l || a)) {
			c = report_add(cx->rep, "bimi.record", CHECK_OK, "BIMI logo %s%s%s.",
				       l && *l ? l : "(none)", a && *a ? ", evidence " : "",
				       a && *a ? a : "");
		} else {
			c = report_add(cx->rep, "bimi.record", CHECK_FAIL, "The BIMI record's l= or a= "
				       "is not an https: URL.");
			item_advice(c, "l= must be the https: URL of an SVG logo, a= that of the "
				    "certificate (or empty).");
		}
		item_str(c, "l", l);
		item_str(c, "a", a);
		free(l);
		free(a);
		free(text);
	}
	buf_free(&name);
}

/* check_parked - a domain that sends and receives no mail: null MX, "v=spf1 -all", p=reject */
void
check_parked(struct check_ctx *cx)
{
	struct check_item *c;
	/* MX hosts with "v=spf1 -all" is a receive-only domain, not a parked one */
	bool looks_parked = cx->null_mx || (cx->spf_reject_all && cx->mx_known && cx->n_mx == 0);

	if (!looks_parked)
		return;
	if (cx->null_mx && cx->spf_reject_all && cx->dmarc_reject) {
		c = report_add(cx->rep, "domain.parked", CHECK_OK, "Parked domain: null MX, "
			       "\"v=spf1 -all\" and p=reject; nobody can send as it.");
	} else {
		struct buf lacks;
		buf_init(&lacks);
		if (!cx->null_mx)
			buf_adds(&lacks, "a null MX");
		if (!cx->spf_reject_all)
			buf_printf(&lacks, "%s\"v=spf1 -all\"", lacks.len ? " and " : "");
		if (!cx->dmarc_reject)
			buf_printf(&lacks, "%sDMARC p=reject", lacks.len ? " and " : "");
		c = report_add(cx->rep, "domain.parked", CHECK_WARN, "The domain looks parked but "
			       "lacks %s.", lacks.data);
		buf_free(&lacks);
		item_advice(c, "A domain that sends no mail should publish all three: MX \"0 .\", "
			    "TXT \"v=spf1 -all\", _dmarc TXT \"v=DMARC1; p=reject\".");
	}
	item_bool(c, "null_mx", cx->null_mx);
	item_bool(c, "spf_reject_all", cx->spf_reject_all);
	item_bool(c, "dmarc_reject", cx->dmarc_reject);
}
