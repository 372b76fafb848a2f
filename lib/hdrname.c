/*
 * hdrname - header field names, trailing white space ignored (isspace, as
 * libopendkim does, so both count the same fields as DKIM-Signature).
 */
#include "hdrname.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

/* hdrname_is - see hdrname.h */
bool
hdrname_is(const char *name, const char *want)
{
	size_t n = strlen(name);

	while (n > 0 && isspace((unsigned char)name[n - 1]))
		n--;
	return n == strlen(want) && strncasecmp(name, want, n) == 0;
}
