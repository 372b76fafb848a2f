/*
 * t_arc - lib/arc: tag-list edge cases, canonicalization vectors, chain
 * structure, bounds (1,000 sets, a 1 MB seal: bounded time), and seal then
 * verify round trips (RSA and Ed25519, three hops, tampering, oldest-pass)
 * with keys served by ldns-testns from a datafile written at start.
 */
#include "testutil.h"
#include "../../lib/arc.h"
#include "../../lib/arc_int.h"
#include "../../lib/b64.h"
#include "../../lib/dkimv_key.h"

#include <openssl/pem.h>
#include <openssl/x509.h>

static struct testns ns;
static struct dns dns;
static struct dns_server server;
static char datafile[] = "/tmp/t_arc_XXXXXX";
static char ed_pem[] = "/tmp/t_arc_ed_XXXXXX";	/* an Ed25519 key made at start */

/* ---------- helpers ---------- */

/* feed - a message text (LF or CRLF lines) into m: fields, eoh, body */
static void
feed(struct arc_msg *m, const char *text)
{
	const char *p = text;

	while (*p && *p != '\n' && !(p[0] == '\r' && p[1] == '\n')) {
		const char *start = p, *colon;
		char name[256];
		do {
			const char *nl = strchr(p, '\n');
			p = nl ? nl + 1 : p + strlen(p);
		} while (*p == ' ' || *p == '\t');
		colon = memchr(start, ':', (size_t)(p - start));
		ck_assert_ptr_nonnull(colon);
		snprintf(name, sizeof(name), "%.*s", (int)(colon - start), start);
		size_t len = (size_t)(p - colon - 1);
		while (len > 0 && (colon[len] == '\n' || colon[len] == '\r'))
			len--;
		arc_header(m, name, colon + 1, len);
	}
	arc_eoh(m);
	if (*p == '\r')
		p++;
	if (*p == '\n')
		p++;
	if (arc_wants_body(m))
		arc_body(m, p, strlen(p));
}

static struct arc_msg *
new_msg(bool sealing)
{
	struct arc_settings set = { .dns = &dns, .min_key_bits = 1024, .sealing = sealing };
	return arc_begin(&set);
}

/* verify_text - the chain of a message text */
static void
verify_text(const char *text, struct arc_chain *c)
{
	struct arc_msg *m = new_msg(false);

	feed(m, text);
	arc_verify(m, c);
	arc_free(m);
}

static char *
reason(const struct arc_chain *c)
{
	struct buf b;

	buf_init(&b);
	arc_chain_reason(c, &b);
	return buf_steal(&b);
}

static struct arc_key *
load_key(const char *rel)
{
	struct buf why;
	struct arc_key *k;

	buf_init(&why);
	k = arc_key_load(rel[0] == '/' ? rel : test_path(rel), &why);
	ck_assert_msg(k != NULL, "%s", why.data);
	buf_free(&why);
	return k;
}

/* seal_text - the message with this hop's set on top; chain: what to seal over */
static char *
seal_text(const char *text, const struct arc_chain *chain_in, const struct arc_key *key,
	  const char *selector, struct arc_chain *found)
{
	struct arc_msg *m = new_msg(true);
	struct arc_chain c;
	struct verdict_field f[3];
	struct arc_seal_request req = {
		.domain = "seal.test", .selector = selector, .key = key, .authserv_id = "mx.test",
		.results = "spf=pass smtp.mailfrom=a@example.com", .now = 1700000000,
	};
	const char *why = NULL;
	struct buf out;

	feed(m, text);
	arc_verify(m, &c);
	if (found)
		*found = c;
	ck_assert_msg(arc_seal(m, chain_in ? chain_in : &c, &req, f, &why), "no seal: %s", why);
	buf_init(&out);
	for (int i = 2; i >= 0; i--) {
		buf_printf(&out, "%s: %s\r\n", f[i].name, f[i].value);
		free(f[i].name);
		free(f[i].value);
	}
	buf_adds(&out, text);
	if (found == NULL)
		arc_chain_free(&c);
	arc_free(m);
	return buf_steal(&out);
}

