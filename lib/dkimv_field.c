/*
 * dkimv_field - read the tag-list of one DKIM-Signature field ourselves.
 *
 * This is not a second verifier: libopendkim still decides every result.
 * It reads just enough to name a signature in a result libopendkim cannot
 * give (it refused the message, or we refused the field), to find tags that
 * occur twice (libopendkim keeps the last one silently), and to price the
 * field (h= entries, which body hash it needs) before the library is given it.
 * Input is untrusted: every scan stops at the given end, NUL bytes included.
 */
#include "dkimv_field.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct span {
	const char *p;
	size_t len;
};

static bool
is_fws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* trim - drop folding white space at both ends */
static struct span
trim(const char *p, const char *end)
{
	while (p < end && is_fws(*p))
		p++;
	while (end > p && is_fws(end[-1]))
		end--;
	return (struct span){ p, (size_t)(end - p) };
}

/* span_is - case-insensitive comparison with a C string */
static bool
span_is(struct span s, const char *word)
{
	return s.len == strlen(word) && strncasecmp(s.p, word, s.len) == 0;
}

/* shown - a copy fit to echo in a result, or NULL (absent, too long, NUL) */
static char *
shown(const struct span *v, size_t max)
{
	if (v == NULL || v->len > max || memchr(v->p, '\0', v->len))
		return NULL;
	return xstrndup(v->p, v->len);
}

/* squeezed - the value with all white space removed (b= and h= allow FWS) */
static char *
squeezed(const struct span *v, size_t *len_out)
{
	struct buf b;

	buf_init(&b);
	for (size_t i = 0; i < v->len; i++)
		if (!is_fws(v->p[i]))
			buf_addc(&b, v->p[i]);
	*len_out = b.len;
	return buf_steal(&b);
}

static int
cmp_span(const void *a, const void *b)
{
	const struct span *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = strncasecmp(x->p, y->p, n);

	if (c != 0)
		return c;
	return x->len < y->len ? -1 : x->len > y->len;
}

/* find_duplicate - a tag name that occurs twice; sorted, so n log n at worst */
static const char *
find_duplicate(struct span *names, size_t n)
{
	static const char *const known[] = {
		"v", "a", "b", "bh", "c", "d", "h", "i", "l", "q", "s", "t", "x", "z"
	};

	qsort(names, n, sizeof(*names), cmp_span);
	for (size_t i = 1; i < n; i++) {
		if (cmp_span(&names[i - 1], &names[i]) != 0)
			continue;
		for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
			if (span_is(names[i], known[k]))
				return known[k];
		return "(other)";
	}
	return NULL;
}

/* read_body_key - which libopendkim body hash the signature needs */
static void
read_body_key(struct dkimv_body_key *k, const struct span *c, const struct span *a,
	      const struct span *l)
{
	k->canon = DKIMV_CANON_SIMPLE;
	k->hash = 0;
	k->length = -1;
	if (c) {
		const char *slash = memchr(c->p, '/', c->len);
		struct span body = slash ? trim(slash + 1, c->p + c->len) : (struct span){ "simple", 6 };
		k->canon = span_is(body, "simple") ? DKIMV_CANON_SIMPLE
			 : span_is(body, "relaxed") ? DKIMV_CANON_RELAXED : DKIMV_CANON_UNKNOWN;
	}
	if (a && (span_is(*a, "rsa-sha256") || span_is(*a, "ed25519-sha256")))
		k->hash = 256;
	else if (a && span_is(*a, "rsa-sha1"))
		k->hash = 1;
	else
		k->canon = DKIMV_CANON_UNKNOWN;
	if (l) {
		long long v = 0;
		bool ok = l->len > 0 && l->len <= 18;
		for (size_t i = 0; ok && i < l->len; i++) {
			ok = l->p[i] >= '0' && l->p[i] <= '9';
			v = v * 10 + (l->p[i] - '0');
		}
		if (ok)
			k->length = v;
		else
			k->canon = DKIMV_CANON_UNKNOWN;
	}
}

