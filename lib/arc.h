/*
 * arc - ARC (RFC 8617): validate a message's chain, and seal it.
 *
 * One struct arc_msg per message, fed as the session feeds DKIM: every
 * header field (arc_header), the end of the header (arc_eoh), body chunks
 * (arc_body, only while arc_wants_body), then arc_verify for the result in
 * a struct arc_chain (arc_result.h). With sealing on (arc_settings.sealing)
 * the same object then makes this hop's ARC set (arc_seal) over the message
 * as it leaves. Nothing here logs or exits: results carry a static reason.
 *
 * Work is bounded for any input: at most ARC_MAX_INSTANCES sets are kept
 * (more ARC fields are counted, and make the chain fail), each signature is
 * checked once over canonical text built once, and body hashes are shared
 * by every AMS with the same canonicalization and l=.
 */
#ifndef AUTHMILTER_ARC_H
#define AUTHMILTER_ARC_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include "arc_result.h"
#include "buf.h"
#include "dns.h"
#include "verdict.h"

#define ARC_MAX_INSTANCES 50	/* RFC 8617 4.2.1: i= is 1..50 */

struct arc_settings {
	struct dns *dns;		/* key lookups (the session's stage copy) */
	unsigned min_key_bits;		/* RSA keys below this never verify (DKIMMinKeyBits) */
	bool sealing;			/* keep what a seal needs even without a chain */
	const char *sign_headers;	/* with sealing: the AMS h= candidates, colon-separated
					 * (NULL: ARC_DEFAULT_SIGN_HEADERS); outlives the message */
};

struct arc_msg;

/* arc_begin - a new message; settings are copied, dns must outlive the message */
struct arc_msg *arc_begin(const struct arc_settings *set);
/* arc_header - one header field as the MTA passed it: value is everything
 * after the colon (folding line breaks included, LF or CRLF), len bytes */
void arc_header(struct arc_msg *m, const char *name, const char *value, size_t len);
/* arc_unreadable - a header field (name) could not be read whole
 * (MaxHeaderBytes, NUL byte): a chain in this message cannot pass and is not
 * sealed; it is counted when it is an ARC field; why is static */
void arc_unreadable(struct arc_msg *m, const char *name, const char *why);
/* arc_eoh - end of the header: read the chain, start the body hashes, and
 * forget the fields nothing will read (all of them when the message has no
 * ARC field and sealing is off; with sealing on, all but the ones it signs) */
void arc_eoh(struct arc_msg *m);
bool arc_wants_body(const struct arc_msg *m);
void arc_body(struct arc_msg *m, const void *data, size_t len);
/* arc_verify - the chain's status (RFC 8617 5.2), keys through set->dns;
 * out is filled whole (arc_chain_free releases it) */
void arc_verify(struct arc_msg *m, struct arc_chain *out);
void arc_free(struct arc_msg *m);

/* "none", "pass", "fail", "temperror", "permerror" */
const char *arc_status_name(enum arc_status s);

/* A private key for sealing (PEM, RSA or ed25519). */
struct arc_key;

/* arc_key_load - NULL with why set when the file is unreadable or no usable key */
struct arc_key *arc_key_load(const char *path, struct buf *why);
void arc_key_free(struct arc_key *k);
/* "rsa-sha256" or "ed25519-sha256" */
const char *arc_key_algorithm(const struct arc_key *k);

/* The default ARCSignHeaders (lower case, colon-separated). */
#define ARC_DEFAULT_SIGN_HEADERS \
	"from:to:cc:subject:date:message-id:reply-to:in-reply-to:references:" \
	"mime-version:content-type:content-transfer-encoding:list-id:list-help:" \
	"list-unsubscribe:list-subscribe:list-post:list-owner:list-archive:sender"

struct arc_seal_request {
	const char *domain;		/* d= */
	const char *selector;		/* s= */
	const struct arc_key *key;
	const char *authserv_id;	/* the AAR's authserv-id */
	const char *results;		/* the AAR after "authserv-id;" (our A-R results) */
	time_t now;			/* t= */
};

/* arc_seal - this hop's ARC set over the message as fed, for the chain
 * arc_verify found: out[0] ARC-Authentication-Results, out[1]
 * ARC-Message-Signature, out[2] ARC-Seal (names and unfolded values,
 * allocated; add them in this order). false when RFC 8617 says not to seal
 * (the newest seal says cv=fail, instance 50 reached, a temporary error) or
 * signing failed; why (static) says which. Call after arc_verify. */
bool arc_seal(struct arc_msg *m, const struct arc_chain *chain,
	      const struct arc_seal_request *req, struct verdict_field out[3], const char **why);

#endif
