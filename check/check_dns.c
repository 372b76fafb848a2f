/*
 * check_dns - small DNS helpers shared by the checker's areas, on lib/dns.
 */
#include "check.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* check_txt_matching - see check.h */
int
check_txt_matching(struct check_ctx *cx, const char *name,
		   bool (*match)(const char *txt, const void *arg), const void *arg,
		   char **first, const char **why)
{
	struct dns_result res;
	char **strings = NULL;
	size_t n = 0;
	int found = 0;

	*first = NULL;
	dns_query(cx->dns, name, LDNS_RR_TYPE_TXT, &res);
	if (res.status == DNS_TEMPFAIL) {
		*why = res.reason ? res.reason : "DNS error";
		dns_result_free(&res);
		return -1;
	}
	if (res.status == DNS_ANSWER)
		n = dns_txt_strings(&res, &strings);
	for (size_t i = 0; i < n; i++)
		if (match(strings[i], arg) && found++ == 0)
			*first = xstrdup(strings[i]);
	dns_strings_free(strings, n);
	dns_result_free(&res);
	return found;
}

/* has_prefix - the TXT string starts with the prefix arg (case-insensitive) */
static bool
has_prefix(const char *txt, const void *prefix)
{
	return strncasecmp(txt, prefix, strlen(prefix)) == 0;
}

/* check_txt_with_prefix - see check.h */
int
check_txt_with_prefix(struct check_ctx *cx, const char *name, const char *prefix,
		      char **first, const char **why)
{
	return check_txt_matching(cx, name, has_prefix, prefix, first, why);
}

/* check_is_within - name equals domain or is below it (no trailing dots) */
bool
check_is_within(const char *name, const char *domain)
{
	size_t n = strlen(name), d = strlen(domain);

	if (n < d || strcasecmp(name + n - d, domain) != 0)
		return false;
	return n == d || name[n - d - 1] == '.';
}
