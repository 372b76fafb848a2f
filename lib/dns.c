/*
 * dns - queries over ldns with our own server rotation, retries and TCP
 * fallback, classified into answer / NODATA / NXDOMAIN / temporary failure.
 *
 * ldns's resolver object keeps one port for all nameservers and must not be
 * shared between threads; ldns_udp_send/ldns_tcp_send take a full socket
 * address and open a socket per query, so we drive those directly and keep
 * struct dns read-only after dns_init().
 */
#include "dns.h"
#include "dnscache.h"
#include "metrics.h"
#include "buf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define DNS_EDNS_BUFSIZE 1232	/* the DNS flag day 2020 size: no fragmentation */

static ldns_rdf *presentation_name(const char *name);

/* one string, so a reason can be told apart by its address */
static const char budget_reason[] = DNS_BUDGET_REASON;

/* dns_server_parse - "ip", "ip:port", "[ipv6]", "[ipv6]:port" or a bare IPv6 address */
bool
dns_server_parse(const char *text, struct dns_server *out)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *port_text = NULL;
	unsigned long port = 53;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (text[0] == '[') {
		const char *close = strchr(text, ']');
		if (close == NULL || (size_t)(close - text - 1) >= sizeof(host))
			return false;
		n = (size_t)(close - text - 1);
		memcpy(host, text + 1, n);
		host[n] = '\0';
		if (close[1] == ':')
			port_text = close + 2;
		else if (close[1] != '\0')
			return false;
	} else {
		const char *colon = strchr(text, ':');
		if (colon && strchr(colon + 1, ':'))
			colon = NULL;		/* bare IPv6 address, no port */
		n = colon ? (size_t)(colon - text) : strlen(text);
		if (n >= sizeof(host))
			return false;
		memcpy(host, text, n);
		host[n] = '\0';
		if (colon)
			port_text = colon + 1;
	}
	if (port_text) {
		char *end;
		if (!isdigit((unsigned char)*port_text))
			return false;
		port = strtoul(port_text, &end, 10);
		if (*end != '\0' || port == 0 || port > 65535)
			return false;
	}
	struct sockaddr_in *sin = (struct sockaddr_in *)&out->addr;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->addr;
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		out->addr_len = sizeof(*sin);
		return true;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		out->addr_len = sizeof(*sin6);
		return true;
	}
	return false;
}

/* dns_server_format - "ip:port" or "[ipv6]:port" for logs */
void
dns_server_format(const struct dns_server *srv, char *out, size_t size)
{
	char host[INET6_ADDRSTRLEN];

	if (srv->addr.ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&srv->addr;
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(out, size, "[%s]:%u", host, ntohs(sin6->sin6_port));
	} else {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&srv->addr;
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(out, size, "%s:%u", host, ntohs(sin->sin_port));
	}
}

/* dns_servers_from_resolv_conf - the system's nameservers; 127.0.0.1 if none */
int
dns_servers_from_resolv_conf(const char *path, struct dns_server *out, int max)
{
	char line[512], word[64], addr[128];
	int n = 0;
	FILE *fp = fopen(path, "r");

	while (fp && n < max && fgets(line, sizeof(line), fp)) {
		if (sscanf(line, "%63s %127s", word, addr) == 2 && strcmp(word, "nameserver") == 0) {
			char *scope = strchr(addr, '%');	/* link-local zone: not supported */
			if (scope)
				continue;
			if (dns_server_parse(addr, &out[n]))
				n++;
		}
	}
	if (fp)
		fclose(fp);
	if (n == 0 && max > 0 && dns_server_parse("127.0.0.1", &out[0]))
		n = 1;
	return n;
}

/* dns_init - set up a query context; it is read-only afterwards */
void
dns_init(struct dns *dns, const struct dns_server *servers, int n_servers,
	 int timeout_sec, int retries, struct dns_cache *cache)
{
	memset(dns, 0, sizeof(*dns));
	if (n_servers > DNS_MAX_SERVERS)
		n_servers = DNS_MAX_SERVERS;
	memcpy(dns->servers, servers, sizeof(*servers) * (size_t)n_servers);
	dns->n_servers = n_servers;
	dns->timeout_sec = timeout_sec > 0 ? timeout_sec : 1;
	dns->retries = retries >= 0 ? retries : 0;
	dns->cache = cache;
}

