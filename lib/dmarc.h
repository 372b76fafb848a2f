/*
 * dmarc - DMARC policy discovery, alignment and result: RFC 9989 (DMARCbis,
 * DNS tree walk) by default, RFC 7489 (Public Suffix List, pct) as a mode.
 *
 * dmarc_evaluate() takes the author domain and the SPF and DKIM outcomes and
 * says what the domain owner asks for this message; the caller (session)
 * turns that and local policy into an action.
 */
#ifndef AUTHMILTER_DMARC_H
#define AUTHMILTER_DMARC_H

#include <stdbool.h>
#include <stddef.h>
#include "buf.h"
#include "dkimv.h"
#include "dns.h"
#include "spf.h"

#define DMARC_MAX_WALK 8	/* RFC 9989 4.10: at most 8 queries per walk */

enum dmarc_mode { DMARC_MODE_RFC9989, DMARC_MODE_RFC7489 };
enum dmarc_policy { DMARC_POLICY_UNSET, DMARC_POLICY_NONE, DMARC_POLICY_QUARANTINE,
		    DMARC_POLICY_REJECT };
enum dmarc_result { DMARC_NONE, DMARC_PASS, DMARC_FAIL, DMARC_TEMPERROR, DMARC_PERMERROR };

struct dmarc_record {
	enum dmarc_policy p, sp, np;
	bool adkim_strict, aspf_strict;
	bool testing;		/* t=y */
	char psd;		/* 'y', 'n' or 'u' (unset) */
	int pct;		/* RFC 7489 only; 100 when absent */
	/* as published, for the history store and reports (any mode): the
	 * trimmed values of rua=, ruf= and fo= (NULL when absent, owned), and
	 * pct= when it is a number from 0 to 100 (-1 when absent or not) */
	char *rua, *ruf, *fo;
	int pct_published;
};

/* dmarc_record_parse - false if this is no usable DMARC record */
bool dmarc_record_parse(const char *txt, enum dmarc_mode mode, struct dmarc_record *rec,
			struct buf *why);
bool dmarc_record_is_dmarc(const char *txt);
/* dmarc_record_free - the published strings; the record may be parsed into again */
void dmarc_record_free(struct dmarc_record *rec);
/* the trimmed value of one tag, as the parser splits it (for authmilter-check) */
bool dmarc_record_tag(const char *txt, const char *name, struct buf *value);

struct dmarc_request {
	const char *author_domain;
	enum spf_result spf_result;	/* of the MAIL FROM identity (postmaster@HELO for <>) */
	const char *spf_domain;
	const struct dkimv_outcome *dkim;
	enum dmarc_mode mode;
};

struct dmarc_outcome {
	enum dmarc_result result;
	char *policy_domain;		/* where the record was found */
	char *org_domain;
	struct dmarc_record rec;
	bool have_record;
	enum dmarc_policy requested;	/* p, sp or np as it applies to this domain */
	const char *requested_from;	/* "p", "sp" or "np" */
	enum dmarc_policy disposition;	/* after t=y / pct: what the owner asks for */
	bool spf_aligned, dkim_aligned;
	/* a fail where an aligned identifier could not be checked (DNS): SPF or
	 * a DKIM signature ended in temperror, so it might have passed */
	bool aligned_temperror;
	char *record_note;		/* a record that was unusable or read differently, or NULL */
	char *reason;			/* comment text */
};

/* The shared state: a PSL for RFC 7489 mode (NULL otherwise). */
struct dmarc_ctx {
	struct dns *dns;
	enum dmarc_mode mode;
	void *psl;
};

bool dmarc_ctx_init(struct dmarc_ctx *ctx, struct dns *dns, enum dmarc_mode mode,
		    const char *psl_file, char *why, size_t why_size);
void dmarc_ctx_free(struct dmarc_ctx *ctx);

void dmarc_evaluate(const struct dmarc_ctx *ctx, const struct dmarc_request *req,
		    struct dmarc_outcome *out);
void dmarc_outcome_free(struct dmarc_outcome *out);

/* organizational domain (tree walk or PSL); NULL with *tempfail on DNS trouble */
char *dmarc_org_domain(const struct dmarc_ctx *ctx, const char *domain, bool *tempfail);

/* RFC 7489 7.1 / RFC 9990 3: may reports about policy_domain go to dest_domain, a
 * domain outside its organization? Yes when <policy_domain>._report._dmarc.<dest_domain>
 * TXT holds a DMARC record (v=DMARC1 first). NO and TEMPFAIL say why (the name asked). */
enum dmarc_report_auth { DMARC_REPORT_AUTH_YES, DMARC_REPORT_AUTH_NO, DMARC_REPORT_AUTH_TEMPFAIL };
enum dmarc_report_auth dmarc_report_authorized(const struct dmarc_ctx *ctx, const char *policy_domain,
					       const char *dest_domain, struct buf *why);

const char *dmarc_result_name(enum dmarc_result r);
const char *dmarc_policy_name(enum dmarc_policy p);
enum dmarc_policy dmarc_policy_weaker(enum dmarc_policy p);

#endif
