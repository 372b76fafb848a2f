/*
 * policy - local policy: turn the SPF, DKIM and DMARC outcomes plus what we
 * know of the client into one action, one SMTP reply, and the notes that
 * explain every decision that differs from what the domain owner published.
 */
#ifndef AUTHMILTER_POLICY_H
#define AUTHMILTER_POLICY_H

#include <stdbool.h>
#include "buf.h"
#include "config.h"
#include "dkimv.h"
#include "dmarc.h"
#include "session.h"
#include "spf.h"

/* What the DMARC step of a message came to. */
struct dmarc_eval {
	bool evaluated;			/* a dmarc= result goes into the header */
	struct dmarc_outcome out;
	char *from_domain;		/* header.from, NULL if unknown */
	const char *from_problem;	/* static: no From, malformed, several domains */
	bool no_from;			/* the problem is a missing From: stamped, not rejected */
	bool several_domains;
	enum dmarc_policy applied;	/* what we did about a fail */
	struct buf notes;		/* local decisions, "; "-separated */
};

struct policy_input {
	const struct config *cfg;
	const struct spf_outcome *spf;	/* MAIL FROM identity; NULL if not run */
	const struct dkimv_outcome *dkim;
	struct dmarc_eval *dmarc;
	const char *exempt;		/* why the client is not DMARC-enforced, or NULL */
	bool mailing_list;		/* List-Id present */
};

void policy_decide(const struct policy_input *in, struct verdict *v);

#endif
