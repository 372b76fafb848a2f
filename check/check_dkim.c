/*
 * check_dkim - dkim.* checks: probe the selectors providers use (and those
 * given with -s), show CNAME delegation, and read each key record with
 * lib/dkimv_key: type and size, t=y, revoked keys, records that do not parse.
 */
#include "check.h"
#include "../lib/dkimv_key.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const common_selectors[] = {
	"selector1", "selector2", "google", "k1", "s1", "s2", "default", "dkim", "mail",
};

#define COMMON_N (sizeof(common_selectors) / sizeof(common_selectors[0]))

/* key_size - dkim.key: RSA < 1024 fail, 1024..2047 warn, >= 2048 ok; ed25519 ok */
static void
key_size(struct check_ctx *cx, const char *sel, const struct dkimv_key *k)
{
	struct check_item *c;
	enum check_status st = CHECK_OK;

	if (k->type == DKIMV_KEY_RSA && k->bits < 1024)
		st = CHECK_FAIL;
	else if (k->type == DKIMV_KEY_RSA && k->bits < 2048)
		st = CHECK_WARN;
	c = report_add(cx->rep, "dkim.key", st, "Selector %s: %s key of %u bits.", sel,
		       dkimv_key_type_name(k->type), k->bits);
	item_str(c, "selector", sel);
	item_str(c, "type", dkimv_key_type_name(k->type));
	item_int(c, "bits", k->bits);
	if (st == CHECK_FAIL)
		item_advice(c, "Receivers (RFC 8301) ignore RSA keys under 1024 bits: publish a "
			    "2048-bit key and sign with it.");
	else if (st == CHECK_WARN)
		item_advice(c, "Rotate to a 2048-bit RSA key (or add an ed25519 one beside it).");
}

/* key_record - read one selector's key record */
static void
key_record(struct check_ctx *cx, const char *sel, const char *txt)
{
	struct dkimv_key k;
	struct check_item *c;
	struct buf why;

	buf_init(&why);
	if (!dkimv_key_parse(txt, &k, &why)) {
		c = report_add(cx->rep, "dkim.syntax", CHECK_FAIL, "Selector %s: the key record "
			       "cannot be used: %s.", sel, why.data);
		item_str(c, "selector", sel);
		item_str(c, "error", why.data);
		item_advice(c, "Publish the record exactly as your signer printed it "
			    "(v=DKIM1; k=...; p=...).");
		buf_free(&why);
		return;
	}
	buf_free(&why);
	if (k.revoked) {
		c = report_add(cx->rep, "dkim.revoked", CHECK_WARN, "Selector %s is revoked (empty "
			       "p=): signatures with it fail.", sel);
		item_str(c, "selector", sel);
		item_advice(c, "Make sure no signer still uses %s; remove the record once it is "
			    "retired.", sel);
		return;
	}
	key_size(cx, sel, &k);
	if (k.testing) {
		c = report_add(cx->rep, "dkim.testing", CHECK_WARN, "Selector %s has t=y: receivers "
			       "may treat its signatures as unsigned.", sel);
		item_str(c, "selector", sel);
		item_advice(c, "Remove t=y once signing works.");
	}
}

/* cname_finding - dkim.cname: where the selector is delegated, and whether it ends anywhere */
static void
cname_finding(struct check_ctx *cx, const char *sel, const struct dns_result *res, bool has_key)
{
	struct check_item *c;
	char *target = xstrdup(res->cname);
	size_t len = strlen(target);

	if (len > 1 && target[len - 1] == '.')
		target[len - 1] = '\0';
	if (has_key) {
		c = report_add(cx->rep, "dkim.cname", CHECK_OK, "Selector %s is a CNAME to %s.", sel,
			       target);
	} else {
		c = report_add(cx->rep, "dkim.cname", CHECK_FAIL, "Selector %s is a CNAME to %s, "
			       "which has no key record.", sel, target);
		item_advice(c, "Publish the key at %s (for Office 365: enable DKIM signing for the "
			    "domain in the portal), or remove the CNAME.", target);
	}
	item_str(c, "selector", sel);
	item_str(c, "target", target);
	free(target);
}

