/*
 * arc_verify - chain validation as RFC 8617 section 5.2 orders it:
 *   1. no ARC field: none;
 *   2. the newest ARC-Seal says cv=fail: fail;
 *   3. structure: sets 1..N, N <= 50, exactly one AAR, AMS and AS each,
 *      cv=none at i=1 and cv=pass above, every tag-list well formed;
 *   4. the newest AMS verifies over the message (header and body hash);
 *   5. oldest-pass: older AMSs verified downwards until one fails;
 *   6. every AS verifies over the sets 1..i (AAR, AMS, AS of each, relaxed,
 *      its own b= emptied).
 * Step 6 runs before step 5 here (it can fail the chain, step 5 cannot),
 * and the seals' hash input is canonicalized once: the running SHA-256 of
 * the sets below i is copied for seal i, so fifty seals cost one pass.
 *
 * oldest-pass: 0 when every AMS verifies (nothing was lost on the way),
 * else the lowest instance k such that AMS k..N all verify.
 */
#include "arc_int.h"
#include "b64.h"

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

static const char *const status_names[] = { "none", "pass", "fail", "temperror", "permerror" };

const char *
arc_status_name(enum arc_status s)
{
	return status_names[s];
}

/* arc_chain_free - see arc_result.h */
void
arc_chain_free(struct arc_chain *c)
{
	for (size_t i = 0; i < c->n_sets; i++) {
		free(c->sets[i].seal_domain);
		free(c->sets[i].seal_selector);
		free(c->sets[i].aar_payload);
	}
	free(c->sets);
	c->sets = NULL;
	c->n_sets = 0;
}

/* arc_chain_reason - the reason with its '#' replaced by the instance */
void
arc_chain_reason(const struct arc_chain *c, struct buf *out)
{
	for (const char *p = c->reason; p && *p; p++) {
		if (*p == '#')
			buf_printf(out, "%u", c->reason_instance);
		else
			buf_addc(out, *p);
	}
	if (c->reason && c->reason_detail)
		buf_printf(out, ": %s", c->reason_detail);
}

static enum arc_status
fail(struct arc_chain *out, const char *why, unsigned i)
{
	out->status = ARC_FAIL;
	out->reason = why;
	out->reason_instance = i;
	return ARC_FAIL;
}

static const struct arc_hdr *
field(const struct arc_msg *m, unsigned i, enum arc_kind k)
{
	return &m->hdrs[m->sets[i - 1][k]];
}

static bool
digits(const struct arc_tag *t)
{
	if (t == NULL)
		return true;
	if (t->value_len == 0 || t->value_len > 20)
		return false;
	for (size_t i = 0; i < t->value_len; i++)
		if (!isdigit((unsigned char)t->value[i]))
			return false;
	return true;
}

/* number - a tag value checked by digits() (the value is not NUL-terminated) */
static unsigned long long
number(const struct arc_tag *t)
{
	unsigned long long n = 0;

	for (size_t i = 0; i < t->value_len; i++)
		n = n > ULLONG_MAX / 10 - 10 ? ULLONG_MAX : n * 10 + (unsigned)(t->value[i] - '0');
	return n;
}

/* seal_tags - the tags of AS i, checked; NULL reason when they are sound */
static const char *
seal_tags(const struct arc_msg *m, unsigned i, struct arc_tags *tags)
{
	const struct arc_hdr *h = field(m, i, ARC_KIND_AS);
	const struct arc_tag *cv;
	const char *why;

	if (!arc_tags_parse(m->raw.data + h->value_off, h->value_len, tags, &why))
		return "AS # is not a valid tag list";
	cv = arc_tag_get(tags, "cv");
	if (arc_tag_is(cv, "fail"))
		return "AS # says cv=fail";
	if (arc_tag_get(tags, "h"))
		return "AS # has h=";
	if (arc_alg_parse(arc_tag_get(tags, "a")) == ARC_ALG_UNKNOWN)
		return "AS # a= is no algorithm we know";
	if (!arc_domain_ok(arc_tag_get(tags, "d")) || !arc_domain_ok(arc_tag_get(tags, "s")))
		return "AS # d= or s= is missing or invalid";
	if (arc_tag_get(tags, "b") == NULL || !digits(arc_tag_get(tags, "t")))
		return "AS # b= missing or t= invalid";
	if (i == 1 && !arc_tag_is(cv, "none"))
		return "AS 1 cv must be none";
	if (i > 1 && !arc_tag_is(cv, "pass"))
		return "AS # cv must be pass";
	return NULL;
}

