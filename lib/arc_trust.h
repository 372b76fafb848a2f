/*
 * arc_trust - may a trusted ARC sealer's results override a DMARC failure?
 *
 * A mailing list or forwarder that changes a message breaks SPF and DKIM,
 * so DMARC fails at the next hop. When the admin trusts that intermediary
 * (ARCTrustedSealers), the chain validates, and the newest trusted sealer's
 * ARC-Authentication-Results show that the message passed DMARC, or passed
 * SPF or DKIM aligned with the From domain, when it reached that sealer,
 * local policy accepts it. Only the action changes: dmarc=fail stays fail.
 */
#ifndef AUTHMILTER_ARC_TRUST_H
#define AUTHMILTER_ARC_TRUST_H

#include <stdbool.h>
#include <stddef.h>
#include "arc_result.h"
#include "dmarc.h"

struct arc_trust_request {
	const char *from_domain;	/* header.from */
	const char *org_domain;		/* its organizational domain, NULL: the domain itself */
	enum dmarc_result dmarc;
	bool adkim_strict, aspf_strict;	/* the From domain's alignment modes */
	const struct arc_chain *chain;	/* NULL: not verified */
	char *const *sealers;		/* ARCTrustedSealers */
	size_t n_sealers;
};

struct arc_trust {
	bool override;
	const char *sealer;		/* the newest trusted sealer's d= (in the chain), or NULL */
	unsigned instance;		/* its i= */
	const char *via;		/* "dmarc", "dkim" or "spf": the pass its AAR shows */
	const char *why_not;		/* static: why there is no override */
};

/* arc_trust_decide - fill out; the request is not changed */
void arc_trust_decide(const struct arc_trust_request *req, struct arc_trust *out);

/* arc_trust_listed - is domain in the list ("a.example" itself, ".example" below it)? */
bool arc_trust_listed(char *const *sealers, size_t n, const char *domain);

/* arc_trust_aligned - does domain align with from_domain (org_domain for relaxed)? */
bool arc_trust_aligned(const char *domain, const char *from_domain, const char *org_domain,
		       bool strict);

#endif
