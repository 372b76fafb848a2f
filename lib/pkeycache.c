/*
 * pkeycache - decoded public keys, kept by their DER bytes; see pkeycache.h.
 *
 * A direct-mapped table: a key goes to the slot its bytes hash to, and
 * takes it from whatever key was there. Lookups compare the bytes in full,
 * so a collision costs a decode, never a wrong key. Records that OpenSSL
 * cannot read are not kept: they are decoded (and refused) every time, as
 * before. Decoding runs outside the lock.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* dlvsym */
#endif
#include "pkeycache.h"
#include "buf.h"

#include <dlfcn.h>
#include <openssl/bio.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PKEYCACHE_SLOTS 1024
/* larger: decoded, never kept. RSA-16384, the most OpenSSL verifies, is
 * about 2,080 bytes (RSA-2048: 294): a sender cannot fill the table with
 * keys of tens of kilobytes */
#define PKEYCACHE_MAX_DER 2100

struct slot {
	unsigned char *der;
	size_t len, used;
	EVP_PKEY *pkey;
};

static struct slot slots[PKEYCACHE_SLOTS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long hits, misses;

/* slot_of - where these bytes live */
static struct slot *
slot_of(const unsigned char *der, size_t len)
{
	size_t h = 5381u;

	for (size_t i = 0; i < len; i++)
		h = h * 33u ^ der[i];
	return &slots[h % PKEYCACHE_SLOTS];
}

/* lookup - a new reference to the key kept for exactly these bytes, or NULL */
static EVP_PKEY *
lookup(struct slot *s, const unsigned char *der, size_t len, size_t *used)
{
	EVP_PKEY *pk = NULL;

	pthread_mutex_lock(&lock);
	if (s->pkey && s->len == len && memcmp(s->der, der, len) == 0 && EVP_PKEY_up_ref(s->pkey)) {
		pk = s->pkey;
		*used = s->used;
		hits++;
	} else {
		misses++;
	}
	pthread_mutex_unlock(&lock);
	return pk;
}

/* keep - the slot takes a reference to pk; the key it held goes */
static void
keep(struct slot *s, const unsigned char *der, size_t len, size_t used, EVP_PKEY *pk)
{
	struct slot old;

	if (!EVP_PKEY_up_ref(pk))
		return;
	unsigned char *copy = xmalloc(len);
	memcpy(copy, der, len);
	pthread_mutex_lock(&lock);
	old = *s;
	*s = (struct slot){ copy, len, used, pk };
	pthread_mutex_unlock(&lock);
	free(old.der);
	EVP_PKEY_free(old.pkey);
}

EVP_PKEY *
pkeycache_decode(const unsigned char *der, size_t len, size_t *used)
{
	bool keepable = len > 0 && len <= PKEYCACHE_MAX_DER;
	struct slot *s = keepable ? slot_of(der, len) : NULL;
	const unsigned char *p = der;
	EVP_PKEY *pk;

	if (keepable && (pk = lookup(s, der, len, used)) != NULL)
		return pk;
	pk = d2i_PUBKEY(NULL, &p, (long)len);
	if (pk == NULL)
		return NULL;
	*used = (size_t)(p - der);
	if (keepable)
		keep(s, der, len, *used, pk);
	return pk;
}

void
pkeycache_stats(unsigned long *hit_count, unsigned long *miss_count)
{
	pthread_mutex_lock(&lock);
	*hit_count = hits;
	*miss_count = misses;
	pthread_mutex_unlock(&lock);
}

void
pkeycache_clear(void)
{
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < PKEYCACHE_SLOTS; i++) {
		free(slots[i].der);
		EVP_PKEY_free(slots[i].pkey);
		slots[i] = (struct slot){ 0 };
	}
	pthread_mutex_unlock(&lock);
}

size_t
pkeycache_slot(const unsigned char *der, size_t len)
{
	return (size_t)(slot_of(der, len) - slots);
}

/* libcrypto's d2i_PUBKEY_bio, behind ours */
typedef EVP_PKEY *d2i_bio_fn(BIO *, EVP_PKEY **);
static d2i_bio_fn *libcrypto_d2i;
static pthread_once_t libcrypto_once = PTHREAD_ONCE_INIT;

static void
find_libcrypto_d2i(void)
{
	void *fn = dlvsym(RTLD_NEXT, "d2i_PUBKEY_bio", "OPENSSL_3.0.0");

	if (fn == NULL)
		fn = dlsym(RTLD_NEXT, "d2i_PUBKEY_bio");
	libcrypto_d2i = (d2i_bio_fn *)fn;
}

/*
 * d2i_PUBKEY_bio - libcrypto's, in its place for libopendkim (see
 * pkeycache.h). The one call libopendkim makes, a memory BIO and no object
 * to reuse, is answered from the cache and loses the bytes the key took,
 * as with libcrypto's; every other call, and bytes that do not decode, go
 * to libcrypto's own, so its behaviour (what it reads, its errors) stays.
 */
EVP_PKEY *
d2i_PUBKEY_bio(BIO *bp, EVP_PKEY **a)
{
	char *data = NULL;
	long len;
	size_t used = 0;
	EVP_PKEY *pk;

	if (bp != NULL && a == NULL && BIO_method_type(bp) == BIO_TYPE_MEM
	    && (len = BIO_get_mem_data(bp, &data)) > 0 && data != NULL
	    && (pk = pkeycache_decode((const unsigned char *)data, (size_t)len, &used)) != NULL) {
		char sink[256];
		for (size_t left = used; left > 0;) {
			int n = BIO_read(bp, sink, (int)(left < sizeof(sink) ? left : sizeof(sink)));
			if (n <= 0)
				break;
			left -= (size_t)n;
		}
		return pk;
	}
	pthread_once(&libcrypto_once, find_libcrypto_d2i);
	return libcrypto_d2i ? libcrypto_d2i(bp, a) : NULL;
}
