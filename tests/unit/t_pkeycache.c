/*
 * t_pkeycache - decoded public keys are shared by their exact bytes, never
 * confused (two keys in one slot included), never kept when unreadable;
 * d2i_PUBKEY_bio is ours for the whole process, leaves a BIO as libcrypto's
 * does, and is what libopendkim's verification reaches.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* dlvsym */
#endif
#include "testutil.h"
#include "../../lib/pkeycache.h"

#include <dlfcn.h>
#include <opendkim/dkim.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
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
	unsigned long h0, m0, h1, m1;
	stats(&h0, &m0);
	c = pkeycache_decode(longer, (size_t)len + 1, &used);	/* now kept */
	stats(&h1, &m1);
	ck_assert_uint_eq(h1 - h0, 1);
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

/* two keys in one slot: each lookup gets its own key, the other's bytes a miss */
START_TEST(test_same_slot)
{
	unsigned char *der1, *der2, pad[2200];
	EVP_PKEY *k1, *k2, *p;
	int len1 = der_of(&der1, &k1), len2 = der_of(&der2, &k2);
	size_t n = 0, used, want = pkeycache_slot(der1, (size_t)len1);
	unsigned long h0, m0, h1, m1;

	/* key 2 with bytes after it (d2i_PUBKEY reads one object) until it lands there */
	memcpy(pad, der2, (size_t)len2);
	memset(pad + len2, 0, 64);
	for (size_t extra = 1; extra <= 64 && n == 0; extra++)
		for (int v = 0; v < 256 && n == 0; v++) {
			pad[len2 + extra - 1] = (unsigned char)v;
			if (pkeycache_slot(pad, (size_t)len2 + extra) == want)
				n = (size_t)len2 + extra;
		}
	ck_assert_uint_gt(n, 0);
	stats(&h0, &m0);
	for (int round = 0; round < 3; round++) {
		p = pkeycache_decode(der1, (size_t)len1, &used);
		ck_assert_int_eq(EVP_PKEY_eq(p, k1), 1);
		ck_assert_uint_eq(used, (size_t)len1);
		EVP_PKEY_free(p);
		p = pkeycache_decode(pad, n, &used);
		ck_assert_int_eq(EVP_PKEY_eq(p, k2), 1);
		ck_assert_uint_eq(used, (size_t)len2);
		EVP_PKEY_free(p);
	}
	stats(&h1, &m1);
	ck_assert_uint_eq(h1 - h0, 0);		/* they take the slot from each other */
	ck_assert_uint_eq(m1 - m0, 6);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	OPENSSL_free(der1);
	OPENSSL_free(der2);
}
END_TEST

/* ours and libcrypto's on the same input: the same key or none, the same bytes left */
typedef EVP_PKEY *d2i_bio_fn(BIO *, EVP_PKEY **);

static void
side_by_side(d2i_bio_fn *libcrypto, const unsigned char *d, int len, int preread, bool reuse)
{
	EVP_PKEY *got[2];
	int left[2];

	for (int which = 0; which < 2; which++) {
		BIO *b = BIO_new(BIO_s_mem());
		EVP_PKEY *a = reuse ? EVP_PKEY_new() : NULL;
		char skip[16];
		if (len > 0)
			ck_assert_int_eq(BIO_write(b, d, len), len);
		if (preread)
			ck_assert_int_eq(BIO_read(b, skip, preread), preread);
		got[which] = (which ? libcrypto : d2i_PUBKEY_bio)(b, reuse ? &a : NULL);
		if (reuse && got[which] == NULL)
			EVP_PKEY_free(a);
		left[which] = (int)BIO_ctrl_pending(b);
		BIO_free(b);
	}
	ck_assert_int_eq(got[0] != NULL, got[1] != NULL);
	if (got[0])
		ck_assert_int_eq(EVP_PKEY_eq(got[0], got[1]), 1);
	ck_assert_int_eq(left[0], left[1]);
	EVP_PKEY_free(got[0]);
	EVP_PKEY_free(got[1]);
}

START_TEST(test_as_libcrypto)
{
	d2i_bio_fn *libcrypto = (d2i_bio_fn *)dlvsym(RTLD_NEXT, "d2i_PUBKEY_bio", "OPENSSL_3.0.0");
	unsigned char *der, buf[4096];
	EVP_PKEY *k;
	int len = der_of(&der, &k);

	ck_assert_ptr_nonnull(libcrypto);
	ck_assert_ptr_ne((void *)libcrypto, (void *)d2i_PUBKEY_bio);
	side_by_side(libcrypto, der, len, 0, false);			/* exact */
	memcpy(buf, der, (size_t)len);
	memcpy(buf + len, "\x30\x03\x02\x01\x05", 5);
	side_by_side(libcrypto, buf, len + 5, 0, false);		/* another object after it */
	memcpy(buf, "XYZ", 3);
	memcpy(buf + 3, der, (size_t)len);
	side_by_side(libcrypto, buf, len + 3, 3, false);		/* partly read before */
	side_by_side(libcrypto, der, len - 1, 0, false);		/* cut */
	memcpy(buf, der, (size_t)len);
	buf[0] = 0x31;
	side_by_side(libcrypto, buf, len, 0, false);			/* garbage */
	side_by_side(libcrypto, der, 0, 0, false);			/* empty */
	side_by_side(libcrypto, der, len, 0, true);			/* an object to reuse */
	ck_assert_ptr_null(d2i_PUBKEY_bio(NULL, NULL));
	EVP_PKEY_free(k);
	OPENSSL_free(der);
}
END_TEST