/* dns_budget_start - from now on, all queries through dns share seconds of waiting */
void
dns_budget_start(struct dns *dns, int seconds)
{
	clock_gettime(CLOCK_MONOTONIC, &dns->deadline);
	dns->deadline.tv_sec += seconds > 0 ? seconds : 0;
	dns->budget = true;
}

/* budget_wait - the wait for one try: the per-try timeout, cut to what is
 * left of the budget (*cut tells); false when nothing is left */
static bool
budget_wait(const struct dns *dns, struct timeval *tv, bool *cut)
{
	struct timespec now;
	long long left_us;

	tv->tv_sec = dns->timeout_sec;
	tv->tv_usec = 0;
	*cut = false;
	if (!dns->budget)
		return true;
	clock_gettime(CLOCK_MONOTONIC, &now);
	left_us = (long long)(dns->deadline.tv_sec - now.tv_sec) * 1000000
		+ (dns->deadline.tv_nsec - now.tv_nsec) / 1000;
	if (left_us <= 0)
		return false;
	if (left_us < (long long)dns->timeout_sec * 1000000) {
		tv->tv_sec = (time_t)(left_us / 1000000);
		tv->tv_usec = (suseconds_t)(left_us % 1000000);
		*cut = true;
	}
	return true;
}

/* budget_spent - whether the stage budget has run out */
static bool
budget_spent(const struct dns *dns)
{
	struct timeval tv;
	bool cut;

	return !budget_wait(dns, &tv, &cut);
}

/* dns_status_name - lower-case name for logs and tests */
const char *
dns_status_name(enum dns_status status)
{
	switch (status) {
	case DNS_ANSWER: return "answer";
	case DNS_NODATA: return "nodata";
	case DNS_NXDOMAIN: return "nxdomain";
	case DNS_TEMPFAIL: return "tempfail";
	}
	return "?";
}

/* dns_name_labels - labels in a well-formed name (trailing dot allowed), 0 if malformed */
size_t
dns_name_labels(const char *name)
{
	size_t n = strlen(name), label = 0, labels = 0;

	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n == 0 || n > DNS_MAX_NAME)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (name[i] == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if (++label > 63) {
			return 0;
		} else if (label == 1) {
			labels++;
		}
	}
	return label == 0 ? 0 : labels;
}

/* normalize_name - lower case, no trailing dot; false if no valid DNS name */
static bool
normalize_name(const char *name, char out[DNS_MAX_NAME + 2])
{
	size_t n = strlen(name);

	if (dns_name_labels(name) == 0)
		return false;
	if (name[n - 1] == '.')
		n--;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)name[i]);
	out[n] = '\0';
	return true;
}

static bool
question_matches(const ldns_pkt *reply, const ldns_pkt *query)
{
	ldns_rr_list *rq = ldns_pkt_question(reply);
	ldns_rr_list *qq = ldns_pkt_question(query);

	if (ldns_pkt_id(reply) != ldns_pkt_id(query) || !ldns_pkt_qr(reply))
		return false;
	/* Some servers send no question with an error rcode; accept that. */
	if (rq == NULL || ldns_rr_list_rr_count(rq) == 0)
		return true;
	ldns_rr *a = ldns_rr_list_rr(rq, 0), *b = ldns_rr_list_rr(qq, 0);
	return ldns_rr_get_type(a) == ldns_rr_get_type(b)
	    && ldns_dname_compare(ldns_rr_owner(a), ldns_rr_owner(b)) == 0;
}

/* name_in - whether name is one of the n names (case-insensitive) */
static bool
name_in(const ldns_rdf *name, ldns_rdf *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ldns_dname_compare(name, names[i]) == 0)
			return true;
	return false;
}

/* cname_of - the target of the answer's CNAME owned by name, or NULL */
static ldns_rdf *
cname_of(const ldns_pkt *pkt, const ldns_rdf *name)
{
	ldns_rr_list *answer = ldns_pkt_answer(pkt);

	for (size_t i = 0; answer && i < ldns_rr_list_rr_count(answer); i++) {
		ldns_rr *rr = ldns_rr_list_rr(answer, i);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME && ldns_rr_rd_count(rr) > 0
		    && ldns_dname_compare(ldns_rr_owner(rr), name) == 0)
			return ldns_rr_rdf(rr, 0);
	}
	return NULL;
}

/* owned_records - the answer's records of type owned by qname or its CNAME
 * chain; false when the chain is longer than DNS_MAX_CNAME_HOPS (or loops) */
