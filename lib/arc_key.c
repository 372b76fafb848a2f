/*
 * arc_key - keys and signatures: public keys from DNS (the DKIM key record
 * at SELECTOR._domainkey.DOMAIN, read by lib/dkimv_key), the sealer's
 * private key from a PEM file, and RSA-SHA256 / Ed25519-SHA256 (RFC 8463:
 * Ed25519 signs the SHA-256 digest) over a digest computed by the caller.
 *
 * A key lookup that fails temporarily is a temperror for the chain; a
 * missing, revoked, unreadable, mismatched or too small key fails the
 * signature (RFC 8617 5.2: a seal or signature that cannot be verified is a
 * failed one; the ValiMail suite agrees, public_key_na is cv=fail).
 */
#include "arc_int.h"
#include "b64.h"
#include "dkimv_key.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

struct arc_key {
	EVP_PKEY *pkey;
	enum arc_alg alg;
};

/* arc_alg_parse - a= */
enum arc_alg
arc_alg_parse(const struct arc_tag *a)
{
	if (arc_tag_is(a, "rsa-sha256"))
		return ARC_ALG_RSA_SHA256;
	if (arc_tag_is(a, "ed25519-sha256"))
		return ARC_ALG_ED25519_SHA256;
	return ARC_ALG_UNKNOWN;
}

/* lookup - one DNS lookup and reading of a key record into the cache entry */
static void
lookup(struct arc_cached_key *ck, struct dns *dns, unsigned min_bits, enum arc_alg alg)
{
	struct dns_result res;
	char **txt = NULL;
	size_t n;
	struct buf why;

	dns_query(dns, ck->name, LDNS_RR_TYPE_TXT, &res);
	if (res.status == DNS_TEMPFAIL) {
		ck->res = ARC_KEY_TEMPFAIL;
		ck->why = "key lookup failed temporarily";
		dns_result_free(&res);
		return;
	}
	ck->res = ARC_KEY_BAD;
	ck->why = "no key record";
	n = res.status == DNS_ANSWER ? dns_txt_strings(&res, &txt) : 0;
	buf_init(&why);
	for (size_t i = 0; i < n && ck->pkey == NULL; i++) {
		struct dkimv_key key;
		EVP_PKEY *pk = NULL;
		if (!dkimv_key_parse_pkey(txt[i], &key, &pk, &why)) {
			ck->why = "unusable key record";
		} else if (key.revoked) {
			ck->why = "key revoked";
		} else if ((alg == ARC_ALG_RSA_SHA256) != (key.type == DKIMV_KEY_RSA)) {
			ck->why = "key type does not match a=";
		} else if (key.type == DKIMV_KEY_RSA && key.bits < min_bits) {
			ck->why = "key too small";
		} else {
			ck->pkey = pk, pk = NULL;
			ck->res = ARC_KEY_OK;
			ck->why = NULL;
		}
		EVP_PKEY_free(pk);
	}
	buf_free(&why);
	dns_strings_free(txt, n);
	dns_result_free(&res);
}

/* arc_key_fetch - the key of d= and s= for a= (cached per message) */
enum arc_keyres
arc_key_fetch(struct arc_keycache *kc, struct dns *dns, unsigned min_bits,
	      const struct arc_tag *d, const struct arc_tag *s, enum arc_alg alg,
	      EVP_PKEY **pkey, const char **why)
{
	struct buf name;
	struct arc_cached_key *ck = NULL;

	buf_init(&name);
	buf_printf(&name, "%.*s._domainkey.%.*s", (int)s->value_len, s->value,
		   (int)d->value_len, d->value);
	for (size_t i = 0; i < kc->n && ck == NULL; i++)
		if (kc->k[i].alg == alg && strcmp(kc->k[i].name, name.data) == 0)
			ck = &kc->k[i];
	if (ck == NULL) {
		kc->k = xrealloc(kc->k, (kc->n + 1) * sizeof(*kc->k));
		ck = &kc->k[kc->n++];
		memset(ck, 0, sizeof(*ck));
		ck->name = buf_steal(&name);
		ck->alg = alg;
		if (strlen(ck->name) > DNS_MAX_NAME)
			ck->res = ARC_KEY_BAD, ck->why = "key name too long";
		else
			lookup(ck, dns, min_bits, alg);
	}
	buf_free(&name);
	*pkey = ck->pkey;
	*why = ck->why;
	return ck->res;
}

