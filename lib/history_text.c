/*
 * history_text - text as the history store can hold it: valid UTF-8 with
 * no NUL. PostgreSQL refuses a whole row (and its transaction) for one bad
 * byte, and HELO names, DKIM reasons or a header section come from the
 * network; so every string of a row goes through here, for both backends
 * alike. An invalid byte (or NUL) becomes U+FFFD: the length and the rest
 * stay, nothing is cut.
 */
#include "history_row.h"

#include <stdint.h>

/* seq_len - the length of the valid UTF-8 sequence at p (at most n bytes), 0 if none */
static size_t
seq_len(const unsigned char *p, size_t n)
{
	unsigned char c = p[0];
	size_t need;
	unsigned char lo = 0x80, hi = 0xBF;	/* bounds of the second byte */

	if (c >= 0x01 && c <= 0x7F)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		need = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		need = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
	else if (c >= 0xF0 && c <= 0xF4)
		need = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
	else
		return 0;	/* NUL, a continuation byte, C0, C1, F5..FF */
	if (n < need || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < need; i++)
		if (p[i] < 0x80 || p[i] > 0xBF)
			return 0;
	return need;
}

/* history_text - a copy of len bytes as valid UTF-8 without NUL */
char *
history_text(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	struct buf b;
	size_t i = 0, start = 0;

	buf_init(&b);
	while (i < len) {
		size_t n = seq_len(p + i, len - i);

		if (n) {
			i += n;
			continue;
		}
		buf_add(&b, s + start, i - start);
		buf_adds(&b, "\xEF\xBF\xBD");	/* U+FFFD REPLACEMENT CHARACTER */
		start = ++i;
	}
	buf_add(&b, s + start, len - start);
	return buf_steal(&b);
}
