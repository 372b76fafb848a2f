/*
 * dkimv_key - read one DKIM key record (RFC 6376 3.6.1, RFC 8463) for the
 * checker: key type and size, t= flags, revocation. The verifier leaves key
 * records to libopendkim; this reading follows the same RFC rules (tag-list
 * of 3.2, v=DKIM1 first when present, p= required, base64 with folding
 * white space) and asks OpenSSL for the key, as libopendkim does.
 */
#ifndef AUTHMILTER_DKIMV_KEY_H
#define AUTHMILTER_DKIMV_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include "buf.h"

/* A record longer than this is refused: a 16384-bit RSA key is under 3 KB of
 * base64. The DNS message already bounds it; this bounds our copy. */
#define DKIMV_KEY_RECORD_MAX 8192

enum dkimv_key_type { DKIMV_KEY_RSA, DKIMV_KEY_ED25519, DKIMV_KEY_OTHER };

struct dkimv_key {
	enum dkimv_key_type type;
	char k[16];		/* k= as written ("rsa" when absent) */
	unsigned bits;		/* key size; 0 when revoked or unreadable */
	bool revoked;		/* p= empty (RFC 6376 3.6.1) */
	bool testing;		/* t=y */
	bool strict;		/* t=s: i= must equal d= */
	bool email_only;	/* s= names no "email" nor "*" */
};

/* false: not a usable key record; why says what is wrong */
bool dkimv_key_parse(const char *txt, struct dkimv_key *key, struct buf *why);
const char *dkimv_key_type_name(enum dkimv_key_type t);
/* the same, and the key for OpenSSL when usable (NULL pkey: not wanted) */
struct evp_pkey_st;
bool dkimv_key_parse_pkey(const char *txt, struct dkimv_key *key, struct evp_pkey_st **pkey,
			  struct buf *why);

#endif
