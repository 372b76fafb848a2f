/*
 * spf_record - parse one SPF record into terms (RFC 7208 sections 4.6, 5, 6).
 *
 * The parse is complete before evaluation starts: any syntax error anywhere
 * makes the record a permerror, whatever mechanism would have matched first.
 * Terms point into the record text; nothing is copied.
 */
#include "spf_record.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char *name;
	enum spf_mech_type type;
} mech_names[] = {
	{ "all", SPF_MECH_ALL }, { "include", SPF_MECH_INCLUDE }, { "a", SPF_MECH_A },
	{ "mx", SPF_MECH_MX }, { "ptr", SPF_MECH_PTR }, { "ip4", SPF_MECH_IP4 },
	{ "ip6", SPF_MECH_IP6 }, { "exists", SPF_MECH_EXISTS },
};

/* spf_record_is_spf - "v=spf1" followed by a space or the end */
bool
spf_record_is_spf(const char *txt)
{
	return strncasecmp(txt, "v=spf1", 6) == 0 && (txt[6] == '\0' || txt[6] == ' ');
}

/* ends_with_macro - does the macro-string end in a macro-expand? */
static bool
ends_with_macro(const char *s, size_t len)
{
	size_t last_end = (size_t)-1;

	for (size_t i = 0; i < len; i++) {
		if (s[i] != '%' || i + 1 >= len)
			continue;
		if (s[i + 1] != '{') {
			i++;	/* %%, %_ or %- */
			continue;
		}
		const char *close = memchr(s + i, '}', len - i);
		if (close == NULL)
			return false;
		i = (size_t)(close - s);
		last_end = i + 1;
	}
	return last_end == len;
}

/* toplabel_ok - RFC 7208 toplabel: alphanumerics and inner hyphens, not all digits */
static bool
toplabel_ok(const char *s, size_t n)
{
	bool alpha = false, hyphen = false;

	if (n == 0 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (isalpha(c))
			alpha = true;
		else if (c == '-')
			hyphen = true;
		else if (!isdigit(c))
			return false;
	}
	return alpha || hyphen;
}

/* domain_spec_ok - macro-string followed by domain-end */
static bool
domain_spec_ok(const char *s, size_t len)
{
	if (len == 0 || !spf_macro_check(s, len, false))
		return false;
	if (ends_with_macro(s, len))
		return true;
	if (s[len - 1] == '.')
		len--;
	const char *dot = NULL;
	for (size_t i = len; i > 0; i--)
		if (s[i - 1] == '.') {
			dot = s + i - 1;
			break;
		}
	if (dot == NULL)
		return false;
	return toplabel_ok(dot + 1, (size_t)(s + len - dot - 1));
}