/* check_structure - steps 2 and 3 */
static bool
check_structure(const struct arc_msg *m, struct arc_chain *out)
{
	static const char *const missing[] = { "instance # has no AAR", "instance # has no AMS",
					       "instance # has no AS" };
	static const char *const twice[] = { "instance # has two AARs", "instance # has two AMSs",
					     "instance # has two ASs" };
	struct arc_tags tags;
	const char *why;
	unsigned n = m->highest;

	if (m->sets[n - 1][ARC_KIND_AS] < ARC_DUP_FIELD && (why = seal_tags(m, n, &tags))
	    && strcmp(why, "AS # says cv=fail") == 0)
		return fail(out, why, n), false;
	for (unsigned i = 1; i <= n; i++)
		for (int k = 0; k < ARC_KINDS; k++) {
			if (m->sets[i - 1][k] == ARC_NO_FIELD)
				return fail(out, missing[k], i), false;
			if (m->sets[i - 1][k] == ARC_DUP_FIELD)
				return fail(out, twice[k], i), false;
		}
	for (unsigned i = n; i >= 1; i--)
		if ((why = seal_tags(m, i, &tags)) != NULL)
			return fail(out, why, i), false;
	return true;
}

/* h_names_seal - does h= name ARC-Seal (an AMS must not sign it)? */
static bool
h_names_seal(const struct arc_tag *h)
{
	const char *p = h->value, *end = h->value + h->value_len;

	while (p < end) {
		const char *c = memchr(p, ':', (size_t)(end - p)), *e = c ? c : end;
		while (p < e && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
			p++;
		while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
			e--;
		if (e - p == 8 && strncasecmp(p, "arc-seal", 8) == 0)
			return true;
		p = c ? c + 1 : end;
	}
	return false;
}

/* check_sig - key lookup and signature over digest; status with *why */
static enum arc_status
check_sig(struct arc_msg *m, const struct arc_tags *tags, const unsigned char *digest,
	  const char *bad, const char *key, const char **why)
{
	const struct arc_tag *b = arc_tag_get(tags, "b");
	enum arc_alg alg = arc_alg_parse(arc_tag_get(tags, "a"));
	EVP_PKEY *pk;
	struct buf sig;
	enum arc_keyres kr;
	bool ok;

	kr = arc_key_fetch(&m->keys, m->set.dns, m->set.min_key_bits, arc_tag_get(tags, "d"),
			   arc_tag_get(tags, "s"), alg, &pk, &m->detail);
	if (kr != ARC_KEY_OK)
		*why = key;
	if (kr == ARC_KEY_TEMPFAIL)
		return ARC_TEMPERROR;
	if (kr != ARC_KEY_OK)
		return ARC_FAIL;
	m->detail = NULL;
	buf_init(&sig);
	ok = b64_decode(b->value, b->value_len, &sig) && sig.len <= ARC_MAX_B64
	     && arc_sig_verify(pk, alg, digest, (unsigned char *)sig.data, sig.len);
	buf_free(&sig);
	if (!ok)
		*why = bad;
	return ok ? ARC_PASS : ARC_FAIL;
}

/* verify_ams - AMS i over the message */
static enum arc_status
verify_ams(struct arc_msg *m, unsigned i, const char **why)
{
	const struct arc_hdr *h = field(m, i, ARC_KIND_AMS);
	const char *v = m->raw.data + h->value_off;
	struct arc_tags tags;
	const struct arc_tag *bh, *ht, *x;
	enum arc_canon hc;
	struct buf hash;
	size_t sel[ARC_MAX_H], n_sel;
	unsigned char digest[ARC_SHA256_LEN];
	bool bh_ok;

	if (!arc_tags_parse(v, h->value_len, &tags, why))
		return *why = "AMS # is not a valid tag list", ARC_FAIL;
	bh = arc_tag_get(&tags, "bh");
	ht = arc_tag_get(&tags, "h");
	x = arc_tag_get(&tags, "x");
	if (arc_alg_parse(arc_tag_get(&tags, "a")) == ARC_ALG_UNKNOWN)
		return *why = "AMS # a= is no algorithm we know", ARC_FAIL;
	if (!arc_domain_ok(arc_tag_get(&tags, "d")) || !arc_domain_ok(arc_tag_get(&tags, "s")))
		return *why = "AMS # d= or s= is missing or invalid", ARC_FAIL;
	if (bh == NULL || ht == NULL || arc_tag_get(&tags, "b") == NULL
	    || !arc_canon_parse(arc_tag_get(&tags, "c"), &hc, NULL) || !digits(arc_tag_get(&tags, "t"))
	    || !digits(x) || m->ams_bh[i - 1] == ARC_NO_FIELD)
		return *why = "AMS # has a missing or invalid tag", ARC_FAIL;
	if (x && number(x) < (unsigned long long)time(NULL))
		return *why = "AMS # has expired", ARC_FAIL;
	if (h_names_seal(ht))
		return *why = "AMS # signs an ARC-Seal", ARC_FAIL;
	buf_init(&hash);
	bh_ok = b64_decode(bh->value, bh->value_len, &hash) && hash.len == ARC_SHA256_LEN
		&& memcmp(hash.data, m->bh[m->ams_bh[i - 1]].digest, ARC_SHA256_LEN) == 0;
	buf_free(&hash);
	if (!bh_ok)
		return *why = "AMS # body hash mismatch", ARC_FAIL;
	if (!arc_select_headers(m, ht->value, ht->value_len, sel, &n_sel, why))
		return *why = "AMS # h= is invalid", ARC_FAIL;
	arc_hash_signed(m, hc, sel, n_sel, m->raw.data + h->name_off, h->name_len, v,
			h->value_len, arc_tag_get(&tags, "b"), digest);
	return check_sig(m, &tags, digest, "AMS # signature does not verify", "AMS # key", why);
}

/* add_relaxed - one ARC field into the seals' hash */
static void
add_relaxed(EVP_MD_CTX *md, struct buf *text, const struct arc_msg *m, const struct arc_hdr *h,
	    const struct arc_tag *blank)
{
	buf_reset(text);
	arc_canon_header(text, ARC_CANON_RELAXED, m->raw.data + h->name_off, h->name_len,
			 m->raw.data + h->value_off, h->value_len, blank ? blank->raw_start : 0,
			 blank ? blank->raw_end : 0, blank == NULL);
	EVP_DigestUpdate(md, text->data, text->len);
}

/* verify_seals - step 6; *bad is the failing instance */
static enum arc_status
verify_seals(struct arc_msg *m, unsigned n, const char **why, unsigned *bad)
{
	EVP_MD_CTX *run = EVP_MD_CTX_new(), *one = EVP_MD_CTX_new();
	unsigned char (*digests)[ARC_SHA256_LEN] = xcalloc(n, ARC_SHA256_LEN);
	enum arc_status st = ARC_PASS;
	struct arc_tags tags;
	struct buf text;
	unsigned len;

	if (run == NULL || one == NULL || !EVP_DigestInit_ex(run, EVP_sha256(), NULL))
		abort();
	buf_init(&text);
	for (unsigned i = 1; i <= n; i++) {
		const struct arc_hdr *as = field(m, i, ARC_KIND_AS);
		add_relaxed(run, &text, m, field(m, i, ARC_KIND_AAR), NULL);
		add_relaxed(run, &text, m, field(m, i, ARC_KIND_AMS), NULL);
		(void)seal_tags(m, i, &tags);	/* checked sound by check_structure */
		if (!EVP_MD_CTX_copy_ex(one, run))
			abort();
		add_relaxed(one, &text, m, as, arc_tag_get(&tags, "b"));
		EVP_DigestFinal_ex(one, digests[i - 1], &len);
		add_relaxed(run, &text, m, as, NULL);
	}
	for (unsigned i = n; i >= 1 && st == ARC_PASS; i--) {
		(void)seal_tags(m, i, &tags);
		st = check_sig(m, &tags, digests[i - 1], "AS # signature does not verify", "AS # key",
			       why);
		*bad = i;
	}
	buf_free(&text);
	free(digests);
	EVP_MD_CTX_free(run);
	EVP_MD_CTX_free(one);
	return st;
}

/* fill_sets - what arc_trust reads: each seal's d= and s=, each AAR's payload */
static void
fill_sets(const struct arc_msg *m, struct arc_chain *out)
{
	out->sets = xcalloc(m->highest, sizeof(*out->sets));
	out->n_sets = m->highest;
	for (unsigned i = 1; i <= m->highest; i++) {
		struct arc_set_view *sv = &out->sets[i - 1];
		const struct arc_hdr *aar = field(m, i, ARC_KIND_AAR);
		const char *p = m->raw.data + aar->value_off, *semi;
		struct arc_tags tags;
		const struct arc_tag *d, *s;
		const char *why;
		const struct arc_hdr *as = field(m, i, ARC_KIND_AS);

		sv->instance = i;
		semi = memchr(p, ';', aar->value_len);
		p = semi ? semi + 1 : p + aar->value_len;
		while (p < m->raw.data + aar->value_off + aar->value_len && strchr(" \t\r\n", *p))
			p++;
		sv->aar_payload = xstrndup(p, (size_t)(m->raw.data + aar->value_off + aar->value_len - p));
		(void)arc_tags_parse(m->raw.data + as->value_off, as->value_len, &tags, &why);
		d = arc_tag_get(&tags, "d");
		s = arc_tag_get(&tags, "s");
		sv->seal_domain = xstrndup(d->value, d->value_len);
		for (char *c = sv->seal_domain; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		sv->seal_selector = xstrndup(s->value, s->value_len);
	}
}

/* oldest_pass - step 5 */
static unsigned
oldest_pass(struct arc_msg *m, unsigned n)
{
	const char *why;

	for (unsigned i = n - 1; i >= 1; i--)
		if (verify_ams(m, i, &why) != ARC_PASS)
			return i + 1;
	return 0;
}

/* arc_verify - see arc.h */
void
arc_verify(struct arc_msg *m, struct arc_chain *out)
{
	enum arc_status st;
	const char *why = NULL;
	unsigned bad = 0, n = m->highest;

	memset(out, 0, sizeof(*out));
	arc_eoh(m);
	for (size_t i = 0; i < m->n_bh; i++)
		arc_bodyhash_final(&m->bh[i]);
	if (m->n_arc_fields == 0)
		return;
	out->instances = n;
	if (m->unreadable) {
		fail(out, m->unreadable, 0);
		return;
	}
	if (m->structure) {
		fail(out, m->structure, 0);
		return;
	}
	if (!check_structure(m, out))
		return;
	st = verify_ams(m, n, &why);
	if (st == ARC_PASS)
		st = verify_seals(m, n, &why, &bad);
	else
		bad = n;
	if (st != ARC_PASS) {
		out->status = st;
		out->reason = why;
		out->reason_instance = bad;
		out->reason_detail = m->detail;
		return;
	}
	out->status = ARC_PASS;
	out->oldest_pass = oldest_pass(m, n);
	fill_sets(m, out);
}
