/*
 * mtasts_policy - read an MTA-STS policy file (RFC 8461 3.2) and match its
 * mx: patterns (RFC 8461 4.1). The body comes from a web server we do not
 * control: its size is bounded by the fetch, its lines and mx: count here.
 */
#ifndef AUTHMILTER_CHECK_MTASTS_POLICY_H
#define AUTHMILTER_CHECK_MTASTS_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include "../lib/buf.h"

#define MTASTS_MAX_BODY 65536		/* RFC 8461 3.3 lets senders stop at 64 KiB */
#define MTASTS_MAX_MX 64		/* more mx: lines are refused, not cut */
#define MTASTS_MAX_AGE 31557600		/* RFC 8461 3.2: at most one year */

struct mtasts_policy {
	char mode[16];			/* "enforce", "testing", "none"; "" when absent */
	long long max_age;		/* -1 when absent */
	char *mx[MTASTS_MAX_MX];
	size_t n_mx;
	bool have_version;
};

/* false: not a usable policy; why says what is wrong */
bool mtasts_policy_parse(const char *body, size_t len, struct mtasts_policy *p, struct buf *why);
void mtasts_policy_free(struct mtasts_policy *p);
/* host matches pattern: equal, or "*.rest" and host is one label + ".rest" */
bool mtasts_mx_match(const char *pattern, const char *host);

#endif
