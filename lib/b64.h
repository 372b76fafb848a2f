/*
 * b64 - base64 as DKIM and ARC tag values carry it (RFC 6376 2.4 and 3.5:
 * folding white space anywhere, '=' padding only at the end), read and
 * written. One decoder for b=, bh= and the p= of key records.
 */
#ifndef AUTHMILTER_B64_H
#define AUTHMILTER_B64_H

#include <stdbool.h>
#include <stddef.h>
#include "buf.h"

/* b64_decode - the bytes into out (reset first); false when s holds none or
 * is no base64 (a byte outside the alphabet, a length not a multiple of 4
 * once white space is gone, data after '=') */
bool b64_decode(const char *s, size_t len, struct buf *out);
/* b64_encode - append base64 of n bytes, with padding and no line breaks */
void b64_encode(const void *p, size_t n, struct buf *out);

#endif
