/*
 * fuzzmsg - the fixed zone and the header walk of the message harnesses;
 * see fuzzmsg.h.
 */
#include "fuzzmsg.h"
#include "fakedns.h"
#include "buf.h"
#include "pkeycache.h"

#include <stdlib.h>
#include <string.h>

/* fuzzmsg_zone_init - see fuzzmsg.h */
void
fuzzmsg_zone_init(struct fuzzmsg_zone *z, const struct fuzz_key *keys, size_t n)
{
	z->keys = keys;
	z->n = n;
	z->wire = xcalloc(n, sizeof(*z->wire));
	z->len = xcalloc(n, sizeof(*z->len));
	for (size_t i = 0; i < n; i++)
		if (!fakedns_txt_wire(keys[i].name, keys[i].txt, strlen(keys[i].txt), &z->wire[i],
				      &z->len[i]))
			abort();
}

/* fuzzmsg_zone_plant - see fuzzmsg.h */
void
fuzzmsg_zone_plant(struct dns *dns, const struct fuzzmsg_zone *z)
{
	fakedns_reset(dns);
	/* every input starts with no decoded key kept, so a crash replays alone as it ran */
	pkeycache_clear();
	for (size_t i = 0; i < z->n; i++)
		fakedns_put_wire(dns, z->keys[i].name, LDNS_RR_TYPE_TXT, z->wire[i], z->len[i]);
}

/* line_end - end of the line at p (before CRLF or LF) and the start of the next */
static const char *
line_end(const char *p, const char *end, const char **next)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	if (nl == NULL) {
		*next = end;
		return end;
	}
	*next = nl + 1;
	return nl > p && nl[-1] == '\r' ? nl - 1 : nl;
}

/* fuzzmsg_field - see fuzzmsg.h */
bool
fuzzmsg_field(const char **pp, const char *end, const char **start, const char **stop)
{
	const char *p = *pp, *next;

	if (p >= end)
		return false;
	if (line_end(p, end, &next) == p) {	/* the empty line */
		*pp = next;
		return false;
	}
	*start = p;
	for (p = next; p < end && (*p == ' ' || *p == '\t'); p = next)
		line_end(p, end, &next);
	*stop = *pp = p;
	return true;
}
