/*
 * check_mtasts - mtasts.* checks: the _mta-sts TXT record, the policy file
 * fetched over HTTPS with libcurl (certificate verified, no redirects as RFC
 * 8461 3.3 requires, at most 64 KiB), its mode and max_age, and its mx:
 * patterns against the domain's MX hosts.
 *
 * libcurl would resolve mta-sts.DOMAIN with the system resolver; the checker
 * asks lib/dns instead (the configured Nameservers) and hands the address
 * over with CURLOPT_RESOLVE, so every name the audit uses comes from one
 * resolver.
 */
#include "check.h"
#include "mtasts_policy.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MTASTS_FETCH_TIMEOUT 15		/* seconds for the whole HTTPS exchange */
#define MTASTS_MIN_AGE 86400		/* under a day protects little (RFC 8461 3.2 suggests weeks) */

struct body {
	struct buf data;
	bool too_big;
};

/* on_data - keep the body; past the cap, stop the transfer (never a cut body) */
static size_t
on_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct body *b = arg;
	size_t n = size * nmemb;

	if (b->data.len + n > MTASTS_MAX_BODY) {
		b->too_big = true;
		return 0;
	}
	buf_add(&b->data, ptr, n);
	return n;
}

/* policy_address - the first A (else AAAA) of host through lib/dns, as text */
static bool
policy_address(struct check_ctx *cx, const char *host, char *out, size_t size, const char **why)
{
	static const ldns_rr_type types[] = { LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA };

	*why = "no address";
	for (size_t i = 0; i < 2; i++) {
		struct dns_result res;
		dns_query(cx->dns, host, types[i], &res);
		if (res.status == DNS_TEMPFAIL)
			*why = res.reason ? res.reason : "DNS error";
		if (res.status == DNS_ANSWER && ldns_rr_list_rr_count(res.rrs) > 0) {
			ldns_rdf *rdf = ldns_rr_rdf(ldns_rr_list_rr(res.rrs, 0), 0);
			char *text = rdf ? ldns_rdf2str(rdf) : NULL;
			bool ok = text && snprintf(out, size, i ? "[%s]" : "%s", text) < (int)size;
			free(text);
			dns_result_free(&res);
			if (ok)
				return true;
			continue;
		}
		dns_result_free(&res);
	}
	return false;
}

struct fetch {
	struct body body;
	long status;
	char *content_type;
	CURLcode code;
	char error[CURL_ERROR_SIZE];
};

/* fetch_policy - GET the policy from addr; true when the transfer ran */
static void
fetch_policy(struct check_ctx *cx, const char *host, const char *addr, struct fetch *f)
{
	struct curl_slist *resolve = NULL;
	struct buf url, pin;
	CURL *h = curl_easy_init();
	int port = cx->https_port ? cx->https_port : 443;
	char *ct = NULL;

	buf_init(&url);
	buf_init(&pin);
	buf_printf(&url, "https://%s:%d/.well-known/mta-sts.txt", host, port);
	buf_printf(&pin, "%s:%d:%s", host, port, addr);
	resolve = curl_slist_append(NULL, pin.data);
	f->error[0] = '\0';
	curl_easy_setopt(h, CURLOPT_URL, url.data);
	curl_easy_setopt(h, CURLOPT_RESOLVE, resolve);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)MTASTS_FETCH_TIMEOUT);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, f->error);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "authmilter-check/" PACKAGE_VERSION);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &f->body);
	if (cx->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, cx->ca_file);
	f->code = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &f->status);
	if (curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
		f->content_type = xstrdup(ct);
	curl_easy_cleanup(h);
	curl_slist_free_all(resolve);
	buf_free(&url);
	buf_free(&pin);
}

