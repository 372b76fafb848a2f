/*
 * t_pkeycache - decoded public keys are shared by their exact bytes, never
 * confused, never kept when unreadable; d2i_PUBKEY_bio is ours for the
 * whole process (what libopendkim's calls reach) and behaves as
 * libcrypto's for memory and file BIOs.
 */
#include "testutil.h"
#include "../../lib/pkeycache.h"

#include <dlfcn.h>
#include <openssl/bio.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdbool.h>

/* der_of - a fresh RSA key's SubjectPublicKeyInfo (OPENSSL_free it) */
static int
der_of(unsigned char **der, EVP_PKEY **key)
{
	*key = EVP_RSA_gen(1024);
	ck_assert_ptr_nonnull(*key);
	*der = NULL;
	int len = i2d_PUBKEY(*key, der);
	ck_assert_int_gt(len, 0);
	return len;
}

static void
stats(unsigned long *h, unsigned long *m)
{
	pkeycache_stats(h, m);
}

START_TEST(test_same_bytes_same_key)
{
	unsigned char *der;
	EVP_PKEY *orig, *a, *b;
	unsigned long h0, m0, h1, m1;
	size_t used = 0;
	int len = der_of(&der, &orig);

	stats(&h0, &m0);
	a = pkeycache_decode(der, (size_t)len, &used);
	ck_assert_ptr_nonnull(a);
	ck_assert_uint_eq(used, (size_t)len);
	b = pkeycache_decode(der, (size_t)len, &used);
	ck_assert_ptr_eq(a, b);		/* the kept one, with a reference each */
	ck_assert_int_eq(EVP_PKEY_eq(a, orig), 1);
	stats(&h1, &m1);
	ck_assert_uint_eq(h1 - h0, 1);
	ck_assert_uint_eq(m1 - m0, 1);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
	EVP_PKEY_free(orig);
	OPENSSL_free(der);
}
END_TEST

/* a trailing byte: other bytes, another entry; used says where the key ended */
START_TEST(test_other_bytes_other_entry)
{
	unsigned char *der, *longer;
	EVP_PKEY *orig, *orig2, *a, *c;
	size_t used = 0;
	int len = der_of(&der, &orig);

	longer = malloc((size_t)len + 1);
	memcpy(longer, der, (size_t)len);
	longer[len] = 0x00;
	a = pkeycache_decode(der, (size_t)len, &used);
	c = pkeycache_decode(longer, (size_t)len + 1, &used);
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(used, (size_t)len);
	ck_assert_ptr_ne(a, c);
	EVP_PKEY_free(c);
	c = pkeycache_decode(longer, (size_t)len + 1, &used);	/* now kept */
	ck_assert_uint_eq(used, (size_t)len);
	EVP_PKEY_free(c);
	/* a different key of the same length is never handed out for this one */
	unsigned char *der2;
	int len2 = der_of(&der2, &orig2);
	c = pkeycache_decode(der2, (size_t)len2, &used);
	ck_assert_int_eq(EVP_PKEY_eq(c, orig2), 1);
	ck_assert_int_ne(EVP_PKEY_eq(c, orig), 1);
	EVP_PKEY_free(c);
	EVP_PKEY_free(a);
	EVP_PKEY_free(orig);
	EVP_PKEY_free(orig2);
	OPENSSL_free(der);
	OPENSSL_free(der2);
	free(longer);
}
END_TEST

START_TEST(test_garbage_not_kept)
{
	static const unsigned char junk[] = { 0x30, 0x82, 0x01, 0x22, 0x30, 0x0d, 0x06, 0x09, 0x2a };
	unsigned long h0, m0, h1, m1;
	size_t used = 99;

	stats(&h0, &m0);
	ck_assert_ptr_null(pkeycache_decode(junk, sizeof(junk), &used));
	ck_assert_ptr_null(pkeycache_decode(junk, sizeof(junk), &used));
	ck_assert_ptr_null(pkeycache_decode(junk, 0, &used));
	stats(&h1, &m1);
	ck_assert_uint_eq(h1 - h0, 0);
	ck_assert_uint_eq(m1 - m0, 2);
}
END_TEST