static bool
owned_records(ldns_pkt *pkt, const char *qname, ldns_rr_type type, struct dns_result *res)
{
	ldns_rdf *chain[DNS_MAX_CNAME_HOPS + 1], *next;
	ldns_rr_list *answer = ldns_pkt_answer(pkt);
	size_t n = 1;
	bool ok = true;

	chain[0] = presentation_name(qname);
	if (chain[0] == NULL)
		return false;
	/* Asking for the CNAME itself means not following it. */
	while (type != LDNS_RR_TYPE_CNAME && (next = cname_of(pkt, chain[n - 1])) != NULL) {
		if (n == DNS_MAX_CNAME_HOPS + 1 || name_in(next, chain, n)) {
			ok = false;
			break;
		}
		chain[n++] = ldns_rdf_clone(next);
	}
	res->rrs = ldns_rr_list_new();
	ok = ok && res->rrs != NULL;
	for (size_t i = 0; ok && answer && i < ldns_rr_list_rr_count(answer); i++) {
		ldns_rr *rr = ldns_rr_list_rr(answer, i), *copy;
		if (ldns_rr_get_type(rr) != type || !name_in(ldns_rr_owner(rr), chain, n))
			continue;
		if ((copy = ldns_rr_clone(rr)) == NULL || !ldns_rr_list_push_rr(res->rrs, copy)) {
			ldns_rr_free(copy);
			ok = false;	/* out of memory: no partial answer */
		}
	}
	if (ok && n > 1)
		res->cname = ldns_rdf2str(chain[n - 1]);
	for (size_t i = 0; i < n; i++)
		ldns_rdf_deep_free(chain[i]);
	return ok;
}

/* classify - fill res from a parsed reply to (qname, type); returns the TTL to cache it for */
static uint32_t
classify(ldns_pkt *pkt, const char *qname, ldns_rr_type type, struct dns_result *res)
{
	uint32_t ttl = 0;

	res->pkt = pkt;
	switch (ldns_pkt_get_rcode(pkt)) {
	case LDNS_RCODE_NOERROR:
		if (!owned_records(pkt, qname, type, res)) {
			res->status = DNS_TEMPFAIL;
			res->reason = "CNAME chain too long or looping";
			return 0;
		}
		if (ldns_rr_list_rr_count(res->rrs) > 0) {
			res->status = DNS_ANSWER;
			ttl = UINT32_MAX;
			for (size_t i = 0; i < ldns_rr_list_rr_count(res->rrs); i++) {
				uint32_t t = ldns_rr_ttl(ldns_rr_list_rr(res->rrs, i));
				ttl = t < ttl ? t : ttl;
			}
			return ttl;
		}
		/* Records under other names only: what the reply says of ours is
		 * NOERROR and nothing, so NODATA (see owned_records). */
		res->status = DNS_NODATA;
		break;
	case LDNS_RCODE_NXDOMAIN:
		res->status = DNS_NXDOMAIN;
		break;
	default:
		res->status = DNS_TEMPFAIL;
		res->reason = "server failure";
		return 0;
	}
	/* RFC 2308 section 5: negative TTL = min(SOA TTL, SOA MINIMUM). */
	ldns_rr_list *soa = ldns_pkt_rr_list_by_type(pkt, LDNS_RR_TYPE_SOA, LDNS_SECTION_AUTHORITY);
	if (soa && ldns_rr_list_rr_count(soa) > 0) {
		ldns_rr *rr = ldns_rr_list_rr(soa, 0);
		ldns_rdf *min = ldns_rr_rdf(rr, 6);
		ttl = ldns_rr_ttl(rr);
		if (min && ldns_rdf_size(min) == 4 && ldns_rdf2native_int32(min) < ttl)
			ttl = ldns_rdf2native_int32(min);
	}
	ldns_rr_list_deep_free(soa);
	return ttl;
}

static const char *
rcode_reason(ldns_pkt_rcode rcode)
{
	switch (rcode) {
	case LDNS_RCODE_SERVFAIL: return "SERVFAIL";
	case LDNS_RCODE_REFUSED: return "REFUSED";
	case LDNS_RCODE_FORMERR: return "FORMERR";
	case LDNS_RCODE_NOTIMPL: return "NOTIMP";
	default: return "bad rcode";
	}
}

/* exchange - one try against one server: UDP, then TCP if truncated; a
 * failed try whose wait the budget cut fails with budget_reason */
