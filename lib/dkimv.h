/*
 * dkimv - DKIM verification (RFC 6376, RFC 8301, RFC 8463) on libopendkim.
 *
 * One library handle per process (dkimv_init), one struct dkimv_msg per
 * message (with the settings of its configuration snapshot), fed headers and body as they arrive; nothing is buffered whole.
 * Key lookups go through lib/dns (dkimv_dns.c), so DKIM shares the cache and
 * the timeout policy with SPF. Every DKIM-Signature field up to the
 * configured maximum, the first ones in header order, gets its own result
 * with a short reason, also when libopendkim fails; the rest are counted
 * (n_not_evaluated) and never handed to libopendkim.
 */
#ifndef AUTHMILTER_DKIMV_H
#define AUTHMILTER_DKIMV_H

#include <stdbool.h>
#include <stddef.h>
#include "dns.h"

enum dkimv_result {
	DKIMV_NONE, DKIMV_PASS, DKIMV_FAIL, DKIMV_NEUTRAL, DKIMV_POLICY,
	DKIMV_TEMPERROR, DKIMV_PERMERROR
};

struct dkimv_settings {
	unsigned min_key_bits;		/* RSA keys below this are never a pass */
	unsigned max_signatures;	/* signatures evaluated per message */
	struct dns *dns;		/* where this message's key lookups go */
};

struct dkimv_sig {
	enum dkimv_result result;
	char *domain;		/* d= */
	char *identity;		/* i= (default @d) */
	char *selector;		/* s= */
	char *algorithm;	/* a= */
	char *b;		/* b= without white space */
	char *reason;		/* short comment */
	size_t b_prefix;	/* see dkimv_b_prefix_len */
};

struct dkimv_outcome {
	struct dkimv_sig *sigs;
	size_t n_sigs;
	size_t n_not_evaluated;	/* DKIM-Signature fields past max_signatures */
	bool signed_message;	/* at least one DKIM-Signature field */
	/* for the log, NULL when all went normally: which libopendkim call
	 * refused the message (every signature then says so in its reason),
	 * or how many header fields it refused as malformed */
	char *lib_error;
};

struct dkimv_msg;

/* clock_skew: seconds of slack for t= and x=, a library-wide option */
bool dkimv_init(unsigned clock_skew, char *why, size_t why_size);
void dkimv_shutdown(void);

struct dkimv_msg *dkimv_begin(const struct dkimv_settings *settings);
/* value: all after the colon, folding line breaks kept; len bytes, so a
 * NUL byte in it is seen (and makes a DKIM-Signature field a permerror) */
void dkimv_header_n(struct dkimv_msg *m, const char *name, const char *value, size_t len);
void dkimv_header(struct dkimv_msg *m, const char *name, const char *raw_value);
void dkimv_eoh(struct dkimv_msg *m);
bool dkimv_wants_body(const struct dkimv_msg *m);
void dkimv_body(struct dkimv_msg *m, const void *data, size_t len);
void dkimv_end(struct dkimv_msg *m, struct dkimv_outcome *out);
void dkimv_free(struct dkimv_msg *m);

void dkimv_outcome_free(struct dkimv_outcome *out);
const char *dkimv_result_name(enum dkimv_result r);
/* the shortest prefix of sig i's b= that no other signature shares, >= 8 chars */
size_t dkimv_b_prefix_len(const struct dkimv_outcome *out, size_t i);

/* DNS bridge (dkimv_dns.c) */
void dkimv_dns_attach(void *lib);
void dkimv_dns_use(struct dns *dns);

#endif
