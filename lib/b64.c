/*
 * b64 - base64 for tag values (see b64.h). Decoding is one pass with no
 * copy of the input; encoding is OpenSSL's EVP_EncodeBlock.
 */
#include "b64.h"

#include <openssl/evp.h>

static int
b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

static bool
is_fws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* b64_decode - see b64.h */
bool
b64_decode(const char *s, size_t len, struct buf *out)
{
	unsigned acc = 0;
	int bits = 0, pad = 0;
	size_t n = 0;

	buf_reset(out);
	for (size_t i = 0; i < len; i++) {
		int v;
		if (is_fws(s[i]))
			continue;
		if (s[i] == '=') {
			pad++;
			n++;
			continue;
		}
		v = b64_value(s[i]);
		if (v < 0 || pad)
			return false;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		n++;
		if (bits >= 8) {
			bits -= 8;
			buf_addc(out, (char)((acc >> bits) & 0xff));
		}
	}
	return n > 0 && n % 4 == 0 && pad <= 2 && out->len > 0;
}

/* b64_encode - see b64.h */
void
b64_encode(const void *p, size_t n, struct buf *out)
{
	/* EVP_EncodeBlock writes 4 bytes for every 3 or part of 3, and a NUL */
	buf_reserve(out, 4 * ((n + 2) / 3));
	out->len += (size_t)EVP_EncodeBlock((unsigned char *)out->data + out->len, p, (int)n);
}
