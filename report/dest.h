/*
 * dest - where a report may go: the mailto: URIs of rua= (or ruf=), with
 * their size limits, less what ReportSuppress names, less external
 * destinations that did not authorize the policy domain (RFC 9990 /
 * RFC 7489 section 7.1: <policy-domain>._report._dmarc.<dest-domain> TXT
 * starting with v=DMARC1), at most max of them.
 */
#ifndef AUTHMILTER_REPORT_DEST_H
#define AUTHMILTER_REPORT_DEST_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "dmarc.h"

#define DEST_MAX_URIS 32	/* URIs read from one rua=; more is an error for the rest */

struct dest {
	char *address;		/* local@domain, domain lower case */
	char *domain;		/* points into address */
	unsigned long long max_size;	/* the URI's !size in bytes, 0: none */
};

struct dest_list {
	struct dest *items;
	size_t n;
	/* dest_select: destinations left out by ReportSuppress, for want of the
	 * authorization record, for a DNS failure asking it */
	size_t n_suppressed, n_unauthorized, n_tempfail;
};

/* one URI: "mailto:a@b.example!10m"; false with why when it is not a usable mailto: */
bool dest_parse_uri(const char *uri, struct dest *out, struct buf *why);
/* every usable URI of a rua=/ruf= value; the unusable ones are described in notes */
void dest_parse_list(const char *value, struct dest_list *out, struct buf *notes);
void dest_list_free(struct dest_list *list);

/* suppress list: addresses ("a@b.example") or domains (also their subdomains), lower
 * case: a view of the conf's ReportSuppress (lib/config reads the list or its file) */
struct dest_suppress {
	char **items;
	size_t n;
};
bool dest_suppressed(const struct dest_suppress *s, const struct dest *d);

/* the final list for one report: parsed, suppressed, authorized (the same
 * organizational domain, or dmarc_report_authorized), capped at max; every
 * dropped destination is described on its own line of notes */
void dest_select(const struct dmarc_ctx *dmarc, const char *policy_domain, const char *uris,
		 const struct dest_suppress *suppress, size_t max, struct dest_list *out,
		 struct buf *notes);

#endif
