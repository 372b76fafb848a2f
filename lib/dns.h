/*
 * dns - every DNS query authmilter makes, over ldns.
 *
 * Queries go to a configured list of nameservers (each with its own port),
 * with a per-try timeout, a retry count, RD set, and TCP when a UDP answer
 * is truncated. Each query uses its own socket, so one struct dns serves
 * every thread; the only shared mutable state is the cache (dnscache.h).
 *
 * A stage budget bounds all the DNS of one check of a message (SPF for MAIL
 * FROM and HELO and, apart, ARC and DMARC, at end of message; the DKIM keys
 * at end of headers):
 * the session copies the snapshot's struct dns per message and starts the
 * budget on its copy; every wait is cut to what is left of it, over every
 * server and retry, and once it is spent queries fail at once (cache hits
 * still answer). No budget on the snapshot's own struct dns.
 *
 * Only records owned by the question name, or by a name its CNAME chain in
 * the same answer reaches, are handed out: anything else in the answer
 * section is ignored (RFC 2181 5.4.1: it is not an answer to our question).
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
#include <time.h>
#include <ldns/ldns.h>

#define DNS_MAX_SERVERS 8
#define DNS_MAX_NAME 253
#define DNS_MAX_CNAME_HOPS 8	/* a longer chain in one answer is a temporary failure */
#define DNS_BUDGET_REASON "DNS budget exhausted"

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
	ldns_rr_list *rrs;	/* records of the asked type owned by the name or its CNAME chain */
	char *cname;		/* the chain's last target when the answer has a CNAME chain */
	bool from_cache;
};

struct dns_cache;

struct dns {
	struct dns_server servers[DNS_MAX_SERVERS];
	int n_servers;
	int timeout_sec;	/* per try */
	int retries;		/* extra rounds over all servers */
	struct dns_cache *cache;	/* may be NULL: no caching */
	bool budget;			/* deadline applies (see dns_budget_start) */
	struct timespec deadline;	/* CLOCK_MONOTONIC end of the stage budget */
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
/* start a stage budget of seconds (0: none left) on a per-stage copy of a struct dns */
void dns_budget_start(struct dns *dns, int seconds);
void dns_query(struct dns *dns, const char *name, ldns_rr_type type,
	       struct dns_result *res);
void dns_result_free(struct dns_result *res);
const char *dns_status_name(enum dns_status status);

/* TXT records as joined strings (character-strings concatenated, RFC 7208 3.3) */
size_t dns_txt_strings(const struct dns_result *res, char ***out);
void dns_strings_free(char **strings, size_t n);

#endif