static ldns_pkt *
exchange(const struct dns *dns, const struct dns_server *srv, ldns_pkt *query,
	 ldns_buffer *qbin, const char **reason)
{
	struct timeval tv;
	bool cut;
	uint8_t *wire = NULL;
	size_t len = 0;
	ldns_pkt *reply = NULL;

	if (!budget_wait(dns, &tv, &cut)) {
		*reason = budget_reason;
		return NULL;
	}
	if (ldns_udp_send(&wire, qbin, &srv->addr, srv->addr_len, tv, &len) != LDNS_STATUS_OK) {
		metrics_dns(METRICS_DNS_TIMEOUT);
		*reason = cut ? budget_reason : "timeout";
		return NULL;
	}
	if (ldns_wire2pkt(&reply, wire, len) != LDNS_STATUS_OK || !question_matches(reply, query)) {
		*reason = "garbled reply";
		ldns_pkt_free(reply);
		free(wire);
		return NULL;
	}
	free(wire);
	if (!ldns_pkt_tc(reply))
		return reply;
	ldns_pkt_free(reply);
	reply = NULL;
	if (!budget_wait(dns, &tv, &cut)) {
		*reason = budget_reason;
		return NULL;
	}
	if (ldns_tcp_send(&wire, qbin, &srv->addr, srv->addr_len, tv, &len) != LDNS_STATUS_OK) {
		*reason = cut ? budget_reason : "TCP timeout";
		return NULL;
	}
	if (ldns_wire2pkt(&reply, wire, len) != LDNS_STATUS_OK || !question_matches(reply, query)) {
		*reason = "garbled TCP reply";
		ldns_pkt_free(reply);
		reply = NULL;
	}
	free(wire);
	return reply;
}

/* presentation_name - escape every byte ldns would read as syntax as \DDD */
static ldns_rdf *
presentation_name(const char *name)
{
	struct buf b;
	ldns_rdf *rdf;

	buf_init(&b);
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		if (isalnum(*p) || *p == '.' || *p == '-' || *p == '_')
			buf_addc(&b, (char)*p);
		else
			buf_printf(&b, "\\%03u", *p);
	}
	rdf = ldns_dname_new_frm_str(b.data);
	buf_free(&b);
	return rdf;
}

/* resolve - ask the servers in turn until one gives a usable reply */
static ldns_pkt *
resolve(const struct dns *dns, const char *name, ldns_rr_type type, const char **reason)
{
	ldns_rdf *qname = presentation_name(name);
	ldns_pkt *query, *reply = NULL;
	ldns_buffer *qbin;

	*reason = "no nameserver";
	if (qname == NULL) {
		*reason = "bad name";
		return NULL;
	}
	query = ldns_pkt_query_new(qname, type, LDNS_RR_CLASS_IN, LDNS_RD);
	if (query == NULL)
		return NULL;
	ldns_pkt_set_edns_udp_size(query, DNS_EDNS_BUFSIZE);
	qbin = ldns_buffer_new(LDNS_MIN_BUFLEN);
	for (int round = 0; round <= dns->retries && reply == NULL; round++) {
		for (int i = 0; i < dns->n_servers && reply == NULL; i++) {
			ldns_pkt_set_random_id(query);
			ldns_buffer_clear(qbin);
			if (ldns_pkt2buffer_wire(qbin, query) != LDNS_STATUS_OK) {
				*reason = "cannot build query";
				goto out;
			}
			reply = exchange(dns, &dns->servers[i], query, qbin, reason);
			if (reply == NULL && (*reason == budget_reason || budget_spent(dns))) {
				/* Whatever the last try said, the stage has no time for more. */
				*reason = budget_reason;
				goto out;
			}
			if (reply == NULL)
				continue;
			ldns_pkt_rcode rc = ldns_pkt_get_rcode(reply);
			if (rc != LDNS_RCODE_NOERROR && rc != LDNS_RCODE_NXDOMAIN) {
				if (rc == LDNS_RCODE_SERVFAIL)
					metrics_dns(METRICS_DNS_SERVFAIL);
				*reason = rcode_reason(rc);
				ldns_pkt_free(reply);
				reply = NULL;
			}
		}
	}
out:
	ldns_buffer_free(qbin);
	ldns_pkt_free(query);
	return reply;
}