/* the process's d2i_PUBKEY_bio is this one: libopendkim's reference reaches it */
START_TEST(test_interposed)
{
	unsigned char *der;
	EVP_PKEY *orig, *a, *b, *reuse = NULL;
	unsigned long h0, m0, h1, m1;
	int len = der_of(&der, &orig);

	ck_assert_ptr_eq(dlsym(RTLD_DEFAULT, "d2i_PUBKEY_bio"), (void *)d2i_PUBKEY_bio);
	stats(&h0, &m0);
	BIO *mem = BIO_new_mem_buf(der, len);
	a = d2i_PUBKEY_bio(mem, NULL);
	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq((int)BIO_ctrl_pending(mem), 0);	/* the bytes were taken */
	BIO_free(mem);
	mem = BIO_new_mem_buf(der, len);
	b = d2i_PUBKEY_bio(mem, NULL);
	BIO_free(mem);
	ck_assert_ptr_eq(a, b);
	stats(&h1, &m1);
	ck_assert_uint_eq(h1 - h0, 1);
	ck_assert_uint_eq(m1 - m0, 1);
	/* with an object to reuse: decoded into it, as libcrypto does */
	mem = BIO_new_mem_buf(der, len);
	ck_assert_ptr_eq(d2i_PUBKEY_bio(mem, &reuse), reuse);
	ck_assert_int_eq(EVP_PKEY_eq(reuse, orig), 1);
	BIO_free(mem);
	/* a file BIO is read whole */
	char path[] = "/tmp/t_pkeycache.XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_eq(write(fd, der, (size_t)len), len);
	close(fd);
	BIO *file = BIO_new_file(path, "rb");
	EVP_PKEY *f = d2i_PUBKEY_bio(file, NULL);
	ck_assert_int_eq(EVP_PKEY_eq(f, orig), 1);
	BIO_free(file);
	unlink(path);
	/* an empty BIO: nothing */
	mem = BIO_new_mem_buf(der, 0);
	ck_assert_ptr_null(d2i_PUBKEY_bio(mem, NULL));
	BIO_free(mem);
	EVP_PKEY_free(f);
	EVP_PKEY_free(reuse);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
	EVP_PKEY_free(orig);
	OPENSSL_free(der);
}
END_TEST

/* threads verifying with shared keys: each gets the key of its bytes, and
 * verifies through the legacy RSA object, as libopendkim does */
#define N_KEYS 3
static unsigned char *tder[N_KEYS];
static int tlen[N_KEYS];
static EVP_PKEY *tkey[N_KEYS];
static unsigned char tsig[N_KEYS][512];
static size_t tsiglen[N_KEYS];
static unsigned char digest[SHA256_DIGEST_LENGTH];

/* sign - the digest with key k's private half */
static void
sign(int k)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(tkey[k], NULL);

	tsiglen[k] = sizeof(tsig[k]);
	ck_assert_int_eq(EVP_PKEY_sign_init(ctx), 1);
	ck_assert_int_eq(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING), 1);
	ck_assert_int_eq(EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()), 1);
	ck_assert_int_eq(EVP_PKEY_sign(ctx, tsig[k], &tsiglen[k], digest, sizeof(digest)), 1);
	EVP_PKEY_CTX_free(ctx);
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
/* verify_legacy - libopendkim's way: EVP_PKEY_get1_RSA, then RSA_verify */
static bool
verify_legacy(EVP_PKEY *p, int k)
{
	RSA *rsa = EVP_PKEY_get1_RSA(p);
	bool ok = rsa && RSA_verify(NID_sha256, digest, sizeof(digest), tsig[k],
				    (unsigned)tsiglen[k], rsa) == 1;
	RSA_free(rsa);
	return ok;
}
#pragma GCC diagnostic pop

static void *
hammer(void *arg)
{
	size_t used;

	for (int i = 0; i < 300; i++) {
		int k = (i + (int)(intptr_t)arg) % N_KEYS;
		EVP_PKEY *p = pkeycache_decode(tder[k], (size_t)tlen[k], &used);
		if (p == NULL || EVP_PKEY_eq(p, tkey[k]) != 1 || used != (size_t)tlen[k]
		    || !verify_legacy(p, k) || verify_legacy(p, (k + 1) % N_KEYS))
			return (void *)1;
		EVP_PKEY_free(p);
		if (i % 100 == 99)
			pkeycache_clear();	/* a key in use outlives its slot */
	}
	return NULL;
}

START_TEST(test_threads)
{
	pthread_t t[4];
	void *ret;

	SHA256((const unsigned char *)"message", 7, digest);
	for (int k = 0; k < N_KEYS; k++) {
		tlen[k] = der_of(&tder[k], &tkey[k]);
		sign(k);
	}
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, hammer, (void *)(intptr_t)i), 0);
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(pthread_join(t[i], &ret), 0);
		ck_assert_ptr_null(ret);
	}
	for (int k = 0; k < N_KEYS; k++) {
		EVP_PKEY_free(tkey[k]);
		OPENSSL_free(tder[k]);
	}
	pkeycache_clear();
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("pkeycache");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_same_bytes_same_key);
	tcase_add_test(tc, test_other_bytes_other_entry);
	tcase_add_test(tc, test_garbage_not_kept);
	tcase_add_test(tc, test_interposed);
	tcase_add_test(tc, test_threads);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
