/*
 * arc_seal - this hop's ARC set (RFC 8617 5.1): the AAR of our results, an
 * AMS over the message as it leaves (relaxed/relaxed, the configured header
 * fields that are present, each as often as it occurs), and an AS over the
 * chain with the cv= that validation found.
 *
 * When not to seal, as RFC 8617 5.1 says: the newest seal already says
 * cv=fail (the chain is over), the chain is at instance 50, or validation
 * could not decide (temperror: a seal with cv=fail would end a good chain
 * for a DNS hiccup; the message goes on unsealed instead). A chain that
 * fails here is sealed with cv=fail, and that seal covers only its own set
 * (RFC 8617 5.1.2: the failed sets below are not vouched for).
 */
#include "arc_int.h"
#include "b64.h"

#include <stdlib.h>
#include <string.h>

/* newest_says_fail - the highest instance's (single) AS has cv=fail */
static bool
newest_says_fail(const struct arc_msg *m)
{
	size_t idx;
	struct arc_tags tags;
	const char *why;

	if (m->highest == 0)
		return false;
	idx = m->sets[m->highest - 1][ARC_KIND_AS];
	if (idx == ARC_NO_FIELD || idx == ARC_DUP_FIELD)
		return false;
	return arc_tags_parse(m->raw.data + m->hdrs[idx].value_off, m->hdrs[idx].value_len, &tags,
			      &why)
	       && arc_tag_is(arc_tag_get(&tags, "cv"), "fail");
}

/* seal_instance - i= and cv= of our set, or 0 with why when we must not seal */
static unsigned
seal_instance(const struct arc_msg *m, const struct arc_chain *chain, const char **cv,
	      const char **why)
{
	if (m->unreadable)
		return *why = "header not read whole", 0;
	switch (chain->status) {
	case ARC_NONE:
		*cv = "none";
		return 1;
	case ARC_PASS:
		*cv = "pass";
		/* the seal covers every set below: each must be there once (a
		 * caller's chain that says pass for another message is refused) */
		for (unsigned i = 1; i <= m->highest; i++)
			for (int k = 0; k < ARC_KINDS; k++)
				if (m->sets[i - 1][k] == ARC_NO_FIELD || m->sets[i - 1][k] == ARC_DUP_FIELD)
					return *why = "the chain is not whole", 0;
		if (m->structure)
			return *why = "the chain is not whole", 0;
		break;
	case ARC_FAIL:
		*cv = "fail";
		if (m->highest == 0)
			return *why = "ARC fields without an instance", 0;
		if (newest_says_fail(m))
			return *why = "the newest ARC-Seal says cv=fail", 0;
		break;
	default:
		return *why = "chain validation did not finish", 0;
	}
	if (m->highest >= ARC_MAX_INSTANCES || m->n_arc_fields > 3 * ARC_MAX_INSTANCES)
		return *why = "the chain reached 50 instances", 0;
	return m->highest + 1;
}

/* arc_sign_headers - the names a seal may sign (see arc_settings) */
const char *
arc_sign_headers(const struct arc_settings *set)
{
	return set->sign_headers ? set->sign_headers : ARC_DEFAULT_SIGN_HEADERS;
}

/* sign_headers - h= for the AMS: each wanted name as often as the message has it */
static void
sign_headers(struct arc_msg *m, const char *wanted, struct buf *h)
{
	const char *p = wanted;
	size_t total = 0;

	while (*p) {
		size_t len = strcspn(p, ":");
		size_t count = len ? arc_count_headers(m, p, len) : 0;
		for (size_t k = 0; k < count && total < ARC_MAX_H; k++, total++)
			buf_printf(h, "%s%.*s", h->len ? ":" : "", (int)len, p);
		p += len;
		if (*p == ':')
			p++;
	}
}

/* insert_sig - the signature of digest into value at b= (offset at) */
static bool
insert_sig(const struct arc_key *key, const unsigned char *digest, struct buf *value, size_t at)
{
	struct buf sig, rest;
	bool ok;

	buf_init(&sig);
	buf_init(&rest);
	ok = arc_sig_sign(key, digest, &sig);
	if (ok) {
		buf_add(&rest, value->data + at, value->len - at);
		value->len = at;
		buf_add(value, sig.data, sig.len);
		buf_add(value, rest.data, rest.len);
	}
	buf_free(&sig);
	buf_free(&rest);
	return ok;
}

