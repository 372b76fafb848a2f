/*
 * fakedns - plant answers in lib/dnscache so lookups are cache hits; see fakedns.h.
 */
#include "fakedns.h"
#include "dnscache.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* fakedns_init - a resolver with no servers and an empty cache */
void
fakedns_init(struct dns *dns)
{
	struct dns_server none[1];

	memset(none, 0, sizeof(none));
	dns_init(dns, none, 0, 1, 0, dnscache_new(256));
}

/* fakedns_reset - forget every planted and remembered answer */
void
fakedns_reset(struct dns *dns)
{
	dnscache_free(dns->cache);
	dns->cache = dnscache_new(256);
}

/* fakedns_put_wire - store a reply as it would have come off the wire */
void
fakedns_put_wire(struct dns *dns, const char *name, uint16_t type, const uint8_t *wire, size_t len)
{
	if (len == 0)
		return;
	dnscache_put(dns->cache, name, type, wire, len, 300, time(NULL));
}

/* fakedns_txt_wire - a NOERROR reply with one TXT record holding txt, in wire format */
bool
fakedns_txt_wire(const char *name, const void *txt, size_t len, uint8_t **wire, size_t *wire_len)
{
	ldns_rdf *owner = ldns_dname_new_frm_str(name);
	ldns_pkt *pkt;
	ldns_rr *rr;
	uint8_t chunk[256];
	const uint8_t *p = txt;
	bool ok;

	*wire = NULL;
	*wire_len = 0;
	if (owner == NULL)
		return false;
	pkt = ldns_pkt_query_new(ldns_rdf_clone(owner), LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_IN, LDNS_RD);
	ldns_pkt_set_qr(pkt, true);
	ldns_pkt_set_rcode(pkt, LDNS_RCODE_NOERROR);
	rr = ldns_rr_new();
	ldns_rr_set_owner(rr, owner);
	ldns_rr_set_type(rr, LDNS_RR_TYPE_TXT);
	ldns_rr_set_class(rr, LDNS_RR_CLASS_IN);
	ldns_rr_set_ttl(rr, 300);
	do {
		size_t n = len > 255 ? 255 : len;
		chunk[0] = (uint8_t)n;
		memcpy(chunk + 1, p, n);
		ldns_rr_push_rdf(rr, ldns_rdf_new_frm_data(LDNS_RDF_TYPE_STR, n + 1, chunk));
		p += n, len -= n;
	} while (len > 0);
	ldns_pkt_push_rr(pkt, LDNS_SECTION_ANSWER, rr);
	ok = ldns_pkt2wire(wire, pkt, wire_len) == LDNS_STATUS_OK;
	ldns_pkt_free(pkt);
	return ok;
}

/* fakedns_put_txt - plant a NOERROR reply with one TXT record holding txt */
void
fakedns_put_txt(struct dns *dns, const char *name, const void *txt, size_t len)
{
	uint8_t *wire;
	size_t wlen;

	if (fakedns_txt_wire(name, txt, len, &wire, &wlen))
		fakedns_put_wire(dns, name, LDNS_RR_TYPE_TXT, wire, wlen);
	free(wire);
}
