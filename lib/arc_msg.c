/*
 * arc_msg - the message as ARC sees it: every header field kept once in one
 * buffer (a memcpy per field), the ARC fields sorted into sets by instance
 * as they arrive, the body hashes the signatures ask for, and header
 * selection for h=.
 *
 * An AMS may name any field, and an ARC field may come last, so the whole
 * header is kept until its end. There the copy of a message without ARC
 * fields shrinks to what its seal signs (nothing when sealing is off): it
 * does not wait through the body and the end-of-message lookups.
 *
 * h= selection takes fields bottom up per name (RFC 6376 5.4.2). Fields are
 * sorted by name once, so each h= name is a binary search, not a scan of
 * the header: fifty signatures over a header of 200,000 fields stay cheap.
 */
#include "arc_int.h"
#include "hdrname.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* arc_begin - see arc.h */
struct arc_msg *
arc_begin(const struct arc_settings *set)
{
	struct arc_msg *m = xcalloc(1, sizeof(*m));

	m->set = *set;
	buf_init(&m->raw);
	for (size_t i = 0; i < ARC_MAX_INSTANCES; i++) {
		for (size_t k = 0; k < ARC_KINDS; k++)
			m->sets[i][k] = ARC_NO_FIELD;
		m->ams_bh[i] = ARC_NO_FIELD;
	}
	m->seal_bh = ARC_NO_FIELD;
	return m;
}

void
arc_free(struct arc_msg *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n_bh; i++)
		arc_bodyhash_free(&m->bh[i]);
	free(m->bh);
	arc_keycache_free(&m->keys);
	buf_free(&m->raw);
	free(m->hdrs);
	free(m->sorted);
	free(m);
}

/* arc_kind_of - which ARC field a name is, or ARC_KINDS for none */
static enum arc_kind
arc_kind_of(const char *name)
{
	if (strncasecmp(name, "ARC-", 4) != 0)
		return ARC_KINDS;
	if (hdrname_is(name, "ARC-Seal"))
		return ARC_KIND_AS;
	if (hdrname_is(name, "ARC-Message-Signature"))
		return ARC_KIND_AMS;
	if (hdrname_is(name, "ARC-Authentication-Results"))
		return ARC_KIND_AAR;
	return ARC_KINDS;
}

/* field_instance - i= of an ARC field, 0 when it has no valid one */
static unsigned
field_instance(enum arc_kind k, const char *v, size_t len)
{
	struct arc_tags tags;
	const struct arc_tag *i;
	const char *why;
	unsigned n;

	if (k == ARC_KIND_AAR)
		return arc_aar_instance(v, len);
	if (!arc_tags_parse(v, len, &tags, &why))
		return 0;
	i = arc_tag_get(&tags, "i");
	return i && arc_instance_parse(i->value, i->value_len, &n) ? n : 0;
}

static const char *const no_instance[] = {
	"ARC-Authentication-Results without a valid i=",
	"ARC-Message-Signature without a valid i=",
	"ARC-Seal without a valid i=",
};

/* place - an ARC field into its set */
static void
place(struct arc_msg *m, enum arc_kind k, size_t idx)
{
	const struct arc_hdr *h = &m->hdrs[idx];
	unsigned i = field_instance(k, m->raw.data + h->value_off, h->value_len);

	if (i == 0) {
		if (m->structure == NULL)
			m->structure = no_instance[k];
		return;
	}
	if (i > ARC_MAX_INSTANCES) {
		m->structure = "too many ARC sets";
		return;
	}
	m->sets[i - 1][k] = m->sets[i - 1][k] == ARC_NO_FIELD ? idx : ARC_DUP_FIELD;
	if (i > m->highest)
		m->highest = i;
}

