/*
 * mtasts_policy - RFC 8461 3.2 policy text: "key: value" lines ending in
 * CRLF (LF accepted), version first, then mode, max_age, mx (repeated);
 * unknown keys are ignored. A NUL byte, an over-long line, a repeated
 * single-valued key or a bad value make the whole policy unusable.
 */
#include "mtasts_policy.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MTASTS_MAX_LINE 1024

/* field - one "key: value" line into p; false with why on a bad line */
static bool
field(struct mtasts_policy *p, const char *key, size_t klen, const char *v, size_t vlen,
      bool first, struct buf *why)
{
	if (klen == 7 && memcmp(key, "version", 7) == 0) {
		if (!first || vlen != 5 || memcmp(v, "STSv1", 5) != 0) {
			buf_adds(why, first ? "version is not STSv1" : "version is not the first line");
			return false;
		}
		p->have_version = true;
	} else if (klen == 4 && memcmp(key, "mode", 4) == 0) {
		if (p->mode[0] || vlen >= sizeof(p->mode)) {
			buf_adds(why, p->mode[0] ? "mode given twice" : "mode is not enforce, testing "
				 "or none");
			return false;
		}
		memcpy(p->mode, v, vlen);
		p->mode[vlen] = '\0';
		if (strcmp(p->mode, "enforce") && strcmp(p->mode, "testing") && strcmp(p->mode, "none")) {
			buf_adds(why, "mode is not enforce, testing or none");
			return false;
		}
	} else if (klen == 7 && memcmp(key, "max_age", 7) == 0) {
		long long n = 0;
		if (p->max_age >= 0 || vlen == 0 || vlen > 10) {
			buf_adds(why, p->max_age >= 0 ? "max_age given twice" : "max_age is not a "
				 "number of at most 10 digits");
			return false;
		}
		for (size_t i = 0; i < vlen; i++) {
			if (!isdigit((unsigned char)v[i])) {
				buf_adds(why, "max_age is not a number");
				return false;
			}
			n = n * 10 + (v[i] - '0');
		}
		p->max_age = n;
	} else if (klen == 2 && memcmp(key, "mx", 2) == 0) {
		if (p->n_mx == MTASTS_MAX_MX) {
			buf_printf(why, "more than %d mx lines", MTASTS_MAX_MX);
			return false;
		}
		if (vlen == 0) {
			buf_adds(why, "an empty mx line");
			return false;
		}
		p->mx[p->n_mx++] = xstrndup(v, vlen);
	}
	return true;
}

/* line - split one line at the colon and trim */
static bool
line(struct mtasts_policy *p, const char *s, size_t len, bool first, struct buf *why)
{
	const char *colon = memchr(s, ':', len), *v, *end = s + len;
	size_t klen;

	if (len > MTASTS_MAX_LINE) {
		buf_printf(why, "a line longer than %d bytes", MTASTS_MAX_LINE);
		return false;
	}
	if (colon == NULL) {
		buf_adds(why, "a line without \"key: value\"");
		return false;
	}
	klen = (size_t)(colon - s);
	v = colon + 1;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	return field(p, s, klen, v, (size_t)(end - v), first, why);
}

/* parse_body - every line, then what must be there */
static bool
parse_body(const char *body, size_t len, struct mtasts_policy *p, struct buf *why)
{
	const char *s = body, *end = body + len;
	bool first = true;

	memset(p, 0, sizeof(*p));
	p->max_age = -1;
	if (memchr(body, '\0', len)) {
		buf_adds(why, "a NUL byte in the policy");
		return false;
	}
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *e = nl ? nl : end;
		size_t l = (size_t)(e - s);
		if (l > 0 && s[l - 1] == '\r')
			l--;
		if (l > 0) {
			if (!line(p, s, l, first, why))
				return false;
			first = false;
		}
		s = nl ? nl + 1 : end;
	}
	if (!p->have_version || !p->mode[0] || p->max_age < 0) {
		buf_printf(why, "no %s line", !p->have_version ? "version" : !p->mode[0] ? "mode"
			   : "max_age");
		return false;
	}
	if (p->n_mx == 0 && strcmp(p->mode, "none") != 0) {
		buf_adds(why, "no mx line");
		return false;
	}
	return true;
}

/* mtasts_policy_parse - see the file comment; nothing to free on failure */
bool
mtasts_policy_parse(const char *body, size_t len, struct mtasts_policy *p, struct buf *why)
{
	if (parse_body(body, len, p, why))
		return true;
	mtasts_policy_free(p);
	return false;
}

/* mtasts_policy_free - the mx patterns */
void
mtasts_policy_free(struct mtasts_policy *p)
{
	for (size_t i = 0; i < p->n_mx; i++)
		free(p->mx[i]);
	p->n_mx = 0;
}

/* mtasts_mx_match - RFC 8461 4.1: a wildcard covers exactly one leftmost label */
bool
mtasts_mx_match(const char *pattern, const char *host)
{
	const char *dot;

	if (strncmp(pattern, "*.", 2) != 0)
		return strcasecmp(pattern, host) == 0;
	dot = strchr(host, '.');
	return dot != NULL && dot != host && strcasecmp(dot + 1, pattern + 2) == 0;
}
