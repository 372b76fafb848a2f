/*
 * spf - our RFC 7208 evaluator: check_host() over lib/dns.
 *
 * Strict and bounded: the whole record is parsed before anything is
 * evaluated (a syntax error anywhere is permerror), DNS-querying terms are
 * limited to 10 across includes and redirects, void lookups to 2, MX and PTR
 * names to 10 each, and the whole evaluation to SPF_TIME_LIMIT seconds.
 * Only TXT records are asked for (never type 99).
 */
#ifndef AUTHMILTER_SPF_H
#define AUTHMILTER_SPF_H

#include <stdbool.h>
#include <time.h>
#include <stddef.h>
#include "buf.h"
#include "dns.h"
#include "ipaddr.h"

#define SPF_MAX_DNS_MECHS 10
#define SPF_MAX_VOID_LOOKUPS 2
#define SPF_MAX_NAMES 10
#define SPF_TIME_LIMIT 20

enum spf_result {
	SPF_NONE, SPF_NEUTRAL, SPF_PASS, SPF_FAIL, SPF_SOFTFAIL, SPF_TEMPERROR, SPF_PERMERROR
};

struct spf_request {
	struct ipaddr ip;
	const char *helo;	/* may be NULL or empty */
	const char *sender;	/* MAIL FROM address without <>; "" for the null sender */
	const char *receiver;	/* our host name, for %{r} */
};

struct spf_outcome {
	enum spf_result result;
	char *domain;		/* the identity's domain that was checked */
	char *reason;		/* short why: "matched ip4:192.0.2.0/24", "no SPF record", ... */
	char *explanation;	/* on fail: the exp= text or our default */
};

enum spf_identity { SPF_ID_MAILFROM, SPF_ID_HELO };

void spf_check(struct dns *dns, const struct spf_request *req, enum spf_identity id,
	       struct spf_outcome *out);
void spf_outcome_free(struct spf_outcome *out);
const char *spf_result_name(enum spf_result r);

/* Macro expansion (spf_macro.c), shared by domain-specs and exp= text. */
struct spf_macro_env {
	const char *sender, *local, *sender_domain, *domain, *helo, *receiver;
	const struct ipaddr *ip;
	/* %{p}: the validated client name; called only when the macro is used */
	const char *(*validated_name)(void *ctx);
	void *ctx;
};

bool spf_macro_check(const char *text, size_t len, bool in_exp);
bool spf_macro_expand(const struct spf_macro_env *env, const char *text, size_t len,
		      bool in_exp, struct buf *out);
void spf_domain_truncate(struct buf *name);

#endif
