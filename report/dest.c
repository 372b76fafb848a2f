/*
 * dest - report destinations from rua=/ruf= (RFC 7489 6.2 / RFC 9990 3):
 * only mailto: is supported; a URI may carry "!size" with k, m, g or t;
 * percent-escapes (%21 for '!', %2C for ',') are decoded in the address.
 */
#include "dest.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


#define DEST_MAX_ADDRESS 254

/* hexval - value of a hex digit, -1 if it is none */
static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* parse_size - "10m" into bytes; false on junk or overflow */
static bool
parse_size(const char *s, unsigned long long *out)
{
	unsigned long long v = 0, mult = 1;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return false;
	for (; isdigit((unsigned char)*p); p++) {
		if (v > 1000000000000ULL)
			return false;
		v = v * 10 + (unsigned)(*p - '0');
	}
	switch (tolower((unsigned char)*p)) {
	case '\0': break;
	case 'k': mult = 1ULL << 10; p++; break;
	case 'm': mult = 1ULL << 20; p++; break;
	case 'g': mult = 1ULL << 30; p++; break;
	case 't': mult = 1ULL << 40; p++; break;
	default: return false;
	}
	if (*p != '\0' || v > (1ULL << 62) / mult)
		return false;
	*out = v * mult;
	return true;
}

/* address_ok - local@domain with nothing a header or a command line could misread */
static bool
address_ok(const char *a)
{
	const char *at = strrchr(a, '@');

	if (at == NULL || at == a || at[1] == '\0' || strlen(a) > DEST_MAX_ADDRESS)
		return false;
	for (const char *p = a; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || strchr("<>()[],;:\\\"", *p))
			return false;
	for (const char *p = at + 1; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("-._", *p))
			return false;
	return true;
}

/* dest_parse_uri - one mailto: URI */
bool
dest_parse_uri(const char *uri, struct dest *out, struct buf *why)
{
	struct buf addr;
	const char *p, *bang;

	memset(out, 0, sizeof(*out));
	while (isspace((unsigned char)*uri))
		uri++;
	if (strncasecmp(uri, "mailto:", 7) != 0) {
		buf_printf(why, "\"%s\": only mailto: URIs are used", uri);
		return false;
	}
	p = uri + 7;
	bang = strchr(p, '!');
	if (strchr(p, '?')) {
		buf_printf(why, "\"%s\": mailto: with header fields is not used", uri);
		return false;
	}
	buf_init(&addr);
	for (const char *q = p; q < (bang ? bang : p + strlen(p)); q++) {
		if (*q == '%' && hexval(q[1]) >= 0 && hexval(q[2]) >= 0) {
			buf_addc(&addr, (char)(hexval(q[1]) * 16 + hexval(q[2])));
			q += 2;
		} else if (!isspace((unsigned char)*q)) {
			buf_addc(&addr, *q);
		}
	}
	if ((addr.data == NULL || !address_ok(addr.data))
	    || (bang && !parse_size(bang + 1, &out->max_size))) {
		buf_printf(why, "\"%s\": not a usable address%s", uri, bang ? " or size" : "");
		buf_free(&addr);
		return false;
	}
	out->address = buf_steal(&addr);
	out->domain = strrchr(out->address, '@') + 1;
	for (char *d = out->domain; *d; d++)
		*d = (char)tolower((unsigned char)*d);
	return true;
}

/* dest_parse_list - the comma-separated URIs of one tag value */
void
dest_parse_list(const char *value, struct dest_list *out, struct buf *notes)
{
	char *copy = xstrdup(value ? value : ""), *save = NULL, *tok;
	size_t seen = 0;

	memset(out, 0, sizeof(*out));
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct dest d;
		if (++seen > DEST_MAX_URIS) {
			buf_printf(notes, "more than %d URIs: the rest are not used\n", DEST_MAX_URIS);
			break;
		}
		if (!dest_parse_uri(tok, &d, notes)) {
			buf_addc(notes, '\n');
			continue;
		}
		out->items = xrealloc(out->items, (out->n + 1) * sizeof(*out->items));
		out->items[out->n++] = d;
	}
	free(copy);
}

/* dest_list_free - release a list */
void
dest_list_free(struct dest_list *list)
{
	for (size_t i = 0; i < list->n; i++)
		free(list->items[i].address);
	free(list->items);
	memset(list, 0, sizeof(*list));
}

