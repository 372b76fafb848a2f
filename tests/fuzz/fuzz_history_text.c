/*
 * fuzz_history_text - network bytes into lib/history_text, which makes every
 * string of a DMARC history row something PostgreSQL and SQLite both hold:
 * the output is valid UTF-8 without NUL (so the text of the output is the
 * output again), every valid input comes back unchanged, and nothing is cut
 * (an input byte is at most one U+FFFD, 3 bytes). Input: any bytes.
 */
#include "history_row.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = history_text((const char *)data, size);
	size_t len = strlen(text);
	char *again = history_text(text, len);

	if (strcmp(again, text) != 0 || len < size || len > 3 * size)
		abort();
	/* an input without U+FFFD's reason (valid UTF-8, no NUL) is kept as it is */
	if (len == size && memcmp(text, data, size) != 0)
		abort();
	free(again);
	free(text);
	return 0;
}