/* make_ams - the AMS value, signed */
static bool
make_ams(struct arc_msg *m, const struct arc_seal_request *req, unsigned n, struct buf *ams)
{
	struct buf h, bh;
	size_t sel[ARC_MAX_H], n_sel;
	unsigned char digest[ARC_SHA256_LEN];
	struct arc_tag b = { 0 };
	const char *why;
	bool ok;

	buf_init(&h);
	buf_init(&bh);
	sign_headers(m, arc_sign_headers(&m->set), &h);
	b64_encode(m->bh[m->seal_bh].digest, ARC_SHA256_LEN, &bh);
	/* Tags in alphabetical order, as the signing suite writes them: the same
	 * input then gives byte-identical fields (RSA PKCS#1 v1.5 is deterministic). */
	buf_printf(ams, "a=%s; b=", arc_key_algorithm(req->key));
	b.raw_start = b.raw_end = ams->len;
	buf_printf(ams, "; bh=%s; c=relaxed/relaxed; d=%s; h=%s; i=%u; s=%s; t=%lld", bh.data,
		   req->domain, h.data ? h.data : "", n, req->selector, (long long)req->now);
	ok = arc_select_headers(m, h.data ? h.data : "", h.len, sel, &n_sel, &why);
	if (ok) {
		arc_hash_signed(m, ARC_CANON_RELAXED, sel, n_sel, "ARC-Message-Signature", 21,
				ams->data, ams->len, &b, digest);
		ok = insert_sig(req->key, digest, ams, b.raw_start);
	}
	buf_free(&h);
	buf_free(&bh);
	return ok;
}

static void
hash_field(EVP_MD_CTX *md, struct buf *text, const char *name, const char *value, size_t len,
	   bool crlf)
{
	buf_reset(text);
	arc_canon_header(text, ARC_CANON_RELAXED, name, strlen(name), value, len, 0, 0, crlf);
	EVP_DigestUpdate(md, text->data, text->len);
}

/* make_as - the AS value over the sets below (unless cv=fail) and ours */
static bool
make_as(struct arc_msg *m, const struct arc_seal_request *req, unsigned n, const char *cv,
	const struct buf *aar, const struct buf *ams, struct buf *as)
{
	static const char *const names[ARC_KINDS] = { "ARC-Authentication-Results",
						      "ARC-Message-Signature", "ARC-Seal" };
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char digest[ARC_SHA256_LEN];
	unsigned len;
	struct buf text;
	bool ok;

	if (md == NULL || !EVP_DigestInit_ex(md, EVP_sha256(), NULL))
		abort();
	buf_init(&text);
	for (unsigned i = 1; i < n && strcmp(cv, "fail") != 0; i++)
		for (int k = 0; k < ARC_KINDS; k++) {
			const struct arc_hdr *h = &m->hdrs[m->sets[i - 1][k]];
			hash_field(md, &text, names[k], m->raw.data + h->value_off, h->value_len, true);
		}
	hash_field(md, &text, names[ARC_KIND_AAR], aar->data, aar->len, true);
	hash_field(md, &text, names[ARC_KIND_AMS], ams->data, ams->len, true);
	buf_printf(as, "a=%s; b=; cv=%s; d=%s; i=%u; s=%s; t=%lld", arc_key_algorithm(req->key), cv,
		   req->domain, n, req->selector, (long long)req->now);
	hash_field(md, &text, names[ARC_KIND_AS], as->data, as->len, false);
	EVP_DigestFinal_ex(md, digest, &len);
	EVP_MD_CTX_free(md);
	buf_free(&text);
	ok = insert_sig(req->key, digest, as, strlen("a=; b=") + strlen(arc_key_algorithm(req->key)));
	return ok;
}

/* arc_seal - see arc.h */
bool
arc_seal(struct arc_msg *m, const struct arc_chain *chain, const struct arc_seal_request *req,
	 struct verdict_field out[3], const char **why)
{
	struct buf aar, ams, as;
	const char *cv = NULL;
	unsigned n = seal_instance(m, chain, &cv, why);

	if (n == 0)
		return false;
	if (m->seal_bh == ARC_NO_FIELD || req->key == NULL)
		return *why = "sealing was not set up at the start of the message", false;
	arc_bodyhash_final(&m->bh[m->seal_bh]);
	buf_init(&aar);
	buf_init(&ams);
	buf_init(&as);
	buf_printf(&aar, "i=%u; %s; %s", n, req->authserv_id, req->results);
	if (!make_ams(m, req, n, &ams) || !make_as(m, req, n, cv, &aar, &ams, &as)) {
		buf_free(&aar);
		buf_free(&ams);
		buf_free(&as);
		return *why = "signing failed", false;
	}
	out[0].name = xstrdup("ARC-Authentication-Results");
	out[0].value = buf_steal(&aar);
	out[1].name = xstrdup("ARC-Message-Signature");
	out[1].value = buf_steal(&ams);
	out[2].name = xstrdup("ARC-Seal");
	out[2].value = buf_steal(&as);
	return true;
}