/* dest_suppressed - the address itself, its domain or a parent domain is listed */
bool
dest_suppressed(const struct dest_suppress *s, const struct dest *d)
{
	for (size_t i = 0; i < s->n; i++) {
		const char *e = s->items[i];
		if (strchr(e, '@')) {
			if (strcasecmp(e, d->address) == 0)
				return true;
			continue;
		}
		size_t el = strlen(e), dl = strlen(d->domain);
		if (strcmp(e, d->domain) == 0
		    || (dl > el && d->domain[dl - el - 1] == '.' && strcmp(d->domain + dl - el, e) == 0))
			return true;
	}
	return false;
}

/* The policy domain's organizational domain: the same for every destination of
 * a selection, so it is worked out (a tree walk) once, when first needed. */
struct policy_org {
	const char *domain;
	char *org;
	bool asked, tempfail;
};

/* same_org - does the destination share the policy domain's organizational domain? */
static enum dmarc_report_auth
same_org(const struct dmarc_ctx *dmarc, struct policy_org *po, const char *b, struct buf *why)
{
	bool tf = false;
	char *ob;
	enum dmarc_report_auth rc;

	if (strcasecmp(po->domain, b) == 0)
		return DMARC_REPORT_AUTH_YES;
	if (!po->asked) {
		po->org = dmarc_org_domain(dmarc, po->domain, &po->tempfail);
		po->asked = true;
	}
	ob = dmarc_org_domain(dmarc, b, &tf);
	if (po->tempfail || tf) {
		buf_printf(why, "organizational domain of %s or %s: DNS temporary failure",
			   po->domain, b);
		rc = DMARC_REPORT_AUTH_TEMPFAIL;
	} else {
		rc = po->org && ob && strcasecmp(po->org, ob) == 0 ? DMARC_REPORT_AUTH_YES
								   : DMARC_REPORT_AUTH_NO;
	}
	free(ob);
	return rc;
}

/* dest_authorized - same organization, or the destination authorized it (lib/dmarc) */
static enum dmarc_report_auth
dest_authorized(const struct dmarc_ctx *dmarc, struct policy_org *po, const struct dest *d,
		struct buf *why)
{
	enum dmarc_report_auth rc = same_org(dmarc, po, d->domain, why);
	struct buf lookup;

	if (rc != DMARC_REPORT_AUTH_NO)
		return rc;
	buf_init(&lookup);
	rc = dmarc_report_authorized(dmarc, po->domain, d->domain, &lookup);
	if (rc == DMARC_REPORT_AUTH_NO)
		buf_printf(why, "%s: ", d->address);
	if (rc != DMARC_REPORT_AUTH_YES)
		buf_adds(why, lookup.data);
	buf_free(&lookup);
	return rc;
}

/* dest_select - the destinations one report goes to */
void
dest_select(const struct dmarc_ctx *dmarc, const char *policy_domain, const char *uris,
	    const struct dest_suppress *suppress, size_t max, struct dest_list *out,
	    struct buf *notes)
{
	struct dest_list all;
	struct policy_org po = { policy_domain, NULL, false, false };

	dest_parse_list(uris, &all, notes);
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < all.n; i++) {
		struct dest *d = &all.items[i];
		bool dup = false;
		for (size_t j = 0; j < out->n; j++)
			dup = dup || strcasecmp(out->items[j].address, d->address) == 0;
		if (dup)
			continue;
		if (dest_suppressed(suppress, d)) {
			out->n_suppressed++;
			buf_printf(notes, "%s: suppressed by ReportSuppress\n", d->address);
			continue;
		}
		if (out->n >= max) {
			buf_printf(notes, "%s: over ReportMaxRecipients (%zu)\n", d->address, max);
			continue;
		}
		switch (dest_authorized(dmarc, &po, d, notes)) {
		case DMARC_REPORT_AUTH_YES: break;
		case DMARC_REPORT_AUTH_NO: out->n_unauthorized++; buf_addc(notes, '\n'); continue;
		case DMARC_REPORT_AUTH_TEMPFAIL: out->n_tempfail++; buf_addc(notes, '\n'); continue;
		}
		out->items = xrealloc(out->items, (out->n + 1) * sizeof(*out->items));
		out->items[out->n++] = *d;
		d->address = NULL;	/* moved */
	}
	dest_list_free(&all);
	free(po.org);
}
