/*
 * spf_record - the parsed form of one SPF record; internal to lib/spf.
 */
#ifndef AUTHMILTER_SPF_RECORD_H
#define AUTHMILTER_SPF_RECORD_H

#include <arpa/inet.h>
#include "spf.h"

/* No count limit on terms: RFC 7208 bounds only the DNS-querying ones (at
 * evaluation); a record is bounded by the DNS message that carried it. */
enum spf_mech_type {
	SPF_MECH_ALL, SPF_MECH_INCLUDE, SPF_MECH_A, SPF_MECH_MX, SPF_MECH_PTR,
	SPF_MECH_IP4, SPF_MECH_IP6, SPF_MECH_EXISTS
};

struct spf_term {
	enum spf_mech_type type;
	enum spf_result qualifier;
	const char *text;		/* the whole term, for reasons */
	size_t text_len;
	const char *domain;		/* domain-spec, NULL for the default <domain> */
	size_t domain_len;
	unsigned cidr4, cidr6;
	struct ipaddr net;		/* ip4: / ip6: */
};

struct spf_record {
	struct spf_term *terms;		/* one per space-separated mechanism */
	size_t n_terms;
	const char *redirect, *exp;
	size_t redirect_len, exp_len;
};

bool spf_record_is_spf(const char *txt);
bool spf_record_parse(const char *txt, struct spf_record *rec, struct buf *why);
void spf_record_free(struct spf_record *rec);

#endif