/* probe - one selector: 0 nothing there, 1 a key record, 2 a CNAME to nothing */
static int
probe(struct check_ctx *cx, const char *sel, bool asked)
{
	struct dns_result res;
	struct buf name;
	char **strings = NULL;
	size_t n = 0;
	struct check_item *c;
	int any;

	buf_init(&name);
	buf_printf(&name, "%s._domainkey.%s", sel, cx->domain);
	dns_query(cx->dns, name.data, LDNS_RR_TYPE_TXT, &res);
	if (res.status == DNS_TEMPFAIL) {
		c = report_add(cx->rep, "dkim.selector", CHECK_ERROR, "The lookup of %s failed (%s).",
			       name.data, res.reason ? res.reason : "DNS error");
		item_str(c, "selector", sel);
		dns_result_free(&res);
		buf_free(&name);
		return 1;
	}
	if (res.status == DNS_ANSWER)
		n = dns_txt_strings(&res, &strings);
	any = n > 0 ? 1 : res.cname != NULL ? 2 : 0;
	if (res.cname)
		cname_finding(cx, sel, &res, n > 0);
	if (n > 1) {
		c = report_add(cx->rep, "dkim.syntax", CHECK_FAIL, "Selector %s has %zu TXT records: "
			       "verifiers may pick either.", sel, n);
		item_str(c, "selector", sel);
		item_advice(c, "Keep exactly one key record per selector.");
	} else if (n == 1) {
		key_record(cx, sel, strings[0]);
	} else if (asked && res.cname == NULL) {
		c = report_add(cx->rep, "dkim.selector", CHECK_FAIL, "Selector %s has no key record "
			       "at %s.", sel, name.data);
		item_str(c, "selector", sel);
		item_advice(c, "Publish the key your signer uses for %s, or check the selector name "
			    "in a signed message's s= tag.", sel);
	}
	dns_strings_free(strings, n);
	dns_result_free(&res);
	buf_free(&name);
	return any;
}

/* given - was sel named with -s? */
static bool
given(const struct check_ctx *cx, const char *sel)
{
	for (size_t i = 0; i < cx->n_selectors; i++)
		if (strcasecmp(cx->selectors[i], sel) == 0)
			return true;
	return false;
}

/* check_dkim - probe the selectors; say so when none has a key */
void
check_dkim(struct check_ctx *cx)
{
	struct buf found, dangling;
	size_t n_found = 0, n_dangling = 0;
	struct check_item *c;
	const char *sel;
	int r;

	buf_init(&found);
	buf_init(&dangling);
	for (size_t i = 0; i < cx->n_selectors + COMMON_N; i++) {
		sel = i < cx->n_selectors ? cx->selectors[i] : common_selectors[i - cx->n_selectors];
		if (i >= cx->n_selectors && given(cx, sel))
			continue;
		r = probe(cx, sel, i < cx->n_selectors);
		if (r == 1)
			buf_printf(&found, "%s%s", n_found++ ? ", " : "", sel);
		else if (r == 2)
			buf_printf(&dangling, "%s%s", n_dangling++ ? ", " : "", sel);
	}
	if (n_found) {
		c = report_add(cx->rep, "dkim.selectors", CHECK_OK, "Keys found at: %s%s%s%s.",
			       found.data, n_dangling ? " (" : "", n_dangling ? dangling.data : "",
			       n_dangling ? " without a key)" : "");
	} else if (n_dangling) {
		c = report_add(cx->rep, "dkim.selectors", CHECK_FAIL, "Only CNAMEs without a key "
			       "(%s).", dangling.data);
		item_advice(c, "Publish the keys the CNAMEs point to; until then nothing can pass "
			    "DKIM for the domain.");
	} else if (cx->null_mx && cx->spf_reject_all) {
		c = report_add(cx->rep, "dkim.selectors", CHECK_OK, "No DKIM key at the usual "
			       "selectors, as expected of a domain that sends no mail.");
	} else {
		c = report_add(cx->rep, "dkim.selectors", CHECK_WARN, "No DKIM key at the usual "
			       "selectors (selector1, selector2, google, k1, s1, s2, default, dkim, "
			       "mail).");
		item_advice(c, "Give your selector with -s (see s= in a signed message), or set up "
			    "DKIM signing: DMARC needs SPF or DKIM to align.");
	}
	item_str(c, "found", found.data ? found.data : "");
	item_str(c, "dangling", dangling.data ? dangling.data : "");
	buf_free(&found);
	buf_free(&dangling);
}
