/*
 * hdrname - comparing header field names as mail readers do.
 */
#ifndef AUTHMILTER_HDRNAME_H
#define AUTHMILTER_HDRNAME_H

#include <stdbool.h>

/* name equals want, case-insensitively; white space before the colon (RFC
 * 5322 obsolete syntax) does not make it another field, or "From :" would be
 * a second From that only mail clients (and libopendkim) see */
bool hdrname_is(const char *name, const char *want);

#endif
