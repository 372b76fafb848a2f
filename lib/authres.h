/*
 * authres - RFC 8601 Authentication-Results: build ours, read others'.
 *
 * Everything that reaches our header from the network (addresses, HELO
 * names, reason texts) goes through the escapers here: property values
 * become tokens or quoted-strings, comments lose what could end them early,
 * and bytes outside printable ASCII never appear.
 */
#ifndef AUTHMILTER_AUTHRES_H
#define AUTHMILTER_AUTHRES_H

#include <stdbool.h>
#include <stddef.h>
#include "buf.h"

/* Our field stays under this whatever the conf says: libmilter sends at most
 * 64 KiB per packet, and a header that cannot be sent is no header at all. */
#define AUTHRES_MAX_FIELD 32768
/* Room kept for what follows the DKIM results (dmarc=, the count comment). */
#define AUTHRES_FIELD_RESERVE 4096
/* A property value longer than this is left out rather than shortened. */
#define AUTHRES_MAX_VALUE 1024

struct authres {
	struct buf text;	/* the header value, without "Authentication-Results: " */
	bool has_result;
};

void authres_begin(struct authres *ar, const char *authserv_id);
void authres_add(struct authres *ar, const char *method, const char *result,
		 const char *comment);
void authres_prop(struct authres *ar, const char *ptype_property, const char *value);
char *authres_finish(struct authres *ar);
/* the length so far, and going back to it (to rewrite the last result) */
size_t authres_mark(const struct authres *ar);
void authres_rollback(struct authres *ar, size_t mark);

/* fold at "; " (LF + TAB) so no line passes 78 columns, for the MTA */
char *authres_fold(const char *name, const char *value);

/* the authserv-id of an existing header value; false if it has none */
bool authres_id_of(const char *value, char *out, size_t size);
bool authres_is_ours(const char *value, const char *authserv_id);

/* printable ASCII only, at most max bytes ("..." marks a cut) */
void authres_sanitize(struct buf *out, const char *in, size_t max);

#endif
