/*
 * spf_macro - RFC 7208 section 7 macro-strings: syntax check and expansion.
 *
 * Checking and expanding walk the same grammar; spf_macro_check() is the
 * expander with no environment, so the two can never disagree.
 */
#include "spf.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>


static bool
is_delimiter(char c)
{
	return c != '\0' && strchr(".-+,/_=", c) != NULL;
}

static const char *
macro_value(const struct spf_macro_env *env, char letter, char *scratch, size_t size)
{
	switch (tolower((unsigned char)letter)) {
	case 's': return env->sender;
	case 'l': return env->local;
	case 'o': return env->sender_domain;
	case 'd': return env->domain;
	case 'h': return env->helo && *env->helo ? env->helo : "unknown";
	case 'r': return env->receiver && *env->receiver ? env->receiver : "unknown";
	case 'i':
		ipaddr_dotted(env->ip, scratch, size);
		return scratch;
	case 'c':
		ipaddr_format(env->ip, scratch);
		return scratch;
	case 'v': return env->ip->family == AF_INET6 ? "ip6" : "in-addr";
	case 't':
		snprintf(scratch, size, "%lld", (long long)time(NULL));
		return scratch;
	case 'p': return env->validated_name ? env->validated_name(env->ctx) : "unknown";
	}
	return "";
}

/* add_escaped - the value, and for uppercase macro letters: escape all but RFC 3986 unreserved */
static void
add_escaped(struct buf *out, const char *s, size_t n, bool escape)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!escape || isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
			buf_addc(out, (char)c);
		else
			buf_printf(out, "%%%02X", c);
	}
}

/* transform - split on delimiters, maybe reverse, keep the rightmost digits parts */
static void
transform(struct buf *out, const char *value, unsigned keep, bool reverse,
	  const char *delims, bool escape)
{
	size_t max_parts = 1, n = 0;
	const char *p, *start = value;

	/* Every part is kept: dropping some would name another domain. */
	for (p = value; *p; p++)
		max_parts += strchr(delims, *p) != NULL;
	const char **part = xcalloc(max_parts, sizeof(*part));
	size_t *plen = xcalloc(max_parts, sizeof(*plen));
	for (p = value;; p++) {
		if (*p == '\0' || strchr(delims, *p)) {
			part[n] = start;
			plen[n++] = (size_t)(p - start);
			if (*p == '\0')
				break;
			start = p + 1;
		}
	}
	if (reverse)
		for (size_t i = 0; i < n / 2; i++) {
			const char *t = part[i];
			size_t tl = plen[i];
			part[i] = part[n - 1 - i], plen[i] = plen[n - 1 - i];
			part[n - 1 - i] = t, plen[n - 1 - i] = tl;
		}
	size_t first = (keep && keep < n) ? n - keep : 0;
	for (size_t i = first; i < n; i++) {
		if (i > first)
			buf_addc(out, '.');
		add_escaped(out, part[i], plen[i], escape);
	}
	free(part);
	free(plen);
}

/* expand - walk a macro-string; env NULL only checks syntax */
static bool
expand(const struct spf_macro_env *env, const char *text, size_t len, bool in_exp,
       struct buf *out)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c != '%') {
			/* macro-literal is visible ASCII; exp text may also carry spaces */
			if (c < 0x21 || c > 0x7e) {
				if (!(in_exp && c == ' '))
					return false;
			}
			if (out)
				buf_addc(out, (char)c);
			continue;
		}
		if (++i >= len)
			return false;
		switch (text[i]) {
		case '%': if (out) buf_addc(out, '%'); continue;
		case '_': if (out) buf_addc(out, ' '); continue;
		case '-': if (out) buf_adds(out, "%20"); continue;
		case '{': break;
		default: return false;
		}
		if (++i >= len)
			return false;
		char letter = text[i];
		if (!strchr("slodiphcrtvSLODIPHCRTV", letter) || letter == '\0')
			return false;
		if (!in_exp && strchr("crtCRT", letter))
			return false;
		i++;
		unsigned keep = 0, digits = 0;
		while (i < len && isdigit((unsigned char)text[i])) {
			if (keep < 1000)
				keep = keep * 10 + (unsigned)(text[i] - '0');
			i++, digits++;
		}
		if (digits && keep == 0)
			return false;
		bool reverse = false;
		if (i < len && (text[i] == 'r' || text[i] == 'R'))
			reverse = true, i++;
		char delims[8];
		size_t nd = 0;
		while (i < len && is_delimiter(text[i])) {
			if (nd < sizeof(delims) - 1 && !memchr(delims, text[i], nd))
				delims[nd++] = text[i];
			i++;
		}
		delims[nd] = '\0';
		if (nd == 0)
			delims[nd++] = '.', delims[nd] = '\0';
		if (i >= len || text[i] != '}')
			return false;
		if (out && env) {
			char scratch[80];
			const char *v = macro_value(env, letter, scratch, sizeof(scratch));
			transform(out, v ? v : "", keep, reverse, delims,
				  isupper((unsigned char)letter) != 0);
		}
	}
	return true;
}

/* spf_macro_check - is text a valid macro-string (explain-string if in_exp)? */
bool
spf_macro_check(const char *text, size_t len, bool in_exp)
{
	return expand(NULL, text, len, in_exp, NULL);
}

/* spf_macro_expand - append the expansion of text to out */
bool
spf_macro_expand(const struct spf_macro_env *env, const char *text, size_t len,
		 bool in_exp, struct buf *out)
{
	return expand(env, text, len, in_exp, out);
}

/* spf_domain_truncate - RFC 7208 7.3: drop left labels until 253 octets or fewer */
void
spf_domain_truncate(struct buf *name)
{
	size_t start = 0;

	if (name->len > 0 && name->data[name->len - 1] == '.')
		name->data[--name->len] = '\0';
	while (name->len - start > DNS_MAX_NAME) {
		char *dot = memchr(name->data + start, '.', name->len - start);
		if (dot == NULL)
			break;
		start = (size_t)(dot - name->data) + 1;
	}
	if (start) {
		memmove(name->data, name->data + start, name->len - start + 1);
		name->len -= start;
	}
}