static const char base_msg[] =
	"From: Alice <alice@example.com>\r\n"
	"To: bob@example.net\r\n"
	"Subject: hello   there\r\n"
	"Date: Thu, 14 Jan 2015 15:00:01 -0800\r\n"
	"Message-ID: <1@example.com>\r\n"
	"\r\n"
	"Hey  gang,\r\n"
	"This is a test message.\r\n\r\n\r\n";

/* ---------- parse ---------- */

static const struct { const char *v; bool ok; size_t n; } tag_lists[] = {
	{ "a=1; b=2", true, 2 },
	{ "a=1; b=2;", true, 2 },
	{ " a = 1 ;\r\n\tb=2 x", true, 2 },
	{ "", true, 0 },
	{ "a=1;; b=2", false, 0 },
	{ ";a=1", false, 0 },
	{ "a=1; a=2", false, 0 },
	{ "1a=1", false, 0 },
	{ "a-b=1", false, 0 },
	{ "a", false, 0 },
	{ "a=\x01", false, 0 },
	{ "A=1; a=2", true, 2 },	/* names are case-sensitive: two tags */
};

START_TEST(test_tags)
{
	struct arc_tags t;
	const char *why = NULL;
	bool ok = arc_tags_parse(tag_lists[_i].v, strlen(tag_lists[_i].v), &t, &why);

	ck_assert_msg(ok == tag_lists[_i].ok, "\"%s\": %s", tag_lists[_i].v, why ? why : "ok");
	if (ok)
		ck_assert_uint_eq(t.n, tag_lists[_i].n);
}
END_TEST

START_TEST(test_tag_values)
{
	static const char v[] = " i=2 ;  b = ab\r\n cd ; bh=x";
	struct arc_tags t;
	const char *why;
	const struct arc_tag *b;

	ck_assert(arc_tags_parse(v, strlen(v), &t, &why));
	b = arc_tag_get(&t, "b");
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(b->value_len, 7);
	ck_assert(memcmp(b->value, "ab\r\n cd", 7) == 0);
	ck_assert_int_eq(v[b->raw_end], ';');
	ck_assert_int_eq(v[b->raw_start - 1], '=');
	ck_assert(arc_tag_is(arc_tag_get(&t, "i"), "2"));
	ck_assert_ptr_null(arc_tag_get(&t, "I"));
}
END_TEST

START_TEST(test_instances)
{
	unsigned n;

	ck_assert(arc_instance_parse("1", 1, &n) && n == 1);
	ck_assert(arc_instance_parse("050", 3, &n) && n == 50);
	ck_assert(arc_instance_parse("51", 2, &n) && n == ARC_MAX_INSTANCES + 1);
	ck_assert(arc_instance_parse("99999999999999999999", 20, &n) && n == ARC_MAX_INSTANCES + 1);
	ck_assert(!arc_instance_parse("0", 1, &n));
	ck_assert(!arc_instance_parse("", 0, &n));
	ck_assert(!arc_instance_parse("+1", 2, &n));
	ck_assert_uint_eq(arc_aar_instance(" i = 3 ; mx.test; none", 22), 3);
	ck_assert_uint_eq(arc_aar_instance("i=3 mx.test", 11), 0);
	ck_assert_uint_eq(arc_aar_instance("mx.test; i=3;", 13), 0);
	ck_assert_uint_eq(arc_aar_instance("i=;", 3), 0);
}
END_TEST

START_TEST(test_base64)
{
	struct buf b;

	buf_init(&b);
	ck_assert(b64_decode("aGVs\r\n bG8=", 11, &b) && b.len == 5 && memcmp(b.data, "hello", 5) == 0);
	ck_assert(!b64_decode("aGVsbG8", 7, &b));
	ck_assert(!b64_decode("aG=sbG8=", 8, &b));
	ck_assert(!b64_decode("", 0, &b));
	ck_assert(!b64_decode("a*==", 4, &b));
	buf_free(&b);
}
END_TEST