void
arc_keycache_free(struct arc_keycache *kc)
{
	for (size_t i = 0; i < kc->n; i++) {
		free(kc->k[i].name);
		EVP_PKEY_free(kc->k[i].pkey);
	}
	free(kc->k);
	kc->k = NULL;
	kc->n = 0;
}

/* arc_sig_verify - see arc_int.h */
bool
arc_sig_verify(EVP_PKEY *pk, enum arc_alg alg, const unsigned char *digest,
	       const unsigned char *sig, size_t sig_len)
{
	bool ok = false;

	if (alg == ARC_ALG_RSA_SHA256) {
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pk, NULL);
		ok = ctx && EVP_PKEY_verify_init(ctx) > 0
		     && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0
		     && EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) > 0
		     && EVP_PKEY_verify(ctx, sig, sig_len, digest, ARC_SHA256_LEN) == 1;
		EVP_PKEY_CTX_free(ctx);
	} else if (alg == ARC_ALG_ED25519_SHA256) {
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		ok = md && EVP_DigestVerifyInit(md, NULL, NULL, NULL, pk) > 0
		     && EVP_DigestVerify(md, sig, sig_len, digest, ARC_SHA256_LEN) == 1;
		EVP_MD_CTX_free(md);
	}
	return ok;
}

/* arc_sig_sign - see arc_int.h */
bool
arc_sig_sign(const struct arc_key *k, const unsigned char *digest, struct buf *out)
{
	unsigned char *sig;
	size_t len = (size_t)EVP_PKEY_get_size(k->pkey);
	bool ok;

	sig = xmalloc(len + 1);
	if (k->alg == ARC_ALG_RSA_SHA256) {
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(k->pkey, NULL);
		ok = ctx && EVP_PKEY_sign_init(ctx) > 0
		     && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0
		     && EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) > 0
		     && EVP_PKEY_sign(ctx, sig, &len, digest, ARC_SHA256_LEN) > 0;
		EVP_PKEY_CTX_free(ctx);
	} else {
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		ok = md && EVP_DigestSignInit(md, NULL, NULL, NULL, k->pkey) > 0
		     && EVP_DigestSign(md, sig, &len, digest, ARC_SHA256_LEN) > 0;
		EVP_MD_CTX_free(md);
	}
	if (ok)
		b64_encode(sig, len, out);
	free(sig);
	return ok;
}

/* arc_key_load - a PEM private key, RSA (at least 1024 bits) or Ed25519 */
struct arc_key *
arc_key_load(const char *path, struct buf *why)
{
	FILE *fp = fopen(path, "r");
	EVP_PKEY *pk;
	struct arc_key *k;

	if (fp == NULL) {
		buf_printf(why, "%s: cannot open the key file", path);
		return NULL;
	}
	pk = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	if (pk == NULL) {
		buf_printf(why, "%s: not a PEM private key", path);
		return NULL;
	}
	if (EVP_PKEY_base_id(pk) != EVP_PKEY_RSA && EVP_PKEY_base_id(pk) != EVP_PKEY_ED25519) {
		buf_printf(why, "%s: not an RSA or Ed25519 key", path);
		EVP_PKEY_free(pk);
		return NULL;
	}
	if (EVP_PKEY_base_id(pk) == EVP_PKEY_RSA && EVP_PKEY_get_bits(pk) < 1024) {
		buf_printf(why, "%s: RSA key of %d bits (at least 1024 needed)", path,
			   EVP_PKEY_get_bits(pk));
		EVP_PKEY_free(pk);
		return NULL;
	}
	k = xcalloc(1, sizeof(*k));
	k->pkey = pk;
	k->alg = EVP_PKEY_base_id(pk) == EVP_PKEY_RSA ? ARC_ALG_RSA_SHA256 : ARC_ALG_ED25519_SHA256;
	return k;
}

void
arc_key_free(struct arc_key *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

/* arc_key_algorithm - a= for this key */
const char *
arc_key_algorithm(const struct arc_key *k)
{
	return k->alg == ARC_ALG_RSA_SHA256 ? "rsa-sha256" : "ed25519-sha256";
}
