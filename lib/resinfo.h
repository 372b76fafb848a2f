/*
 * resinfo - read the results of someone else's Authentication-Results
 * (RFC 8601 section 2.2): the authserv-id, then method=result with its
 * reason and ptype.property=value pairs.
 *
 * Used where another host's results are believed: the AAR of a trusted ARC
 * sealer (lib/arc_trust) and the A-R of a trusted border MTA (lib/upstream).
 * Bounded: past any cap the whole value is an error, never fewer results,
 * since a dropped result could be the one that failed.
 */
#ifndef AUTHMILTER_RESINFO_H
#define AUTHMILTER_RESINFO_H

#include <stdbool.h>
#include <stddef.h>

#define RESINFO_MAX_INPUT 65536		/* bytes of one value */
#define RESINFO_MAX_RESULTS 64		/* method=result entries */
#define RESINFO_MAX_PROPS 16		/* reason and properties of one result */
#define RESINFO_MAX_TOKEN 1024		/* one id, keyword or value */
#define RESINFO_MAX_DEPTH 16		/* nested comments */

struct resinfo_prop {
	char *name;			/* "reason" or "ptype.property", lower case */
	char *value;			/* unquoted */
};

struct resinfo {
	char *method;			/* lower case, without /version */
	char *result;			/* lower case */
	struct resinfo_prop props[RESINFO_MAX_PROPS];
	size_t n_props;
};

struct resinfo_list {
	char *authserv_id;
	struct resinfo *results;
	size_t n;
};

/* resinfo_parse - read value[0..len); false with *why (static) on any error */
bool resinfo_parse(const char *value, size_t len, struct resinfo_list *out, const char **why);
void resinfo_free(struct resinfo_list *l);

/* resinfo_get - the value of property name ("smtp.mailfrom") in r, or NULL */
const char *resinfo_get(const struct resinfo *r, const char *name);

#endif