/* key records go through lib/dkimv_key, on the same base64 decoder */
static const struct { const char *txt; bool ok; const char *why; } key_records[] = {
	{ "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", true, "" },
	{ "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7Ty\r\n WQHOg7hcvPapiMlrwIaaPcHURo=", true, "" },
	{ "v=DKIM1; p=", true, "" },	/* revoked: readable, no key */
	{ "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHUQ==", false,
	  "an ed25519 key is 32 bytes, p= has 31" },
	{ "v=DKIM1; k=rsa; p=aG=sbG8=", false, "p= is not valid base64" },
	{ "v=DKIM1; k=rsa; p=====", false, "p= is not valid base64" },
	{ "v=DKIM1; k=rsa; p=aGVsbG8=", false, "p= is not a public key OpenSSL can read" },
};

START_TEST(test_key_records)
{
	struct dkimv_key key;
	struct buf why;

	buf_init(&why);
	ck_assert_msg(dkimv_key_parse(key_records[_i].txt, &key, &why) == key_records[_i].ok,
		      "%s: %s", key_records[_i].txt, why.data ? why.data : "ok");
	ck_assert_str_eq(why.data ? why.data : "", key_records[_i].why);
	buf_free(&why);
}
END_TEST

/* ---------- canonicalization ---------- */

/* c= as the AMS check and the body hash both read it (one reader) */
static const struct { const char *c; bool ok; enum arc_canon h, b; } canons[] = {
	{ NULL, true, ARC_CANON_SIMPLE, ARC_CANON_SIMPLE },
	{ "relaxed", true, ARC_CANON_RELAXED, ARC_CANON_SIMPLE },
	{ "simple/relaxed", true, ARC_CANON_SIMPLE, ARC_CANON_RELAXED },
	{ "relaxed/relaxed", true, ARC_CANON_RELAXED, ARC_CANON_RELAXED },
	{ "relaxed/", false, 0, 0 },
	{ "foo/relaxed", false, 0, 0 },
	{ "relaxed/simple/x", false, 0, 0 },
	{ "Relaxed", false, 0, 0 },
};

START_TEST(test_canon_tag)
{
	struct arc_tag t = { .value = canons[_i].c, .value_len = canons[_i].c ? strlen(canons[_i].c) : 0 };
	enum arc_canon h, b;

	ck_assert(arc_canon_parse(canons[_i].c ? &t : NULL, &h, &b) == canons[_i].ok);
	if (canons[_i].ok) {
		ck_assert_int_eq(h, canons[_i].h);
		ck_assert_int_eq(b, canons[_i].b);
	}
}
END_TEST

START_TEST(test_canon_header)
{
	struct buf b;
	static const char v[] = " AbC \r\n\t def  ";

	buf_init(&b);
	arc_canon_header(&b, ARC_CANON_RELAXED, "SubJect ", 8, v, strlen(v), 0, 0, true);
	ck_assert_str_eq(b.data, "subject:AbC def\r\n");
	buf_reset(&b);
	arc_canon_header(&b, ARC_CANON_SIMPLE, "SubJect", 7, " x\n y", 5, 0, 0, true);
	ck_assert_str_eq(b.data, "SubJect: x\r\n y\r\n");
	buf_reset(&b);
	/* b= blanked: "a=1; b=xyz; c=2" with xyz left out */
	arc_canon_header(&b, ARC_CANON_RELAXED, "X", 1, "a=1; b=xyz; c=2", 15, 7, 10, false);
	ck_assert_str_eq(b.data, "x:a=1; b=; c=2");
	buf_free(&b);
}
END_TEST

