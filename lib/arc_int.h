/*
 * arc_int - what the lib/arc_*.c files share and nothing else sees: the
 * tag-list reader, canonicalization, keys and signatures, the message store.
 */
#ifndef AUTHMILTER_ARC_INT_H
#define AUTHMILTER_ARC_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>
#include "arc.h"

#define ARC_MAX_TAGS 32		/* a seal has 7, a message signature about 10 */
#define ARC_MAX_H 256		/* names in one h= (each costs a lookup) */
#define ARC_MAX_B64 2048	/* b= of a 16384-bit RSA signature, with slack */
#define ARC_SHA256_LEN 32

/* One tag of a tag-list (RFC 6376 3.2), pointing into the field value. */
struct arc_tag {
	const char *name, *value;
	size_t name_len, value_len;
	size_t raw_start, raw_end;	/* value offsets in the field, spaces included */
};

struct arc_tags {
	struct arc_tag t[ARC_MAX_TAGS];
	size_t n;
};

enum arc_canon { ARC_CANON_SIMPLE, ARC_CANON_RELAXED };

/* arc_parse.c */
bool arc_tags_parse(const char *v, size_t len, struct arc_tags *out, const char **why);
const struct arc_tag *arc_tag_get(const struct arc_tags *tags, const char *name);
bool arc_tag_is(const struct arc_tag *t, const char *value);
bool arc_instance_parse(const char *s, size_t len, unsigned *out);
unsigned arc_aar_instance(const char *v, size_t len);
bool arc_domain_ok(const struct arc_tag *t);
bool arc_canon_parse(const struct arc_tag *c, enum arc_canon *header, enum arc_canon *body);

/* arc_canon.c */

/* header field "name:value" canonicalized, with CRLF when crlf; blank_start..
 * blank_end of value (b=) left out when blank_end > blank_start */
void arc_canon_header(struct buf *out, enum arc_canon c, const char *name, size_t name_len,
		      const char *value, size_t len, size_t blank_start, size_t blank_end,
		      bool crlf);

/* A streaming body hash (RFC 6376 3.4.3, 3.4.4) with an optional l= limit. */
struct arc_bodyhash {
	enum arc_canon canon;
	bool limited;
	unsigned long long limit, hashed;
	EVP_MD_CTX *md;
	unsigned empty_lines;	/* CRLFs held back: trailing ones are dropped */
	bool line_content, wsp, cr, any;
	unsigned char out[256];
	size_t n_out;
	unsigned char digest[ARC_SHA256_LEN];
	bool done;
};

void arc_bodyhash_init(struct arc_bodyhash *h, enum arc_canon c, bool limited,
		       unsigned long long limit);
void arc_bodyhash_update(struct arc_bodyhash *h, const unsigned char *p, size_t len);
void arc_bodyhash_final(struct arc_bodyhash *h);
void arc_bodyhash_free(struct arc_bodyhash *h);

/* arc_key.c */
enum arc_alg { ARC_ALG_RSA_SHA256, ARC_ALG_ED25519_SHA256, ARC_ALG_UNKNOWN };
enum arc_alg arc_alg_parse(const struct arc_tag *a);

enum arc_keyres { ARC_KEY_OK, ARC_KEY_TEMPFAIL, ARC_KEY_BAD };

/* keys already fetched for one message, by lookup name */
struct arc_keycache {
	struct arc_cached_key {
		char *name;
		enum arc_alg alg;
		enum arc_keyres res;
		EVP_PKEY *pkey;		/* NULL unless ARC_KEY_OK */
		const char *why;
	} *k;
	size_t n;
};

enum arc_keyres arc_key_fetch(struct arc_keycache *kc, struct dns *dns, unsigned min_bits,
			      const struct arc_tag *d, const struct arc_tag *s, enum arc_alg alg,
			      EVP_PKEY **pkey, const char **why);
void arc_keycache_free(struct arc_keycache *kc);
/* verify b (raw signature bytes) over a SHA-256 digest of the signed data */
bool arc_sig_verify(EVP_PKEY *pk, enum arc_alg alg, const unsigned char *digest,
		    const unsigned char *sig, size_t sig_len);
/* sign a SHA-256 digest; base64 of the signature into out */
bool arc_sig_sign(const struct arc_key *k, const unsigned char *digest, struct buf *out);

/* arc_seal.c */
const char *arc_sign_headers(const struct arc_settings *set);

/* arc_verify.c: the message as fed */
/* 32-bit offsets: the index costs 16 bytes a field, which matters when a
 * header is 170,000 fields of a few bytes; arc_header refuses a header
 * that would not fit */
struct arc_hdr {
	uint32_t name_off, name_len, value_off, value_len;	/* in arc_msg.raw */
};

enum arc_kind { ARC_KIND_AAR, ARC_KIND_AMS, ARC_KIND_AS, ARC_KINDS };

#define ARC_NO_FIELD ((size_t)-1)
#define ARC_DUP_FIELD ((size_t)-2)

struct arc_msg {
	struct arc_settings set;
	struct buf raw;			/* every header name and value, back to back */
	struct arc_hdr *hdrs;
	size_t n_hdrs, cap_hdrs;
	uint32_t *sorted;		/* header indexes by name, then position */
	bool sorted_done;
	/* [instance - 1][kind]: header index, ARC_NO_FIELD or ARC_DUP_FIELD */
	size_t sets[ARC_MAX_INSTANCES][ARC_KINDS];
	unsigned highest;		/* the highest valid i= seen */
	size_t n_arc_fields;		/* every ARC field, kept or not */
	const char *structure;		/* static: why the fields are no chain, or NULL */
	const char *unreadable;		/* static: a field could not be read */
	bool eoh;
	/* body hashes: the newest AMS's, older ones' (oldest-pass), the seal's */
	struct arc_bodyhash *bh;
	size_t n_bh;
	size_t ams_bh[ARC_MAX_INSTANCES];	/* body hash of each AMS, or ARC_NO_FIELD */
	size_t seal_bh;
	struct arc_keycache keys;
	const char *detail;		/* static: why the last key could not be used */
};

/* select the fields h= names, bottom up; out gets header indexes (ARC_NO_FIELD: absent) */
bool arc_select_headers(struct arc_msg *m, const char *h, size_t h_len, size_t *out,
			size_t *n_out, const char **why);
size_t arc_count_headers(struct arc_msg *m, const char *name, size_t len);
/* SHA-256 over the h= fields then the signature field itself (b= blanked) */
void arc_hash_signed(struct arc_msg *m, enum arc_canon c, const size_t *sel, size_t n_sel,
		     const char *sig_name, size_t sig_name_len, const char *sig_value, size_t sig_len,
		     const struct arc_tag *b, unsigned char digest[ARC_SHA256_LEN]);

#endif