/* arc_header - see arc.h */
void
arc_header(struct arc_msg *m, const char *name, const char *value, size_t len)
{
	enum arc_kind k = arc_kind_of(name);
	size_t name_len = strlen(name);
	struct arc_hdr *h;

	if (m->eoh)
		return;
	/* m->raw.len stays <= UINT32_MAX: these subtractions do not wrap */
	if (name_len > UINT32_MAX - m->raw.len || len > UINT32_MAX - m->raw.len - name_len
	    || m->n_hdrs == UINT32_MAX) {
		arc_unreadable(m, name, "header section too large for ARC");
		return;
	}
	if (m->n_hdrs == m->cap_hdrs) {
		m->cap_hdrs = m->cap_hdrs ? m->cap_hdrs * 2 : 32;
		m->hdrs = xrealloc(m->hdrs, m->cap_hdrs * sizeof(*m->hdrs));
	}
	h = &m->hdrs[m->n_hdrs];
	h->name_off = (uint32_t)m->raw.len;
	h->name_len = (uint32_t)name_len;
	buf_add(&m->raw, name, h->name_len);
	h->value_off = (uint32_t)m->raw.len;
	h->value_len = (uint32_t)len;
	buf_add(&m->raw, value, len);
	m->n_hdrs++;
	if (k == ARC_KINDS)
		return;
	/* Three fields a set: past that many the chain is too long whatever they say. */
	if (++m->n_arc_fields > 3 * ARC_MAX_INSTANCES)
		m->structure = "too many ARC sets";
	else
		place(m, k, m->n_hdrs - 1);
}

/* arc_unreadable - see arc.h */
void
arc_unreadable(struct arc_msg *m, const char *name, const char *why)
{
	if (m->unreadable == NULL)
		m->unreadable = why;
	if (arc_kind_of(name) != ARC_KINDS)
		m->n_arc_fields++;
}

/* bodyhash_for - the index of a body hash with this canonicalization and l=, made if new */
static size_t
bodyhash_for(struct arc_msg *m, enum arc_canon c, bool limited, unsigned long long l)
{
	for (size_t i = 0; i < m->n_bh; i++)
		if (m->bh[i].canon == c && m->bh[i].limited == limited && (!limited || m->bh[i].limit == l))
			return i;
	m->bh = xrealloc(m->bh, (m->n_bh + 1) * sizeof(*m->bh));
	arc_bodyhash_init(&m->bh[m->n_bh], c, limited, l);
	return m->n_bh++;
}

/* ams_body_params - c= body canonicalization and l= of AMS i; false when unreadable */
static bool
ams_body_params(struct arc_msg *m, unsigned i, enum arc_canon *c, bool *limited,
		unsigned long long *l)
{
	size_t idx = m->sets[i - 1][ARC_KIND_AMS];
	const struct arc_hdr *h;
	struct arc_tags tags;
	const struct arc_tag *lt;
	enum arc_canon hc;
	const char *why;

	if (idx == ARC_NO_FIELD || idx == ARC_DUP_FIELD)
		return false;
	h = &m->hdrs[idx];
	if (!arc_tags_parse(m->raw.data + h->value_off, h->value_len, &tags, &why)
	    || !arc_canon_parse(arc_tag_get(&tags, "c"), &hc, c))
		return false;
	lt = arc_tag_get(&tags, "l");
	*limited = lt != NULL;
	*l = 0;
	for (size_t k = 0; lt && k < lt->value_len; k++) {
		if (!isdigit((unsigned char)lt->value[k]) || k >= 18)
			return false;
		*l = *l * 10 + (unsigned long long)(lt->value[k] - '0');
	}
	return true;
}

/* trimmed_len - a field name without the white space before its colon */
static size_t
trimmed_len(const char *name, size_t len)
{
	while (len > 0 && (name[len - 1] == ' ' || name[len - 1] == '\t'))
		len--;
	return len;
}

/* listed - is the field called name (len bytes) in the colon-separated list? */
static bool
listed(const char *list, const char *name, size_t len)
{
	for (const char *p = list; *p;) {
		size_t n = strcspn(p, ":");
		if (n == len && strncasecmp(p, name, len) == 0)
			return true;
		p += n + (p[n] == ':');
	}
	return false;
}

