/*
 * fromaddr - the author domains of an RFC 5322 From field.
 *
 * A strict parser for mailbox-list and group syntax (RFC 5322 3.4, RFC 6854),
 * with comments, quoted strings, obsolete routes and IDN domains (converted
 * to A-labels). Anything it cannot read with certainty is an error, never a
 * guess: a guessed domain is how DMARC gets bypassed (CVE-2020-12272).
 */
#ifndef AUTHMILTER_FROMADDR_H
#define AUTHMILTER_FROMADDR_H

#include <stdbool.h>
#include <stddef.h>

#define FROMADDR_MAX 32		/* mailboxes read from one field */

struct fromaddr {
	char *domains[FROMADDR_MAX];	/* lower-case A-label form, no trailing dot */
	size_t n;
	const char *error;		/* static text when the field is malformed */
};

bool fromaddr_parse(const char *value, struct fromaddr *out);
void fromaddr_free(struct fromaddr *f);

#endif
