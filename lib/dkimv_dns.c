/*
 * dkimv_dns - answer libopendkim's DNS hooks from lib/dns.
 *
 * libopendkim asks through start/waitreply/cancel and parses a wire-format
 * reply itself. We resolve synchronously in start, follow CNAME chains
 * (bounded) when the server did not, and hand back a reply whose answer
 * holds only the key TXT records under the name that was asked: lib/dns
 * hands out only records owned by that name or its CNAME chain, so a
 * record of another name never gets renamed into a key. Any
 * temporary failure makes start fail: libopendkim would otherwise read a
 * SERVFAIL or an empty reply as "no key", a permanent result.
 */
#include "dkimv.h"
#include "buf.h"

#include <opendkim/dkim.h>
#include <stdlib.h>
#include <string.h>

#define DKIMV_MAX_CNAME_HOPS DNS_MAX_CNAME_HOPS

struct dkimv_query {
	size_t len;
};

/* The message whose libopendkim call is running on this thread asks through
 * its own snapshot's DNS. Set only around dkim_eoh/dkim_eom (see dkimv.c),
 * which run the hooks synchronously on the calling thread: no state outlives
 * the call. */
static _Thread_local struct dns *call_dns;

/* dkimv_dns_use - route this thread's key lookups (NULL when done) */
void
dkimv_dns_use(struct dns *dns)
{
	call_dns = dns;
}

/* cname_target - where the answer's CNAME chain for the asked name ends, if
 * the server left it there: lib/dns already ignored CNAMEs of other names */
static char *
cname_target(const struct dns_result *res)
{
	return res->cname ? xstrdup(res->cname) : NULL;
}

/* build_reply - rcode plus the answer records, owned by the asked name */
static ldns_pkt *
build_reply(const char *qname, ldns_rr_type type, const struct dns_result *res)
{
	ldns_rdf *owner = ldns_dname_new_frm_str(qname);
	ldns_pkt *pkt;

	if (owner == NULL)
		return NULL;
	pkt = ldns_pkt_query_new(owner, type, LDNS_RR_CLASS_IN, LDNS_RD);
	if (pkt == NULL)
		return NULL;
	ldns_pkt_set_qr(pkt, true);
	ldns_pkt_set_ra(pkt, true);
	ldns_pkt_set_rcode(pkt, res->status == DNS_NXDOMAIN ? LDNS_RCODE_NXDOMAIN
							   : LDNS_RCODE_NOERROR);
	size_t n = res->rrs ? ldns_rr_list_rr_count(res->rrs) : 0;
	for (size_t i = 0; i < n; i++) {
		ldns_rr *rr = ldns_rr_clone(ldns_rr_list_rr(res->rrs, i));
		ldns_rdf *name = ldns_dname_new_frm_str(qname);
		if (rr == NULL || name == NULL) {
			ldns_rr_free(rr);
			ldns_rdf_deep_free(name);
			continue;
		}
		ldns_rdf_deep_free(ldns_rr_owner(rr));
		ldns_rr_set_owner(rr, name);
		ldns_pkt_push_rr(pkt, LDNS_SECTION_ANSWER, rr);
	}
	return pkt;
}

static int
dns_start(void *srv, int type, unsigned char *query, unsigned char *buf, size_t buflen,
	  void **qh)
{
	struct dns *dns = call_dns;
	struct dns_result res;
	char *name = xstrdup((const char *)query), *next;
	uint8_t *wire = NULL;
	size_t len = 0;
	int hops = 0;

	(void)srv;
	if (dns == NULL) {
		free(name);
		return DKIM_DNS_ERROR;
	}
	for (;;) {
		dns_query(dns, name, (ldns_rr_type)type, &res);
		if (res.status != DNS_NODATA || (next = cname_target(&res)) == NULL)
			break;
		dns_result_free(&res);
		free(name);
		name = next;
		if (++hops > DKIMV_MAX_CNAME_HOPS) {
			/* A chain we stop walking is no answer, not "no key". */
			free(name);
			return DKIM_DNS_ERROR;
		}
	}
	free(name);
	if (res.status == DNS_TEMPFAIL) {
		dns_result_free(&res);
		return DKIM_DNS_ERROR;
	}
	ldns_pkt *reply = build_reply((const char *)query, (ldns_rr_type)type, &res);
	dns_result_free(&res);
	if (reply == NULL || ldns_pkt2wire(&wire, reply, &len) != LDNS_STATUS_OK || len > buflen) {
		ldns_pkt_free(reply);
		free(wire);
		return DKIM_DNS_ERROR;
	}
	memcpy(buf, wire, len);
	free(wire);
	ldns_pkt_free(reply);
	struct dkimv_query *q = xmalloc(sizeof(*q));
	q->len = len;
	*qh = q;
	return DKIM_DNS_SUCCESS;
}

static int
dns_waitreply(void *srv, void *qh, struct timeval *timeout, size_t *bytes, int *error,
	      int *dnssec)
{
	const struct dkimv_query *q = qh;

	(void)srv, (void)timeout;
	*bytes = q->len;
	if (error)
		*error = 0;
	if (dnssec)
		*dnssec = DKIM_DNSSEC_UNKNOWN;
	return DKIM_DNS_SUCCESS;
}

static int
dns_cancel(void *srv, void *qh)
{
	(void)srv;
	free(qh);
	return DKIM_DNS_SUCCESS;
}

static int
dns_init_noop(void **srv)
{
	(void)srv;
	return 0;
}

static void
dns_close_noop(void *srv)
{
	(void)srv;
}

/* dkimv_dns_attach - route all of lib's key queries through lib/dns */
void
dkimv_dns_attach(void *lib)
{
	DKIM_LIB *l = lib;
	static int service;	/* libopendkim wants a non-NULL handle; ours is per call */

	dkim_dns_set_init(l, dns_init_noop);
	dkim_dns_set_close(l, dns_close_noop);
	dkim_dns_set_query_service(l, &service);
	dkim_dns_set_query_start(l, dns_start);
	dkim_dns_set_query_waitreply(l, dns_waitreply);
	dkim_dns_set_query_cancel(l, dns_cancel);
}
