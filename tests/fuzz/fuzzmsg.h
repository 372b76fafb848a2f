/*
 * fuzzmsg - what the whole-message harnesses (fuzz_dkim, fuzz_arc) share: a
 * fixed zone of TXT records (key records) planted in a fake DNS before every
 * input, and the walk over a message text's header fields as an MTA splits
 * them (a field with its continuation lines, up to the empty line).
 */
#ifndef AUTHMILTER_FUZZ_FUZZMSG_H
#define AUTHMILTER_FUZZ_FUZZMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "dns.h"

/* one TXT record of a zone (dkim_keys.inc and arc_keys.inc are lists of them) */
struct fuzz_key {
	const char *name, *txt;
};

struct fuzzmsg_zone {
	const struct fuzz_key *keys;
	size_t n;
	uint8_t **wire;		/* each record's reply in wire format, made once */
	size_t *len;
};

/* fuzzmsg_zone_init - the wire replies of n records (abort() on a bad name) */
void fuzzmsg_zone_init(struct fuzzmsg_zone *z, const struct fuzz_key *keys, size_t n);
/* fuzzmsg_zone_plant - forget every answer dns holds, then plant the zone's */
void fuzzmsg_zone_plant(struct dns *dns, const struct fuzzmsg_zone *z);

/* fuzzmsg_field - the header field at *p: [*start, *stop) is "Name:value"
 * with its continuation lines and their line ends (LF or CRLF); false at the
 * empty line that ends the header or at the end of the text, *p then being
 * the body */
bool fuzzmsg_field(const char **p, const char *end, const char **start, const char **stop);

#endif
