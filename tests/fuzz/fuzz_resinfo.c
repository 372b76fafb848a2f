/*
 * fuzz_resinfo - RFC 8601 payloads from hosts we may believe: the resinfo
 * reader (lib/resinfo), the trusted-forwarder decision over it as an AAR
 * (lib/arc_trust), and the upstream spf= pick (lib/upstream).
 * Input: the payload ("authserv-id; method=result ...").
 */
#include "arc_trust.h"
#include "buf.h"
#include "resinfo.h"
#include "upstream.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* check_keyword - lower-case keyword characters only, never empty */
static void
check_keyword(const char *s)
{
	if (s == NULL || *s == '\0')
		abort();
	for (; *s; s++)
		if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '-'
		      || *s == '_' || *s == '.'))
			abort();
}

/* check_list - what a successful parse promises */
static void
check_list(const struct resinfo_list *l)
{
	if (l->authserv_id == NULL || strlen(l->authserv_id) > RESINFO_MAX_TOKEN
	    || l->n > RESINFO_MAX_RESULTS)
		abort();
	for (size_t i = 0; i < l->n; i++) {
		const struct resinfo *r = &l->results[i];
		check_keyword(r->method);
		check_keyword(r->result);
		if (r->n_props > RESINFO_MAX_PROPS)
			abort();
		for (size_t j = 0; j < r->n_props; j++) {
			check_keyword(r->props[j].name);
			if (r->props[j].value == NULL || strlen(r->props[j].value) > RESINFO_MAX_TOKEN)
				abort();
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct resinfo_list l;
	const char *why = NULL;
	char *copy = xstrndup((const char *)data, size);

	if (resinfo_parse((const char *)data, size, &l, &why)) {
		check_list(&l);
		resinfo_free(&l);
	} else if (why == NULL || l.results != NULL || l.n != 0 || l.authserv_id != NULL) {
		abort();	/* an error says why and leaves nothing behind */
	}

	/* the same text as a trusted sealer's AAR */
	char *sealers[] = { "lists.example.org" };
	struct arc_set_view set = { 1, "lists.example.org", "arc", copy };
	struct arc_chain chain = { .status = ARC_PASS, .instances = 1, .sets = &set, .n_sets = 1 };
	struct arc_trust_request req = {
		.from_domain = "example.com", .org_domain = "example.com", .dmarc = DMARC_FAIL,
		.chain = &chain, .sealers = sealers, .n_sealers = 1,
	};
	struct arc_trust t;
	arc_trust_decide(&req, &t);
	if (t.override != (t.via != NULL) || (t.override && t.why_not != NULL))
		abort();

	/* and as a border MTA's field */
	struct spf_outcome o;
	char *helo;
	if (upstream_spf(copy, "alice@example.com", &o, &helo)) {
		if (o.domain == NULL || o.reason == NULL || helo != NULL)
			abort();
		spf_outcome_free(&o);
	}
	if (upstream_spf(copy, "", &o, &helo)) {
		if (helo == NULL)
			abort();
		spf_outcome_free(&o);
		free(helo);
	}
	free(copy);
	return 0;
}
