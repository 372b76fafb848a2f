/*
 * fuzz_dns - DNS replies in wire format into lib/dns's classification.
 *
 * classify() in lib/dns.c is static, so the reply goes in through the
 * smallest public road that reaches it: planted in the cache for
 * (example.com, TYPE), then dns_query() parses it (ldns_wire2pkt) and
 * classifies it into enum dns_status, and dns_txt_strings() reads its TXT
 * rdata the way SPF and DMARC do. Input: one byte choosing TYPE, then the
 * reply.
 */
#include "dns.h"
#include "fakedns.h"
#include "buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static struct dns dns;

static const ldns_rr_type types[] = {
	LDNS_RR_TYPE_TXT, LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA, LDNS_RR_TYPE_MX,
	LDNS_RR_TYPE_PTR, LDNS_RR_TYPE_CNAME, LDNS_RR_TYPE_SOA, LDNS_RR_TYPE_NS,
};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fakedns_init(&dns);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_result res;
	ldns_rr_type type;

	if (size < 1)
		return 0;
	type = types[data[0] % (sizeof(types) / sizeof(types[0]))];
	fakedns_reset(&dns);
	fakedns_put_wire(&dns, "example.com", (uint16_t)type, data + 1, size - 1);
	dns_query(&dns, "example.com", type, &res);
	switch (res.status) {
	case DNS_ANSWER:
		if (res.pkt == NULL || res.rrs == NULL || ldns_rr_list_rr_count(res.rrs) == 0)
			abort();
		break;
	case DNS_NODATA:
	case DNS_NXDOMAIN:
		break;
	case DNS_TEMPFAIL:
		if (res.reason == NULL)
			abort();
		break;
	default:
		abort();
	}
	if (type == LDNS_RR_TYPE_TXT) {
		char **strings;
		size_t n = dns_txt_strings(&res, &strings);
		for (size_t i = 0; i < n; i++)
			if (strings[i] == NULL)
				abort();
		dns_strings_free(strings, n);
	}
	dns_result_free(&res);
	return 0;
}
