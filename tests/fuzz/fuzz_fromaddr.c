/*
 * fuzz_fromaddr - an RFC 5322 From field value into fromaddr_parse.
 *
 * Besides memory errors it checks what the DMARC code relies on: a
 * successful parse gives 1..FROMADDR_MAX non-empty lower-case domains and no
 * error text, a failed one gives an error text and no domains.
 */
#include "fromaddr.h"
#include "buf.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* check_domain - what DMARC may look up: non-empty, no upper case, no space */
static void
check_domain(const char *d)
{
	if (d == NULL || *d == '\0')
		abort();
	for (const unsigned char *p = (const unsigned char *)d; *p; p++)
		if (isupper(*p) || isspace(*p) || *p < 0x21 || *p > 0x7e)
			abort();
	if (d[strlen(d) - 1] == '.')
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *value = xstrndup((const char *)data, size);
	struct fromaddr f;

	memset(&f, 0xa5, sizeof(f));
	if (fromaddr_parse(value, &f)) {
		if (f.n == 0 || f.n > FROMADDR_MAX || f.error != NULL)
			abort();
		for (size_t i = 0; i < f.n; i++)
			check_domain(f.domains[i]);
	} else if (f.error == NULL) {
		abort();
	}
	fromaddr_free(&f);
	free(value);
	return 0;
}
