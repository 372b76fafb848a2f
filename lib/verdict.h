/*
 * verdict - what a message's checks came to and what is done about it.
 *
 * Owned by policy: session fills struct dmarc_eval (what the DMARC step
 * found) and hands it to policy_decide() read-only; policy alone writes the
 * verdict (the action, the reply, and the local decisions on the DMARC
 * disposition); session then adds the header text and the log line.
 */
#ifndef AUTHMILTER_VERDICT_H
#define AUTHMILTER_VERDICT_H

#include <stdbool.h>
#include <stddef.h>
#include "buf.h"
#include "dmarc.h"

enum verdict_action { ACTION_ACCEPT, ACTION_REJECT, ACTION_QUARANTINE, ACTION_TEMPFAIL,
		      ACTION_N };

/* What the DMARC step of a message came to. */
struct dmarc_eval {
	bool evaluated;			/* a dmarc= result goes into the header */
	struct dmarc_outcome out;
	char *from_domain;		/* header.from, NULL if unknown */
	const char *from_problem;	/* static: no From, malformed, several domains */
	bool no_from;			/* the problem is a missing From: stamped, not rejected */
	bool several_domains;
};

/* A header field to add after Authentication-Results (the ARC set, when sealing). */
struct verdict_field {
	char *name;
	char *value;			/* unfolded */
};

struct verdict {
	enum verdict_action action;
	char *auth_results;		/* header value to insert first */
	const char *smtp_code;		/* "550", "451" or NULL */
	const char *smtp_xcode;		/* "5.7.23", ... */
	char *reply_text;		/* printable ASCII only */
	size_t *delete_ar;		/* 1-based indexes among Authentication-Results fields */
	size_t n_delete;
	char *summary;			/* one log line: every result and the action */
	enum dmarc_policy dmarc_applied;	/* what local policy did about the disposition */
	struct buf dmarc_notes;		/* local decisions, "; "-separated */
	/* a DMARC failure accepted by local policy for a named reason, for the
	 * history row: RFC 7489 PolicyOverrideType ("trusted_forwarder") and a
	 * comment ("arc=pass i=2 lists.example.org dkim=pass"); NULL when none */
	const char *dmarc_override;
	char *dmarc_override_comment;
	struct verdict_field *add_fields;	/* each inserted at the top after ours, in order */
	size_t n_add_fields;
};

void verdict_free(struct verdict *v);
const char *verdict_action_name(enum verdict_action a);

#endif