/* parse_cidr - "/N" with no leading zero and N <= max */
static bool
parse_cidr(const char *s, size_t len, unsigned max, unsigned *out)
{
	unsigned v = 0;

	if (len == 0 || len > 3 || (len > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

/* trailing_digits_slash - start of a "/digits" suffix ending at end, or -1 */
static long
trailing_digits_slash(const char *s, size_t end)
{
	size_t i = end;

	while (i > 0 && isdigit((unsigned char)s[i - 1]))
		i--;
	if (i == end || i == 0 || s[i - 1] != '/')
		return -1;
	return (long)(i - 1);
}

/* split_dual_cidr - peel [ "/" ip4-cidr ] [ "//" ip6-cidr ] off the end of arg */
static bool
split_dual_cidr(struct spf_term *t, const char *arg, size_t *len)
{
	long p = trailing_digits_slash(arg, *len);

	if (p > 0 && arg[p - 1] == '/') {
		if (!parse_cidr(arg + p + 1, *len - (size_t)p - 1, 128, &t->cidr6))
			return false;
		*len = (size_t)p - 1;
		p = trailing_digits_slash(arg, *len);
	}
	if (p >= 0) {
		if (!parse_cidr(arg + p + 1, *len - (size_t)p - 1, 32, &t->cidr4))
			return false;
		*len = (size_t)p;
	}
	return true;
}

/* parse_domain_arg - optional or required ":domain-spec" */
static bool
parse_domain_arg(struct spf_term *t, const char *arg, size_t len, bool required)
{
	if (len == 0)
		return !required;
	if (arg[0] != ':' || !domain_spec_ok(arg + 1, len - 1))
		return false;
	t->domain = arg + 1;
	t->domain_len = len - 1;
	return true;
}

static bool
parse_ip_arg(struct spf_term *t, const char *arg, size_t len)
{
	char text[64];
	const char *slash;
	size_t n;

	if (len < 2 || arg[0] != ':')
		return false;
	arg++, len--;
	slash = memchr(arg, '/', len);
	n = slash ? (size_t)(slash - arg) : len;
	if (slash && !parse_cidr(slash + 1, len - n - 1, t->type == SPF_MECH_IP4 ? 32 : 128,
				 t->type == SPF_MECH_IP4 ? &t->cidr4 : &t->cidr6))
		return false;
	if (t->type == SPF_MECH_IP4)
		return ipaddr_parse_ip4_strict(arg, n, &t->net);
	if (n >= sizeof(text))
		return false;
	memcpy(text, arg, n);
	text[n] = '\0';
	t->net.family = AF_INET6;
	return inet_pton(AF_INET6, text, t->net.bytes) == 1;
}

static bool
parse_mechanism(struct spf_term *t, const char *s, size_t len, struct buf *why)
{
	const char *name = s;
	size_t n = 0;

	t->qualifier = SPF_PASS;
	if (len && strchr("+-~?", s[0])) {
		t->qualifier = s[0] == '-' ? SPF_FAIL : s[0] == '~' ? SPF_SOFTFAIL
			     : s[0] == '?' ? SPF_NEUTRAL : SPF_PASS;
		name++, len--;
	}
	while (n < len && name[n] != ':' && name[n] != '/')
		n++;
	size_t i;
	for (i = 0; i < sizeof(mech_names) / sizeof(mech_names[0]); i++)
		if (strlen(mech_names[i].name) == n && strncasecmp(mech_names[i].name, name, n) == 0)
			break;
	if (i == sizeof(mech_names) / sizeof(mech_names[0])) {
		buf_printf(why, "unknown mechanism \"%.*s\"", (int)(n > 40 ? 40 : n), name);
		return false;
	}
	t->type = mech_names[i].type;
	t->cidr4 = 32;
	t->cidr6 = 128;
	const char *arg = name + n;
	size_t arg_len = len - n;
	bool ok;
	switch (t->type) {
	case SPF_MECH_ALL:
		ok = arg_len == 0;
		break;
	case SPF_MECH_INCLUDE:
	case SPF_MECH_EXISTS:
		ok = parse_domain_arg(t, arg, arg_len, true);
		break;
	case SPF_MECH_A:
	case SPF_MECH_MX:
		ok = split_dual_cidr(t, arg, &arg_len) && parse_domain_arg(t, arg, arg_len, false);
		break;
	case SPF_MECH_PTR:
		ok = parse_domain_arg(t, arg, arg_len, false);
		break;
	default:
		ok = parse_ip_arg(t, arg, arg_len);
		break;
	}
	if (!ok)
		buf_printf(why, "bad %s argument", mech_names[i].name);
	return ok;
}

/* modifier_name_len - length of a modifier name followed by '=', else 0 */
static size_t
modifier_name_len(const char *s, size_t len)
{
	size_t n = 0;

	if (len == 0 || !isalpha((unsigned char)s[0]))
		return 0;
	while (n < len && (isalnum((unsigned char)s[n]) || strchr("-_.", s[n])))
		n++;
	return n < len && s[n] == '=' ? n : 0;
}

static bool
parse_modifier(struct spf_record *rec, const char *s, size_t len, size_t name_len,
	       struct buf *why)
{
	const char *value = s + name_len + 1;
	size_t value_len = len - name_len - 1;
	const char **slot = NULL;
	size_t *slot_len = NULL;

	if (name_len == 8 && strncasecmp(s, "redirect", 8) == 0)
		slot = &rec->redirect, slot_len = &rec->redirect_len;
	else if (name_len == 3 && strncasecmp(s, "exp", 3) == 0)
		slot = &rec->exp, slot_len = &rec->exp_len;
	if (slot == NULL) {
		/* unknown modifiers are ignored, but must still be well formed */
		if (spf_macro_check(value, value_len, false))
			return true;
		buf_printf(why, "bad macro in modifier \"%.*s\"", (int)name_len, s);
		return false;
	}
	if (*slot) {
		buf_printf(why, "%.*s= given twice", (int)name_len, s);
		return false;
	}
	if (!domain_spec_ok(value, value_len)) {
		buf_printf(why, "bad domain in %.*s=", (int)name_len, s);
		return false;
	}
	*slot = value;
	*slot_len = value_len;
	return true;
}

/* count_words - space-separated words in p: an upper bound on the terms */
static size_t
count_words(const char *p)
{
	size_t n = 0;

	for (; *p; p++)
		n += *p != ' ' && (p[1] == ' ' || p[1] == '\0');
	return n;
}

/* spf_record_parse - the whole record or nothing; why says what is wrong;
 * free with spf_record_free either way */
bool
spf_record_parse(const char *txt, struct spf_record *rec, struct buf *why)
{
	const char *p = txt + 6;	/* past "v=spf1", checked by the caller */

	memset(rec, 0, sizeof(*rec));
	rec->terms = xcalloc(count_words(p) + 1, sizeof(*rec->terms));
	while (*p) {
		if (*p != ' ') {
			buf_adds(why, "terms must be separated by spaces");
			return false;
		}
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		const char *start = p;
		while (*p && *p != ' ')
			p++;
		size_t len = (size_t)(p - start);
		size_t name_len = modifier_name_len(start, len);
		if (name_len) {
			if (!parse_modifier(rec, start, len, name_len, why))
				return false;
			continue;
		}
		struct spf_term *t = &rec->terms[rec->n_terms];
		t->text = start;
		t->text_len = len;
		if (!parse_mechanism(t, start, len, why))
			return false;
		rec->n_terms++;
	}
	return true;
}

/* spf_record_free - the term array */
void
spf_record_free(struct spf_record *rec)
{
	free(rec->terms);
	rec->terms = NULL;
	rec->n_terms = 0;
}
