/*
 * policy - local policy: turn the SPF, DKIM and DMARC outcomes plus what we
 * know of the client into one action, one SMTP reply, and the notes that
 * explain every decision that differs from what the domain owner published.
 */
#ifndef AUTHMILTER_POLICY_H
#define AUTHMILTER_POLICY_H

#include <stdbool.h>
#include "arc_result.h"
#include "buf.h"
#include "config.h"
#include "dkimv.h"
#include "dmarc.h"
#include "spf.h"
#include "verdict.h"

struct policy_input {
	const struct config *cfg;
	const struct spf_outcome *spf;	/* MAIL FROM identity; NULL if not run */
	const struct dkimv_outcome *dkim;
	const struct dmarc_eval *dmarc;
	const char *exempt;		/* why the client is not DMARC-enforced, or NULL */
	bool mailing_list;		/* List-Id present */
	const struct arc_chain *arc;	/* the verified ARC chain; NULL: not verified */
};

/* policy_decide - v's action, reply and DMARC decisions; the input is not changed */
void policy_decide(const struct policy_input *in, struct verdict *v);

#endif