/* read_h - h= squeezed, its entry count, and whether it names DKIM-Signature */
static void
read_h(struct dkimv_field *f, const struct span *h)
{
	f->h = squeezed(h, &f->h_len);
	f->h_entries = f->h_len > 0;
	for (size_t i = 0; i < f->h_len; i++)
		f->h_entries += f->h[i] == ':';
	f->signs_signatures = dkimv_field_signs(f, "DKIM-Signature");
}

/* dkimv_field_read - the tags of one field; value is everything after the colon */
void
dkimv_field_read(struct dkimv_field *f, const char *value, size_t len)
{
	enum { D, S, A, I, B, H, C, L, N_WANTED };
	static const char *const wanted[N_WANTED] = { "d", "s", "a", "i", "b", "h", "c", "l" };
	const char *p = value, *end = value + len;
	/* a field over the maximum is refused anyway: no need to look for twins */
	struct span *names = len <= DKIMV_FIELD_MAX ? xcalloc(len / 2 + 2, sizeof(*names)) : NULL;
	struct span vals[N_WANTED];
	const struct span *got[N_WANTED] = { 0 };
	size_t n = 0;

	memset(f, 0, sizeof(*f));
	buf_init(&f->text);
	f->body.canon = DKIMV_CANON_UNKNOWN;
	while (p < end) {
		const char *semi = memchr(p, ';', (size_t)(end - p));
		const char *stop = semi ? semi : end;
		const char *eq = memchr(p, '=', (size_t)(stop - p));
		if (eq) {
			struct span tag = trim(p, eq), val = trim(eq + 1, stop);
			if (names)
				names[n++] = tag;
			for (size_t k = 0; k < N_WANTED; k++)
				if (got[k] == NULL && tag.len == strlen(wanted[k])
				    && memcmp(tag.p, wanted[k], tag.len) == 0) {
					vals[k] = val;
					got[k] = &vals[k];
				}
		}
		p = semi ? semi + 1 : end;
	}
	f->duplicate = names ? find_duplicate(names, n) : NULL;
	free(names);
	f->domain = shown(got[D], DKIMV_SHOWN_MAX);
	f->selector = shown(got[S], DKIMV_SHOWN_MAX);
	f->algorithm = shown(got[A], DKIMV_SHOWN_MAX);
	f->identity = shown(got[I], DKIMV_SHOWN_MAX);
	if (got[B]) {
		size_t blen;
		f->b = squeezed(got[B], &blen);
	}
	if (got[H])
		read_h(f, got[H]);
	read_body_key(&f->body, got[C], got[A], got[L]);
}

/* dkimv_field_signs - h= names this header field (case-insensitive) */
bool
dkimv_field_signs(const struct dkimv_field *f, const char *name)
{
	size_t nlen = strlen(name);
	const char *p = f->h, *end = f->h + f->h_len;

	if (f->h == NULL)
		return false;
	while (p <= end) {
		const char *colon = memchr(p, ':', (size_t)(end - p));
		const char *stop = colon ? colon : end;
		if ((size_t)(stop - p) == nlen && strncasecmp(p, name, nlen) == 0)
			return true;
		if (colon == NULL)
			break;
		p = colon + 1;
	}
	return false;
}

/* dkimv_body_key_equal - libopendkim would share one body hash between them */
bool
dkimv_body_key_equal(const struct dkimv_body_key *a, const struct dkimv_body_key *b)
{
	return a->canon == b->canon && a->hash == b->hash && a->length == b->length;
}

/* dkimv_field_free - release a field */
void
dkimv_field_free(struct dkimv_field *f)
{
	buf_free(&f->text);
	free(f->domain);
	free(f->selector);
	free(f->algorithm);
	free(f->identity);
	free(f->b);
	free(f->h);
	memset(f, 0, sizeof(*f));
}