static const struct { enum arc_canon c; const char *body; const char *b64; } bodies[] = {
	/* RFC 6376 3.4.5 example, relaxed: " C\r\nD E\r\n" */
	{ ARC_CANON_RELAXED, " C \r\nD \t E\r\n\r\n\r\n", NULL },
	{ ARC_CANON_RELAXED, "", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=" },
	{ ARC_CANON_SIMPLE, "", "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=" },
	{ ARC_CANON_SIMPLE, "\r\n\r\n", "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=" },
	{ ARC_CANON_RELAXED, "\n\n \n", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=" },
};

static void
body_b64(enum arc_canon c, const char *body, size_t chunk, struct buf *out)
{
	struct arc_bodyhash h;
	size_t n = strlen(body);

	arc_bodyhash_init(&h, c, false, 0);
	for (size_t i = 0; i < n; i += chunk)
		arc_bodyhash_update(&h, (const unsigned char *)body + i, n - i < chunk ? n - i : chunk);
	arc_bodyhash_final(&h);
	b64_encode(h.digest, ARC_SHA256_LEN, out);
	arc_bodyhash_free(&h);
}

START_TEST(test_canon_body)
{
	struct buf a, b;

	buf_init(&a);
	buf_init(&b);
	body_b64(bodies[_i].c, bodies[_i].body, 1, &a);
	body_b64(bodies[_i].c, bodies[_i].body, 1000, &b);
	ck_assert_str_eq(a.data, b.data);	/* chunking changes nothing */
	if (bodies[_i].b64) {
		ck_assert_str_eq(a.data, bodies[_i].b64);
	} else {
		buf_reset(&b);
		body_b64(ARC_CANON_SIMPLE, " C\r\nD E\r\n", 7, &b);
		ck_assert_str_eq(a.data, b.data);
	}
	/* LF line ends hash as CRLF ones */
	buf_reset(&a);
	buf_reset(&b);
	body_b64(ARC_CANON_SIMPLE, "a \nb\n\n", 3, &a);
	body_b64(ARC_CANON_SIMPLE, "a \r\nb\r\n", 3, &b);
	ck_assert_str_eq(a.data, b.data);
	buf_free(&a);
	buf_free(&b);
}
END_TEST

/* ---------- chain structure ---------- */

static const struct { const char *hdrs; enum arc_status st; const char *reason; } chains[] = {
	{ "X: y\r\n", ARC_NONE, "" },
	{ "ARC-Seal: i=1; a=rsa-sha256; cv=none; d=a.test; s=s; b=AAAA\r\n", ARC_FAIL,
	  "instance 1 has no AAR" },
	{ "ARC-Authentication-Results: i=1; mx; none\r\n"
	  "ARC-Authentication-Results: i=1; mx; none\r\n", ARC_FAIL, "instance 1 has two AARs" },
	{ "ARC-Authentication-Results: i=51; mx; none\r\n", ARC_FAIL, "too many ARC sets" },
	{ "ARC-Authentication-Results: mx; i=1; none\r\n", ARC_FAIL,
	  "ARC-Authentication-Results without a valid i=" },
	{ "ARC-Seal: i=1; a=rsa-sha256; cv=none; d=a.test; s=s; b=AAAA\r\n"
	  "ARC-Seal: i=2; a=rsa-sha256; cv=fail; d=a.test; s=s; b=AAAA\r\n", ARC_FAIL,
	  "AS 2 says cv=fail" },
	{ "ARC-Authentication-Results: i=2; mx; none\r\n", ARC_FAIL, "instance 1 has no AAR" },
	{ "ARC-Seal: i=1; i=1; cv=none\r\n", ARC_FAIL, "ARC-Seal without a valid i=" },
};

START_TEST(test_structure)
{
	struct buf text;
	struct arc_chain c;
	char *r;

	buf_init(&text);
	buf_printf(&text, "%sFrom: a@example.com\r\n\r\nbody\r\n", chains[_i].hdrs);
	verify_text(text.data, &c);
	r = reason(&c);
	ck_assert_int_eq(c.status, chains[_i].st);
	ck_assert_str_eq(r, chains[_i].reason);
	free(r);
	arc_chain_free(&c);
	buf_free(&text);
}
END_TEST

START_TEST(test_unreadable)
{
	struct arc_msg *m = new_msg(true);
	struct arc_chain c;
	const char *why;
	struct verdict_field f[3];
	struct arc_seal_request req = { .domain = "x", .selector = "y" };

	arc_header(m, "From", " a@example.com", 14);
	arc_unreadable(m, "ARC-Seal", "header section over MaxHeaderBytes");
	arc_eoh(m);
	arc_verify(m, &c);
	ck_assert_int_eq(c.status, ARC_FAIL);
	ck_assert_str_eq(c.reason, "header section over MaxHeaderBytes");
	ck_assert(!arc_seal(m, &c, &req, f, &why));
	arc_chain_free(&c);
	arc_free(m);
}
END_TEST

/* At the end of a header without ARC fields the copy shrinks to what a seal
 * signs: nothing with sealing off, the listed fields with it on. */
START_TEST(test_store_after_eoh)
{
	static const char hdr[] = "From: a@example.com\r\nX-Big: yyyyyyyyyyyyyyyy\r\n"
				  "Subject: s\r\nX-Big: zzzz\r\n\r\nbody\r\n";
	struct arc_settings set = { .dns = &dns, .min_key_bits = 1024, .sign_headers = "subject:from" };
	struct arc_msg *m = arc_begin(&set);

	feed(m, hdr);
	ck_assert_uint_eq(m->n_hdrs, 0);
	ck_assert_uint_eq(m->raw.len, 0);
	arc_free(m);
	set.sealing = true;
	m = arc_begin(&set);
	feed(m, hdr);
	ck_assert_uint_eq(m->n_hdrs, 2);
	ck_assert_uint_eq(m->raw.len, strlen("From a@example.comSubject s"));
	ck_assert_uint_eq(arc_count_headers(m, "from", 4), 1);
	ck_assert_uint_eq(arc_count_headers(m, "x-big", 5), 0);
	arc_free(m);
	/* an ARC field, even the last one: every field stays (h= may name any) */
	set.sealing = false;
	m = arc_begin(&set);
	feed(m, "From: a@example.com\r\nX-Big: y\r\nARC-Seal: i=1\r\n\r\nbody\r\n");
	ck_assert_uint_eq(m->n_hdrs, 3);
	arc_free(m);
}
END_TEST

/* ---------- bounds ---------- */

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

START_TEST(test_thousand_sets)
{
	struct arc_msg *m = new_msg(true);
	struct arc_chain c;
	char v[160];
	double t0 = now_s();

	for (int i = 1000; i >= 1; i--) {
		snprintf(v, sizeof(v), " i=%d; a=rsa-sha256; cv=pass; d=a.test; s=s; b=AAAA", i);
		arc_header(m, "ARC-Seal", v, strlen(v));
		snprintf(v, sizeof(v), " i=%d; a=rsa-sha256; d=a.test; s=s; h=from; bh=AAAA; b=AAAA", i);
		arc_header(m, "ARC-Message-Signature", v, strlen(v));
		snprintf(v, sizeof(v), " i=%d; mx; none", i);
		arc_header(m, "ARC-Authentication-Results", v, strlen(v));
	}
	arc_eoh(m);
	ck_assert(!arc_wants_body(m) || m->n_bh == 1);	/* only the seal's own hash */
	arc_verify(m, &c);
	ck_assert_int_eq(c.status, ARC_FAIL);
	ck_assert_str_eq(c.reason, "too many ARC sets");
	ck_assert_double_lt(now_s() - t0, 1.0);
	arc_chain_free(&c);
	arc_free(m);
}
END_TEST

START_TEST(test_big_seal)
{
	size_t n = 1024 * 1024;
	char *v = xmalloc(n + 64);
	struct arc_msg *m = new_msg(false);
	struct arc_chain c;
	double t0 = now_s();

	memcpy(v, " i=1; a=rsa-sha256; cv=none; d=a.test; s=s; b=", 47);
	memset(v + 47, 'A', n - 47);
	v[n] = '\0';
	arc_header(m, "ARC-Seal", v, n);
	snprintf(v, 64, " i=1; mx; none");
	arc_header(m, "ARC-Authentication-Results", v, strlen(v));
	snprintf(v, 64, " i=1; a=rsa-sha256; d=a.test; s=s; h=x; bh=AAAA; b=AAAA");
	arc_header(m, "ARC-Message-Signature", v, strlen(v));
	arc_eoh(m);
	arc_body(m, "x\r\n", 3);
	arc_verify(m, &c);
	ck_assert_int_eq(c.status, ARC_FAIL);
	ck_assert_double_lt(now_s() - t0, 1.0);
	arc_chain_free(&c);
	arc_free(m);
	free(v);
}
END_TEST

/* ---------- seal and verify ---------- */

START_TEST(test_round_trip)
{
	static const char *const keys[][2] = { { "tests/dkim/keys/rsa2048.key", "rsa" },
					       { ed_pem, "ed" } };
	struct arc_key *k = load_key(keys[_i][0]);
	struct arc_chain c;
	char *m1, *m2, *m3, *r;

	m1 = seal_text(base_msg, NULL, k, keys[_i][1], NULL);
	verify_text(m1, &c);
	ck_assert_int_eq(c.status, ARC_PASS);
	ck_assert_uint_eq(c.instances, 1);
	ck_assert_uint_eq(c.oldest_pass, 0);
	ck_assert_str_eq(c.sets[0].seal_domain, "seal.test");
	ck_assert_str_eq(c.sets[0].aar_payload, "mx.test; spf=pass smtp.mailfrom=a@example.com");
	arc_chain_free(&c);
	m2 = seal_text(m1, NULL, k, keys[_i][1], NULL);
	m3 = seal_text(m2, NULL, k, keys[_i][1], NULL);
	verify_text(m3, &c);
	ck_assert_int_eq(c.status, ARC_PASS);
	ck_assert_uint_eq(c.instances, 3);
	arc_chain_free(&c);
	/* three seals and three signatures under one selector: one key lookup */
	{
		struct arc_msg *m = new_msg(false);
		feed(m, m3);
		arc_verify(m, &c);
		ck_assert_int_eq(c.status, ARC_PASS);
		ck_assert_uint_eq(m->keys.n, 1);
		arc_chain_free(&c);
		arc_free(m);
	}
	/* the body changed after the last seal */
	m3[strlen(m3) - 5] = 'X';
	verify_text(m3, &c);
	r = reason(&c);
	ck_assert_int_eq(c.status, ARC_FAIL);
	ck_assert_str_eq(r, "AMS 3 body hash mismatch");
	free(r);
	arc_chain_free(&c);
	free(m1);
	free(m2);
	free(m3);
	arc_key_free(k);
}
END_TEST

START_TEST(test_tampered_seal)
{
	struct arc_key *k = load_key("tests/dkim/keys/rsa2048.key");
	struct arc_chain c;
	char *m1 = seal_text(base_msg, NULL, k, "rsa", NULL), *m2 = seal_text(m1, NULL, k, "rsa", NULL);
	char *aar1 = strstr(m2, "ARC-Authentication-Results: i=1; mx.test; spf=pass"), *r;

	ck_assert_ptr_nonnull(aar1);
	memcpy(strstr(aar1, "spf=pass"), "spf=fail", 8);	/* history rewritten */
	verify_text(m2, &c);
	r = reason(&c);
	ck_assert_int_eq(c.status, ARC_FAIL);
	ck_assert_str_eq(r, "AS 2 signature does not verify");
	free(r);
	arc_chain_free(&c);
	free(m1);
	free(m2);
	arc_key_free(k);
}
END_TEST

START_TEST(test_oldest_pass)
{
	struct arc_key *k = load_key("tests/dkim/keys/rsa2048.key");
	struct arc_chain pass = { .status = ARC_PASS }, c;
	char *m1 = seal_text(base_msg, NULL, k, "rsa", NULL), *m2, *m3;
	struct buf list;

	/* hop 2 is a list: it received a passing chain, tags the subject, then seals */
	buf_init(&list);
	buf_adds(&list, m1);
	memcpy(strstr(list.data, "Subject: hello"), "Subject: [LIST]", 15);
	m2 = seal_text(list.data, &pass, k, "rsa", NULL);
	m3 = seal_text(m2, NULL, k, "rsa", NULL);
	verify_text(m3, &c);
	ck_assert_int_eq(c.status, ARC_PASS);
	ck_assert_uint_eq(c.instances, 3);
	ck_assert_uint_eq(c.oldest_pass, 2);
	arc_chain_free(&c);
	buf_free(&list);
	free(m1);
	free(m2);
	free(m3);
	arc_key_free(k);
}
END_TEST

START_TEST(test_key_problems)
{
	struct buf why;
	struct arc_key *k;
	struct arc_chain c;
	char *m1, *r;

	buf_init(&why);
	ck_assert_ptr_null(arc_key_load(test_path("tests/dkim/keys/rsa512.key"), &why));
	ck_assert_ptr_nonnull(strstr(why.data, "512 bits"));
	buf_reset(&why);
	ck_assert_ptr_null(arc_key_load(test_path("tests/dkim/keys/ed25519.key"), &why));
	ck_assert_ptr_nonnull(strstr(why.data, "not a PEM private key"));
	buf_free(&why);
	/* sealed with a selector that has no key record: fail, not permerror */
	k = load_key("tests/dkim/keys/rsa2048.key");
	m1 = seal_text(base_msg, NULL, k, "nokey", NULL);
	verify_text(m1, &c);
	r = reason(&c);
	ck_assert_int_eq(c.status, ARC_FAIL);
	ck_assert_str_eq(r, "AMS 1 key: no key record");
	free(r);
	arc_chain_free(&c);
	free(m1);
	/* a key lookup that times out: temperror */
	m1 = seal_text(base_msg, NULL, k, "slow", NULL);
	verify_text(m1, &c);
	ck_assert_int_eq(c.status, ARC_TEMPERROR);
	arc_chain_free(&c);
	free(m1);
	arc_key_free(k);
}
END_TEST

START_TEST(test_no_seal)
{
	struct arc_key *k = load_key("tests/dkim/keys/rsa2048.key");
	struct arc_msg *m = new_msg(true);
	struct arc_chain c = { .status = ARC_FAIL };
	struct verdict_field f[3];
	struct arc_seal_request req = { .domain = "seal.test", .selector = "rsa", .key = k,
					.authserv_id = "mx", .results = "none", .now = 1 };
	const char *why = NULL;
	struct arc_chain got;

	feed(m, "ARC-Seal: i=1; a=rsa-sha256; cv=fail; d=a.test; s=s; b=AAAA\r\n"
		"From: a@example.com\r\n\r\nx\r\n");
	arc_verify(m, &got);
	ck_assert(!arc_seal(m, &c, &req, f, &why));
	ck_assert_str_eq(why, "the newest ARC-Seal says cv=fail");
	arc_chain_free(&got);
	arc_free(m);
	c.status = ARC_TEMPERROR;
	m = new_msg(true);
	feed(m, base_msg);
	ck_assert(!arc_seal(m, &c, &req, f, &why));
	arc_free(m);
	/* a caller's "pass" for a message whose sets are not whole: refused, no crash */
	c.status = ARC_PASS;
	m = new_msg(true);
	feed(m, "ARC-Authentication-Results: i=2; mx; none\r\nFrom: a@example.com\r\n\r\nx\r\n");
	ck_assert(!arc_seal(m, &c, &req, f, &why));
	ck_assert_str_eq(why, "the chain is not whole");
	arc_free(m);
	arc_key_free(k);
}
END_TEST

/* ---------- DNS ---------- */

static void
txt_entry(FILE *fp, const char *name, const char *txt)
{
	size_t n = strlen(txt);

	fprintf(fp, "ENTRY_BEGIN\nMATCH opcode qtype qname\nADJUST copy_id\nREPLY QR AA RD RA NOERROR\n"
		"SECTION QUESTION\n%s. IN TXT\nSECTION ANSWER\n%s. 300 IN TXT", name, name);
	for (size_t i = 0; i < n; i += 200)
		fprintf(fp, " \"%.*s\"", (int)(n - i < 200 ? n - i : 200), txt + i);
	fprintf(fp, "\nENTRY_END\n");
}

/* write_zone - the public halves of the test keys, a slow name, NXDOMAIN for the rest */
static void
write_zone(void)
{
	int fd = mkstemp(datafile);
	FILE *fp = fdopen(fd, "w"), *kf = fopen(test_path("tests/dkim/keys/rsa2048.key"), "r");
	EVP_PKEY *pk = PEM_read_PrivateKey(kf, NULL, NULL, NULL);
	unsigned char *der = NULL;
	int len = i2d_PUBKEY(pk, &der);
	struct buf b64, txt;
	EVP_PKEY *edk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	unsigned char raw[32];
	size_t raw_len = sizeof(raw);
	int edfd = mkstemp(ed_pem);
	FILE *edf = fdopen(edfd, "w");

	buf_init(&b64);
	buf_init(&txt);
	b64_encode(der, (size_t)len, &b64);
	buf_printf(&txt, "v=DKIM1; k=rsa; p=%s", b64.data);
	txt_entry(fp, "rsa._domainkey.seal.test", txt.data);
	if (pk == NULL || edk == NULL || edf == NULL || !PEM_write_PrivateKey(edf, edk, NULL, NULL, 0, NULL, NULL)
	    || !EVP_PKEY_get_raw_public_key(edk, raw, &raw_len)) {
		fprintf(stderr, "t_arc: cannot read or make the test keys\n");
		exit(99);
	}
	buf_reset(&b64);
	buf_reset(&txt);
	b64_encode(raw, raw_len, &b64);
	buf_printf(&txt, "v=DKIM1; k=ed25519; p=%s", b64.data);
	txt_entry(fp, "ed._domainkey.seal.test", txt.data);
	fprintf(fp, "ENTRY_BEGIN\nMATCH opcode qtype qname\nADJUST copy_id sleep=4\n"
		"REPLY QR AA RD RA NOERROR\nSECTION QUESTION\nslow._domainkey.seal.test. IN TXT\n"
		"ENTRY_END\n");
	fprintf(fp, "ENTRY_BEGIN\nMATCH opcode\nADJUST copy_id copy_query\nREPLY QR AA RD RA NXDOMAIN\n"
		"ENTRY_END\n");
	fclose(fp);
	fclose(kf);
	fclose(edf);
	OPENSSL_free(der);
	EVP_PKEY_free(pk);
	EVP_PKEY_free(edk);
	buf_free(&b64);
	buf_free(&txt);
}

int
main(void)
{
	Suite *s = suite_create("arc");
	TCase *tc = tcase_create("arc");
	char spec[32];
	int rc;

	write_zone();
	testns_start(&ns, datafile, 2);
	snprintf(spec, sizeof(spec), "127.0.0.1:%d", ns.port);
	if (!dns_server_parse(spec, &server))
		return 99;
	dns_init(&dns, &server, 1, 1, 0, NULL);
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_tags, 0, sizeof(tag_lists) / sizeof(tag_lists[0]));
	tcase_add_test(tc, test_tag_values);
	tcase_add_test(tc, test_instances);
	tcase_add_test(tc, test_base64);
	tcase_add_loop_test(tc, test_key_records, 0, sizeof(key_records) / sizeof(key_records[0]));
	tcase_add_loop_test(tc, test_canon_tag, 0, sizeof(canons) / sizeof(canons[0]));
	tcase_add_test(tc, test_canon_header);
	tcase_add_loop_test(tc, test_canon_body, 0, sizeof(bodies) / sizeof(bodies[0]));
	tcase_add_loop_test(tc, test_structure, 0, sizeof(chains) / sizeof(chains[0]));
	tcase_add_test(tc, test_unreadable);
	tcase_add_test(tc, test_store_after_eoh);
	tcase_add_test(tc, test_thousand_sets);
	tcase_add_test(tc, test_big_seal);
	tcase_add_loop_test(tc, test_round_trip, 0, 2);
	tcase_add_test(tc, test_tampered_seal);
	tcase_add_test(tc, test_oldest_pass);
	tcase_add_test(tc, test_key_problems);
	tcase_add_test(tc, test_no_seal);
	suite_add_tcase(s, tc);
	rc = run_suite(s);
	testns_stop(&ns);
	unlink(datafile);
	unlink(ed_pem);
	return rc;
}