/* transfer_finding - mtasts.policy for a transfer that gave no usable body; false then */
static bool
transfer_finding(struct check_ctx *cx, const char *url, const struct fetch *f)
{
	struct check_item *c;

	if (f->body.too_big) {
		c = report_add(cx->rep, "mtasts.policy", CHECK_FAIL, "The policy at %s is larger "
			       "than %d bytes.", url, MTASTS_MAX_BODY);
		item_advice(c, "Serve the short text policy itself (a few lines), not a page.");
	} else if (f->code == CURLE_PEER_FAILED_VERIFICATION || f->code == CURLE_SSL_CACERT_BADFILE
		   || f->code == CURLE_SSL_ISSUER_ERROR) {
		c = report_add(cx->rep, "mtasts.policy", CHECK_FAIL, "The certificate of %s is not "
			       "valid: %s.", url, f->error[0] ? f->error : curl_easy_strerror(f->code));
		item_advice(c, "Senders ignore a policy served with a certificate they cannot verify: "
			    "install a current certificate for mta-sts.%s.", cx->domain);
	} else if (f->code != CURLE_OK) {
		c = report_add(cx->rep, "mtasts.policy", CHECK_ERROR, "Fetching %s failed: %s.", url,
			       f->error[0] ? f->error : curl_easy_strerror(f->code));
	} else if (f->status >= 300 && f->status < 400) {
		c = report_add(cx->rep, "mtasts.policy", CHECK_FAIL, "%s answers with a redirect "
			       "(HTTP %ld), which senders must not follow (RFC 8461 3.3).", url,
			       f->status);
		item_advice(c, "Serve the policy at that exact URL with status 200.");
	} else if (f->status != 200) {
		c = report_add(cx->rep, "mtasts.policy", CHECK_FAIL, "%s answers HTTP %ld.", url,
			       f->status);
		item_advice(c, "Serve the policy at that URL with status 200.");
	} else {
		return true;
	}
	item_str(c, "url", url);
	item_int(c, "http_status", f->status);
	return false;
}

/* mode_and_age - mtasts.mode and mtasts.max_age */
static void
mode_and_age(struct check_ctx *cx, const struct mtasts_policy *p)
{
	struct check_item *c;
	bool enforce = strcmp(p->mode, "enforce") == 0;

	c = report_add(cx->rep, "mtasts.mode", enforce ? CHECK_OK : CHECK_WARN, "mode: %s.",
		       p->mode);
	item_str(c, "mode", p->mode);
	if (!enforce)
		item_advice(c, "Once the TLS reports show no failures, set mode: enforce.");
	c = report_add(cx->rep, "mtasts.max_age", p->max_age > MTASTS_MAX_AGE ? CHECK_FAIL
		       : p->max_age < MTASTS_MIN_AGE ? CHECK_WARN : CHECK_OK,
		       "max_age: %lld seconds.", p->max_age);
	item_int(c, "max_age", p->max_age);
	if (p->max_age > MTASTS_MAX_AGE)
		item_advice(c, "RFC 8461 allows at most 31557600 (one year).");
	else if (p->max_age < MTASTS_MIN_AGE)
		item_advice(c, "A short max_age lets an attacker outwait the policy: use weeks "
			    "(e.g. 1209600).");
}

/* mx_patterns - mtasts.mx: every MX host is covered by an mx: line */
static void
mx_patterns(struct check_ctx *cx, const struct mtasts_policy *p)
{
	struct buf bad, pats;
	struct check_item *c;
	size_t n_bad = 0;

	buf_init(&bad);
	buf_init(&pats);
	for (size_t i = 0; i < p->n_mx; i++)
		buf_printf(&pats, "%s%s", i ? ", " : "", p->mx[i]);
	for (size_t i = 0; i < cx->n_mx; i++) {
		bool ok = false;
		for (size_t j = 0; j < p->n_mx && !ok; j++)
			ok = mtasts_mx_match(p->mx[j], cx->mx_hosts[i]);
		if (!ok)
			buf_printf(&bad, "%s%s", n_bad++ ? ", " : "", cx->mx_hosts[i]);
	}
	if (n_bad) {
		c = report_add(cx->rep, "mtasts.mx", CHECK_FAIL, "MX hosts not covered by the "
			       "policy's mx: lines (%s): %s.", pats.data ? pats.data : "none", bad.data);
		item_advice(c, "Add an mx: line for each (or a *.parent wildcard): in enforce mode "
			    "senders refuse to deliver to them.");
	} else {
		c = report_add(cx->rep, "mtasts.mx", CHECK_OK, "Every MX host matches an mx: line "
			       "(%s).", pats.data ? pats.data : "none");
	}
	item_str(c, "patterns", pats.data ? pats.data : "");
	item_str(c, "uncovered", bad.data ? bad.data : "");
	buf_free(&bad);
	buf_free(&pats);
}

