/*
 * arc_result - what ARC validation (RFC 8617 section 5.2) found in a message.
 *
 * Written by lib/arc (the verifier), read by the trust decision (lib/arc_trust)
 * and by the header and history code. The sets are those of a chain whose
 * structure was read: instance i is sets[i - 1].
 */
#ifndef AUTHMILTER_ARC_RESULT_H
#define AUTHMILTER_ARC_RESULT_H

#include <stddef.h>

enum arc_status { ARC_NONE, ARC_PASS, ARC_FAIL, ARC_TEMPERROR, ARC_PERMERROR };

/* One ARC set as read from the message. */
struct arc_set_view {
	unsigned instance;		/* i= */
	char *seal_domain;		/* ARC-Seal d=, lower case */
	char *seal_selector;		/* ARC-Seal s= */
	char *aar_payload;		/* AAR value after "i=N;": authserv-id; resinfo... */
};

struct arc_chain {
	enum arc_status status;
	unsigned instances;		/* highest instance seen, 0 for none */
	unsigned oldest_pass;		/* header.oldest-pass=, 0 when not reported */
	const char *reason;		/* static short comment, NULL when nothing to say;
					 * a '#' in it stands for reason_instance */
	unsigned reason_instance;	/* the instance the reason is about */
	const char *reason_detail;	/* static, NULL or what follows the reason after ": " */
	struct arc_set_view *sets;	/* n_sets == instances when the structure is sound */
	size_t n_sets;
};

/* arc_chain_free - release the sets; the chain may be reused */
void arc_chain_free(struct arc_chain *c);
struct buf;
/* arc_chain_reason - append the reason, '#' as the instance, ": detail" after */
void arc_chain_reason(const struct arc_chain *c, struct buf *out);

#endif
