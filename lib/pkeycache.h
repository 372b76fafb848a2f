/*
 * pkeycache - public keys from DNS key records (DER, as p= carries them),
 * decoded once per process and shared.
 *
 * Decoding DER with OpenSSL 3 goes through its decoder framework under
 * global locks and costs more than the RSA verification that follows:
 * libopendkim decodes the key of every signature of every message, which
 * was 22% of the daemon's CPU in the bench. The keys of the domains that
 * mail us repeat, so each decoded key is kept, found again by its exact
 * bytes, and handed out with a reference of its own.
 *
 * libopendkim is a shared library we do not build: pkeycache.c defines
 * d2i_PUBKEY_bio, which takes the place of libcrypto's for it (a program's
 * own symbols come first in the dynamic linker's search, and the link
 * exports this one because libopendkim refers to it). It answers from the
 * cache for the memory BIO libopendkim makes of the record; every other
 * call goes on to libcrypto's own.
 */
#ifndef AUTHMILTER_PKEYCACHE_H
#define AUTHMILTER_PKEYCACHE_H

#include <stddef.h>
#include <openssl/evp.h>

/*
 * pkeycache_decode - the SubjectPublicKeyInfo at the start of der, as
 * d2i_PUBKEY reads it; *used: its length. A new reference (EVP_PKEY_free
 * it), or NULL when OpenSSL cannot read it (never cached).
 */
EVP_PKEY *pkeycache_decode(const unsigned char *der, size_t len, size_t *used);

/* the table slot these bytes go to (tests make two keys share one) */
size_t pkeycache_slot(const unsigned char *der, size_t len);

/* counters since the start, for tests and the bench */
void pkeycache_stats(unsigned long *hits, unsigned long *misses);

/* drop every kept key (at exit, so leak checkers see nothing held) */
void pkeycache_clear(void);

#endif
