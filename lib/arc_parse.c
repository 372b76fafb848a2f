/*
 * arc_parse - the tag-lists of ARC-Seal and ARC-Message-Signature (RFC 6376
 * 3.2, as RFC 8617 4.1 says), the "i=N;" prefix of an AAR.
 *
 * Strict, as the RFC grammar is: a tag name is ALPHA *(ALPHA / DIGIT / "_"),
 * names are case-sensitive, a name twice or an empty tag-spec (";;") makes
 * the list invalid, a value is VALCHARs with folding white space between.
 * Each call is one pass over the value; at most ARC_MAX_TAGS tags are read.
 */
#include "arc_int.h"

#include <ctype.h>
#include <string.h>

static bool
is_fws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static size_t
skip_fws(const char *v, size_t i, size_t len)
{
	while (i < len && is_fws(v[i]))
		i++;
	return i;
}

/* read_name - tag-name at v[*i]; false when there is none */
static bool
read_name(const char *v, size_t *i, size_t len, struct arc_tag *t)
{
	size_t s = *i;

	if (s >= len || !isalpha((unsigned char)v[s]))
		return false;
	while (*i < len && (isalnum((unsigned char)v[*i]) || v[*i] == '_'))
		(*i)++;
	t->name = v + s;
	t->name_len = *i - s;
	return true;
}

/* read_value - up to ';' or the end; false on a byte that is no VALCHAR or FWS */
static bool
read_value(const char *v, size_t *i, size_t len, struct arc_tag *t)
{
	size_t s, e;

	t->raw_start = *i;
	s = skip_fws(v, *i, len);
	e = s;
	while (*i < len && v[*i] != ';') {
		unsigned char c = (unsigned char)v[*i];
		if (!is_fws((char)c) && (c < 0x21 || c > 0x7e))
			return false;
		(*i)++;
		if (!is_fws((char)c))
			e = *i;
	}
	t->raw_end = *i;
	t->value = v + s;
	t->value_len = e > s ? e - s : 0;
	return true;
}

/* arc_tags_parse - the whole list; false with a static why when it is not one */
bool
arc_tags_parse(const char *v, size_t len, struct arc_tags *out, const char **why)
{
	size_t i = 0;

	out->n = 0;
	for (;;) {
		struct arc_tag t;
		i = skip_fws(v, i, len);
		if (i >= len)
			return true;
		if (!read_name(v, &i, len, &t))
			return *why = "invalid tag name", false;
		i = skip_fws(v, i, len);
		if (i >= len || v[i] != '=')
			return *why = "tag without '='", false;
		i++;
		if (!read_value(v, &i, len, &t))
			return *why = "invalid byte in a tag value", false;
		for (size_t k = 0; k < out->n; k++)
			if (out->t[k].name_len == t.name_len
			    && memcmp(out->t[k].name, t.name, t.name_len) == 0)
				return *why = "duplicate tag", false;
		if (out->n == ARC_MAX_TAGS)
			return *why = "too many tags", false;
		out->t[out->n++] = t;
		if (i < len)
			i++;	/* the ';' */
	}
}

/* arc_tag_get - the tag called name (case-sensitive), or NULL */
const struct arc_tag *
arc_tag_get(const struct arc_tags *tags, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < tags->n; i++)
		if (tags->t[i].name_len == n && memcmp(tags->t[i].name, name, n) == 0)
			return &tags->t[i];
	return NULL;
}

/* arc_tag_is - the value equals s exactly */
bool
arc_tag_is(const struct arc_tag *t, const char *s)
{
	return t && t->value_len == strlen(s) && memcmp(t->value, s, t->value_len) == 0;
}

/* arc_instance_parse - 1*DIGIT, not 0; larger than ARC_MAX_INSTANCES is
 * returned as ARC_MAX_INSTANCES + 1 (too many, never a smaller number) */
bool
arc_instance_parse(const char *s, size_t len, unsigned *out)
{
	unsigned n = 0;

	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		if (n <= ARC_MAX_INSTANCES)
			n = n * 10 + (unsigned)(s[i] - '0');
	}
	if (n == 0)
		return false;
	*out = n > ARC_MAX_INSTANCES ? ARC_MAX_INSTANCES + 1 : n;
	return true;
}

/* arc_aar_instance - N of an AAR value "i=N; ...", 0 when it does not start so */
unsigned
arc_aar_instance(const char *v, size_t len)
{
	size_t i = skip_fws(v, 0, len), s;
	unsigned n;

	if (i >= len || v[i] != 'i')
		return 0;
	i = skip_fws(v, i + 1, len);
	if (i >= len || v[i] != '=')
		return 0;
	i = skip_fws(v, i + 1, len);
	s = i;
	while (i < len && isdigit((unsigned char)v[i]))
		i++;
	if (!arc_instance_parse(v + s, i - s, &n))
		return 0;
	i = skip_fws(v, i, len);
	return i < len && v[i] == ';' ? n : 0;
}

/* canon_word - "simple" or "relaxed", len bytes at p */
static bool
canon_word(const char *p, size_t len, enum arc_canon *out)
{
	if (len == 7 && memcmp(p, "relaxed", 7) == 0)
		*out = ARC_CANON_RELAXED;
	else if (len == 6 && memcmp(p, "simple", 6) == 0)
		*out = ARC_CANON_SIMPLE;
	else
		return false;
	return true;
}

/* arc_canon_parse - c= (RFC 6376 3.5: "header[/body]", simple when absent);
 * false when it names no canonicalization; body may be NULL */
bool
arc_canon_parse(const struct arc_tag *c, enum arc_canon *header, enum arc_canon *body)
{
	enum arc_canon b = ARC_CANON_SIMPLE;
	const char *slash;
	size_t n;

	*header = ARC_CANON_SIMPLE;
	if (c != NULL) {
		slash = memchr(c->value, '/', c->value_len);
		n = slash ? (size_t)(slash - c->value) : c->value_len;
		if (!canon_word(c->value, n, header)
		    || (slash && !canon_word(slash + 1, c->value_len - n - 1, &b)))
			return false;
	}
	if (body)
		*body = b;
	return true;
}

/* arc_domain_ok - d= or s=: dot-separated labels of letters, digits, '-' and '_' */
bool
arc_domain_ok(const struct arc_tag *t)
{
	bool label_empty = true;

	if (t == NULL || t->value_len == 0)
		return false;
	for (size_t i = 0; i < t->value_len; i++) {
		char c = t->value[i];
		if (c == '.') {
			if (label_empty)
				return false;
			label_empty = true;
		} else if (isalnum((unsigned char)c) || c == '-' || c == '_') {
			label_empty = false;
		} else {
			return false;
		}
	}
	return !label_empty;
}