/* policy_file - fetch, read and judge the policy */
static void
policy_file(struct check_ctx *cx)
{
	struct fetch f;
	struct buf host, url, why;
	struct mtasts_policy p;
	struct check_item *c;
	char addr[80];
	const char *dns_why;

	memset(&f, 0, sizeof(f));
	buf_init(&f.body.data);
	buf_init(&host);
	buf_init(&url);
	buf_init(&why);
	buf_printf(&host, "mta-sts.%s", cx->domain);
	buf_printf(&url, "https://%s/.well-known/mta-sts.txt", host.data);
	if (!policy_address(cx, host.data, addr, sizeof(addr), &dns_why)) {
		c = report_add(cx->rep, "mtasts.policy", strcmp(dns_why, "no address") ? CHECK_ERROR
			       : CHECK_FAIL, "%s has no address (%s): the policy cannot be fetched.",
			       host.data, dns_why);
		item_advice(c, "Publish an A/AAAA record for %s on a web server with a "
			    "certificate for that name.", host.data);
		goto out;
	}
	fetch_policy(cx, host.data, addr, &f);
	if (!transfer_finding(cx, url.data, &f))
		goto out;
	if (!mtasts_policy_parse(f.body.data.data ? f.body.data.data : "", f.body.data.len, &p, &why)) {
		c = report_add(cx->rep, "mtasts.policy", CHECK_FAIL, "The policy at %s cannot be "
			       "used: %s.", url.data, why.data);
		item_advice(c, "Serve \"version: STSv1\", \"mode:\", \"mx:\" and \"max_age:\" lines "
			    "(RFC 8461 3.2).");
		goto out;
	}
	c = report_add(cx->rep, "mtasts.policy", CHECK_OK, "Policy fetched from %s.", url.data);
	if (f.content_type && strncasecmp(f.content_type, "text/plain", 10) != 0) {
		c->status = CHECK_WARN;
		item_advice(c, "Serve it as text/plain (it came as %s).", f.content_type);
	}
	item_str(c, "url", url.data);
	item_str(c, "content_type", f.content_type);
	mode_and_age(cx, &p);
	mx_patterns(cx, &p);
	mtasts_policy_free(&p);
out:
	free(f.content_type);
	buf_free(&f.body.data);
	buf_free(&host);
	buf_free(&url);
	buf_free(&why);
}

/* id_ok - RFC 8461 3.1: id is 1 to 32 letters and digits */
static bool
id_ok(const char *id)
{
	size_t n = 0;

	while (id[n] && ((id[n] >= '0' && id[n] <= '9') || (id[n] >= 'a' && id[n] <= 'z')
			 || (id[n] >= 'A' && id[n] <= 'Z')))
		n++;
	return n >= 1 && n <= 32 && id[n] == '\0';
}

/* check_mtasts - every mtasts.* check (none for a domain without inbound mail) */
void
check_mtasts(struct check_ctx *cx)
{
	struct buf name, v;
	struct check_item *c;
	char *text;
	const char *why = NULL;
	int n;

	if (cx->null_mx)
		return;
	buf_init(&name);
	buf_init(&v);
	buf_printf(&name, "_mta-sts.%s", cx->domain);
	n = check_txt_with_prefix(cx, name.data, "v=STSv1", &text, &why);
	if (n < 0) {
		report_add(cx->rep, "mtasts.record", CHECK_ERROR, "The TXT lookup of %s failed (%s).",
			   name.data, why);
	} else if (n == 0) {
		c = report_add(cx->rep, "mtasts.record", CHECK_WARN, "No MTA-STS record at %s.",
			       name.data);
		item_advice(c, "Publish MTA-STS (RFC 8461) so senders insist on TLS to your MX hosts.");
	} else if (n > 1) {
		c = report_add(cx->rep, "mtasts.record", CHECK_FAIL, "%d v=STSv1 records at %s: "
			       "senders use none.", n, name.data);
		item_advice(c, "Keep exactly one record.");
	} else {
		const char *id = strstr(text, "id=");
		while (id && id > text && id[-1] != ';' && id[-1] != ' ')
			id = strstr(id + 1, "id=");
		if (id) {
			const char *e = id + 3;
			while (*e && *e != ';' && *e != ' ')
				e++;
			buf_add(&v, id + 3, (size_t)(e - id - 3));
		}
		if (id && v.len && id_ok(v.data)) {
			c = report_add(cx->rep, "mtasts.record", CHECK_OK, "%s: %s", name.data, text);
		} else {
			c = report_add(cx->rep, "mtasts.record", CHECK_FAIL, "The record at %s has no "
				       "valid id= (1 to 32 letters and digits).", name.data);
			item_advice(c, "Publish \"v=STSv1; id=20260101T000000\" and change id= with "
				    "every policy change.");
		}
		item_str(c, "record", text);
		policy_file(cx);
	}
	free(text);
	buf_free(&name);
	buf_free(&v);
}