/* keep_only - drop every field not named in list (NULL: every field); the
 * sets are not read again (no ARC field, or a chain that fails unread) */
static void
keep_only(struct arc_msg *m, const char *list)
{
	struct buf raw;
	size_t n = 0;

	buf_init(&raw);
	for (size_t i = 0; list && i < m->n_hdrs; i++) {
		struct arc_hdr h = m->hdrs[i];
		const char *name = m->raw.data + h.name_off;
		if (!listed(list, name, trimmed_len(name, h.name_len)))
			continue;
		m->hdrs[n] = h;
		m->hdrs[n].name_off = (uint32_t)raw.len;
		buf_add(&raw, name, h.name_len);
		m->hdrs[n].value_off = (uint32_t)raw.len;
		buf_add(&raw, m->raw.data + h.value_off, h.value_len);
		n++;
	}
	buf_free(&m->raw);
	m->raw = raw;
	m->n_hdrs = m->cap_hdrs = n;
	if (n == 0) {
		free(m->hdrs);
		m->hdrs = NULL;
	} else {
		m->hdrs = xrealloc(m->hdrs, n * sizeof(*m->hdrs));
	}
}

/* arc_eoh - see arc.h: body hashes for every AMS of a chain that may pass, and the seal's */
void
arc_eoh(struct arc_msg *m)
{
	if (m->eoh)
		return;
	m->eoh = true;
	/* no chain to read (none, or one that fails unread): only a seal reads fields */
	if (m->n_arc_fields == 0 || m->unreadable)
		keep_only(m, m->set.sealing && m->unreadable == NULL ? arc_sign_headers(&m->set) : NULL);
	if (m->n_arc_fields > 0 && m->structure == NULL && m->unreadable == NULL) {
		for (unsigned i = 1; i <= m->highest; i++) {
			enum arc_canon c;
			bool limited;
			unsigned long long l;
			if (ams_body_params(m, i, &c, &limited, &l))
				m->ams_bh[i - 1] = bodyhash_for(m, c, limited, l);
		}
	}
	if (m->set.sealing && m->unreadable == NULL)
		m->seal_bh = bodyhash_for(m, ARC_CANON_RELAXED, false, 0);
}

bool
arc_wants_body(const struct arc_msg *m)
{
	if (!m->eoh || m->n_bh == 0)
		return false;
	for (size_t i = 0; i < m->n_bh; i++)
		if (!m->bh[i].limited || m->bh[i].hashed + m->bh[i].n_out < m->bh[i].limit)
			return true;
	return false;
}

void
arc_body(struct arc_msg *m, const void *data, size_t len)
{
	if (!m->eoh)
		arc_eoh(m);	/* an MTA that sent no end of headers */
	for (size_t i = 0; i < m->n_bh; i++)
		arc_bodyhash_update(&m->bh[i], data, len);
}

static int
name_cmp(const char *a, size_t al, const char *b, size_t bl)
{
	int r = strncasecmp(a, b, al < bl ? al : bl);

	return r ? r : al < bl ? -1 : al > bl ? 1 : 0;
}

/* sorted_cmp - two header indexes by name, then position (m is the context) */
static int
sorted_cmp(const void *a, const void *b, void *ctx)
{
	const struct arc_msg *m = ctx;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	const char *xn = m->raw.data + m->hdrs[x].name_off, *yn = m->raw.data + m->hdrs[y].name_off;
	int r = name_cmp(xn, trimmed_len(xn, m->hdrs[x].name_len), yn,
			 trimmed_len(yn, m->hdrs[y].name_len));

	return r ? r : x < y ? -1 : x > y ? 1 : 0;
}

/* sort_headers - m->sorted: header indexes by name, then by position */
static void
sort_headers(struct arc_msg *m)
{
	m->sorted = xcalloc(m->n_hdrs + 1, sizeof(*m->sorted));
	for (size_t i = 0; i < m->n_hdrs; i++)
		m->sorted[i] = (uint32_t)i;
	qsort_r(m->sorted, m->n_hdrs, sizeof(*m->sorted), sorted_cmp, m);
	m->sorted_done = true;
}