/* libopendkim signs, then verifies twice with the key from a key file: the
 * second verification is a cache hit, and a signature by another key under
 * the same selector still fails */
static void
dkim_message(DKIM *d)
{
	static const char *const fields[] = { "From: a@example.com", "To: b@example.org",
					      "Subject: keys" };

	for (size_t i = 0; i < 3; i++)
		ck_assert_int_eq(dkim_header(d, (u_char *)fields[i], strlen(fields[i])), DKIM_STAT_OK);
	ck_assert_int_eq(dkim_eoh(d), DKIM_STAT_OK);
	ck_assert_int_eq(dkim_body(d, (u_char *)"hello\r\n", 7), DKIM_STAT_OK);
}

static void
dkim_sign_with(DKIM_LIB *lib, EVP_PKEY *key, char *sig, size_t size)
{
	BIO *pem = BIO_new(BIO_s_mem());
	char *text;
	DKIM_STAT st;

	ck_assert_int_eq(PEM_write_bio_PrivateKey(pem, key, NULL, NULL, 0, NULL, NULL), 1);
	long n = BIO_get_mem_data(pem, &text);
	char *copy = malloc((size_t)n + 1);	/* the BIO's bytes end with no NUL */

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, text, (size_t)n);
	copy[n] = '\0';
	DKIM *d = dkim_sign(lib, (u_char *)"t", NULL, (dkim_sigkey_t)copy, (u_char *)"sel",
			    (u_char *)"example.com", DKIM_CANON_RELAXED, DKIM_CANON_RELAXED,
			    DKIM_SIGN_RSASHA256, -1, &st);
	ck_assert_ptr_nonnull(d);
	dkim_message(d);
	ck_assert_int_eq(dkim_eom(d, NULL), DKIM_STAT_OK);
	snprintf(sig, size, "DKIM-Signature: ");
	ck_assert_int_eq(dkim_getsighdr(d, (u_char *)sig + 16, size - 16, 16), DKIM_STAT_OK);
	dkim_free(d);
	free(copy);
	BIO_free(pem);
}

static DKIM_STAT
dkim_check(DKIM_LIB *lib, const char *sig)
{
	DKIM_STAT st;
	DKIM *d = dkim_verify(lib, (u_char *)"t", NULL, &st);

	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(dkim_header(d, (u_char *)sig, strlen(sig)), DKIM_STAT_OK);
	dkim_message(d);
	st = dkim_eom(d, NULL);
	dkim_free(d);
	return st;
}

START_TEST(test_through_libopendkim)
{
	EVP_PKEY *key = EVP_RSA_gen(2048), *other = EVP_RSA_gen(2048);
	unsigned char *der = NULL;
	int len = i2d_PUBKEY(key, &der);
	char b64[1024], keys[] = "/tmp/t_pkeycache_keys.XXXXXX", good[4096], bad[4096];
	unsigned long h0, m0, h1, m1;
	dkim_query_t method = DKIM_QUERY_FILE;
	DKIM_LIB *lib = dkim_init(NULL, NULL);

	ck_assert_int_gt(EVP_EncodeBlock((unsigned char *)b64, der, len), 0);
	int fd = mkstemp(keys);
	FILE *fp = fdopen(fd, "w");
	fprintf(fp, "sel._domainkey.example.com v=DKIM1; k=rsa; p=%s\n", b64);
	fclose(fp);
	ck_assert_int_eq(dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_QUERYMETHOD, &method,
				      sizeof(method)), DKIM_STAT_OK);
	ck_assert_int_eq(dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_QUERYINFO, keys,
				      strlen(keys)), DKIM_STAT_OK);
	dkim_sign_with(lib, key, good, sizeof(good));
	dkim_sign_with(lib, other, bad, sizeof(bad));
	stats(&h0, &m0);
	ck_assert_int_eq(dkim_check(lib, good), DKIM_STAT_OK);
	ck_assert_int_eq(dkim_check(lib, good), DKIM_STAT_OK);
	ck_assert_int_ne(dkim_check(lib, bad), DKIM_STAT_OK);
	stats(&h1, &m1);
	ck_assert_uint_eq(m1 - m0, 1);		/* decoded once */
	ck_assert_uint_eq(h1 - h0, 2);		/* the second good and the bad one */
	unlink(keys);
	dkim_close(lib);
	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
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
		bool ok = p && EVP_PKEY_eq(p, tkey[k]) == 1 && used == (size_t)tlen[k]
			  && verify_legacy(p, k) && !verify_legacy(p, (k + 1) % N_KEYS);
		EVP_PKEY_free(p);
		if (!ok)
			return (void *)1;
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
	tcase_add_test(tc, test_same_slot);
	tcase_add_test(tc, test_as_libcrypto);
	tcase_add_test(tc, test_through_libopendkim);
	tcase_add_test(tc, test_threads);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
