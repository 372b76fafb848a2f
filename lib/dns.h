/*
 * dns - every DNS query authmilter makes, over ldns.
 *
 * Queries go to a configured list of nameservers (each with its own port),
 * with a per-try timeout, a retry count, RD set, and TCP when a UDP answer
 * is truncated. Each query uses its own socket, so one struct dns serves
 * every thread; the only shared mutable state is the cache (dnscache.h).
 *
 * Results keep apart what the checks must tell apart: an answer, NXDOMAIN,
 * NODATA, and a temporary failure (timeout, SERVFAIL, garbage).
 */
#ifndef AUTHMILTER_DNS_H
#define AUTHMILTER_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <ldns/ldns.h>

#define DNS_MAX_SERVERS 8
#define DNS_MAX_NAME 253

struct dns_server {
	struct sockaddr_storage addr;
	socklen_t addr_len;
};

enum dns_status {
	DNS_ANSWER,		/* NOERROR with records of the asked type */
	DNS_NODATA,		/* NOERROR, name exists, no records of that type */
	DNS_NXDOMAIN,		/* the name does not exist */
	DNS_TEMPFAIL,		/* timeout, SERVFAIL, REFUSED, unparsable reply */
};

struct dns_result {
	enum dns_status status;
	const char *reason;	/* static text for DNS_TEMPFAIL ("timeout", "SERVFAIL", ...) */
	ldns_pkt *pkt;		/* the reply; NULL on DNS_TEMPFAIL */
	ldns_rr_list *rrs;	/* records of the asked type from the answer section */
	bool from_cache;
};

struct dns_cache;

struct dns {
	struct dns_server servers[DNS_MAX_SERVERS];
	int n_servers;
	int timeout_sec;	/* per try */
	int retries;		/* extra rounds over all servers */
	struct dns_cache *cache;	/* may be NULL: no caching */
	/* optional: told of every query asked (cache hit or not), for debug logs and tests */
	void (*observe)(void *ctx, const char *name, ldns_rr_type type);
	void *observe_ctx;
};

bool dns_server_parse(const char *text, struct dns_server *out);
void dns_server_format(const struct dns_server *srv, char *out, size_t size);
int dns_servers_from_resolv_conf(const char *path, struct dns_server *out, int max);

size_t dns_name_labels(const char *name);

void dns_init(struct dns *dns, const struct dns_server *servers, int n_servers,
	      int timeout_sec, int retries, struct dns_cache *cache);
void dns_query(struct dns *dns, const char *name, ldns_rr_type type,
	       struct dns_result *res);
void dns_result_free(struct dns_result *res);
const char *dns_status_name(enum dns_status status);

/* TXT records as joined strings (character-strings concatenated, RFC 7208 3.3) */
size_t dns_txt_strings(const struct dns_result *res, char ***out);
void dns_strings_free(char **strings, size_t n);

#endif