/* group_of - first position in m->sorted of the fields called name, and how many */
static size_t
group_of(struct arc_msg *m, const char *name, size_t len, size_t *count)
{
	size_t lo = 0, hi = m->n_hdrs, first;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct arc_hdr *h = &m->hdrs[m->sorted[mid]];
		const char *n = m->raw.data + h->name_off;
		if (name_cmp(n, trimmed_len(n, h->name_len), name, len) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	first = lo;
	while (lo < m->n_hdrs) {
		const struct arc_hdr *h = &m->hdrs[m->sorted[lo]];
		const char *n = m->raw.data + h->name_off;
		if (name_cmp(n, trimmed_len(n, h->name_len), name, len) != 0)
			break;
		lo++;
	}
	*count = lo - first;
	return first;
}

/* arc_count_headers - how many fields are called name */
size_t
arc_count_headers(struct arc_msg *m, const char *name, size_t len)
{
	size_t count;

	if (!m->sorted_done)
		sort_headers(m);
	(void)group_of(m, name, len, &count);
	return count;
}

static bool
is_fws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* arc_select_headers - see arc_int.h */
bool
arc_select_headers(struct arc_msg *m, const char *h, size_t h_len, size_t *out, size_t *n_out,
		   const char **why)
{
	const char *names[ARC_MAX_H];
	size_t lens[ARC_MAX_H], n = 0, p = 0;

	if (!m->sorted_done)
		sort_headers(m);
	while (p < h_len) {
		size_t s, e;
		while (p < h_len && is_fws(h[p]))
			p++;
		s = p;
		while (p < h_len && h[p] != ':')
			p++;
		e = p;
		while (e > s && is_fws(h[e - 1]))
			e--;
		if (p < h_len)
			p++;
		if (e == s && p >= h_len && n == 0)
			break;	/* h= empty */
		/* An empty name ("a::b") is outside RFC 6376's grammar; it selects no
		 * field, as other verifiers read it, so it changes nothing signed. */
		if (n == ARC_MAX_H)
			return *why = "h= names too many fields", false;
		names[n] = h + s;
		lens[n] = e - s;
		n++;
	}
	for (size_t i = 0; i < n; i++) {
		size_t k = 0, count = 0, first = lens[i] ? group_of(m, names[i], lens[i], &count) : 0;
		for (size_t j = 0; j < i; j++)
			k += name_cmp(names[j], lens[j], names[i], lens[i]) == 0;
		out[i] = k < count ? m->sorted[first + count - 1 - k] : ARC_NO_FIELD;
	}
	*n_out = n;
	return true;
}

/* arc_hash_signed - see arc_int.h */
void
arc_hash_signed(struct arc_msg *m, enum arc_canon c, const size_t *sel, size_t n_sel,
		const char *sig_name, size_t sig_name_len, const char *sig_value, size_t sig_len,
		const struct arc_tag *b, unsigned char digest[ARC_SHA256_LEN])
{
	struct buf text;
	unsigned len;
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	if (md == NULL || !EVP_DigestInit_ex(md, EVP_sha256(), NULL))
		abort();
	buf_init(&text);
	for (size_t i = 0; i < n_sel; i++) {
		const struct arc_hdr *h;
		if (sel[i] == ARC_NO_FIELD)
			continue;
		h = &m->hdrs[sel[i]];
		buf_reset(&text);
		arc_canon_header(&text, c, m->raw.data + h->name_off, h->name_len,
				 m->raw.data + h->value_off, h->value_len, 0, 0, true);
		EVP_DigestUpdate(md, text.data, text.len);
	}
	buf_reset(&text);
	arc_canon_header(&text, c, sig_name, sig_name_len, sig_value, sig_len,
			 b->raw_start, b->raw_end, false);
	EVP_DigestUpdate(md, text.data, text.len);
	EVP_DigestFinal_ex(md, digest, &len);
	EVP_MD_CTX_free(md);
	buf_free(&text);
}