/* cache_store - keep a reply (or, pkt NULL, a failure) for ttl seconds */
static void
cache_store(struct dns *dns, const char *name, ldns_rr_type type, ldns_pkt *pkt, uint32_t ttl)
{
	uint8_t *wire = NULL;
	size_t len = 0;
	time_t now = dnscache_now(dns->cache);

	if (dns->cache == NULL || ttl == 0)
		return;
	if (pkt == NULL) {
		dnscache_put(dns->cache, name, (uint16_t)type, NULL, 0, ttl, now);
		return;
	}
	if (ldns_pkt2wire(&wire, pkt, &len) == LDNS_STATUS_OK)
		dnscache_put(dns->cache, name, (uint16_t)type, wire, len, ttl, now);
	free(wire);
}

/* from_cache - answer res from the cache; false on a miss */
static bool
from_cache(struct dns *dns, const char *norm, ldns_rr_type type, struct dns_result *res)
{
	uint8_t *wire = NULL;
	size_t len = 0;
	ldns_pkt *pkt = NULL;

	switch (dnscache_get(dns->cache, norm, (uint16_t)type, &wire, &len,
			     dnscache_now(dns->cache))) {
	case DNSCACHE_MISS:
		return false;
	case DNSCACHE_REPLY:
		if (ldns_wire2pkt(&pkt, wire, len) != LDNS_STATUS_OK) {
			free(wire);
			return false;	/* cannot happen: we stored it; ask again */
		}
		free(wire);
		metrics_dns(METRICS_DNS_CACHE_HIT);
		classify(pkt, norm, type, res);
		break;
	case DNSCACHE_FAILURE:
		metrics_dns(METRICS_DNS_CACHE_HIT);
		res->status = DNS_TEMPFAIL;
		res->reason = "recent failure (cached)";
		break;
	}
	res->from_cache = true;
	return true;
}

/* dns_query - look up (name, type); res must be freed with dns_result_free */
void
dns_query(struct dns *dns, const char *name, ldns_rr_type type, struct dns_result *res)
{
	char norm[DNS_MAX_NAME + 2];
	ldns_pkt *pkt = NULL;
	const char *reason = NULL;

	memset(res, 0, sizeof(*res));
	metrics_dns(METRICS_DNS_QUERY);
	if (dns->observe)
		dns->observe(dns->observe_ctx, name, type);
	if (!normalize_name(name, norm)) {
		/* A name that cannot be asked cannot exist. */
		res->status = DNS_NXDOMAIN;
		res->reason = "invalid name";
		return;
	}
	/* A spent budget still takes what the cache knows: it costs no time. */
	if (from_cache(dns, norm, type, res))
		return;
	pkt = budget_spent(dns) ? NULL : resolve(dns, norm, type, &reason);
	if (pkt == NULL) {
		res->status = DNS_TEMPFAIL;
		res->reason = reason ? reason : budget_reason;
		/* A wait the budget cut says nothing of the servers: the next
		 * message, with a budget of its own, asks again. */
		if (res->reason != budget_reason)
			cache_store(dns, norm, type, NULL, DNSCACHE_TEMPFAIL_TTL);
		return;
	}
	cache_store(dns, norm, type, pkt, classify(pkt, norm, type, res));
}

/* dns_result_free - release the reply */
void
dns_result_free(struct dns_result *res)
{
	ldns_rr_list_deep_free(res->rrs);
	ldns_pkt_free(res->pkt);
	free(res->cname);
	memset(res, 0, sizeof(*res));
}

/* dns_txt_strings - each TXT record's character-strings joined with no separator */
size_t
dns_txt_strings(const struct dns_result *res, char ***out)
{
	size_t n = res->rrs ? ldns_rr_list_rr_count(res->rrs) : 0;
	char **strings = xcalloc(n + 1, sizeof(char *));

	for (size_t i = 0; i < n; i++) {
		ldns_rr *rr = ldns_rr_list_rr(res->rrs, i);
		struct buf b;
		buf_init(&b);
		for (size_t j = 0; j < ldns_rr_rd_count(rr); j++) {
			ldns_rdf *rdf = ldns_rr_rdf(rr, j);
			const uint8_t *d = ldns_rdf_data(rdf);
			size_t sz = ldns_rdf_size(rdf);
			if (sz == 0 || (size_t)d[0] + 1 > sz)
				continue;
			for (size_t k = 1; k <= d[0]; k++)
				/* A NUL would cut the C string short; keep it visible as a
				 * control character so parsers reject the record instead. */
				buf_addc(&b, d[k] ? (char)d[k] : '\x01');
		}
		strings[i] = buf_steal(&b);
	}
	*out = strings;
	return n;
}

/* dns_strings_free - free what dns_txt_strings returned */
void
dns_strings_free(char **strings, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(strings[i]);
	free(strings);
}
