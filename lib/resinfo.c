/*
 * resinfo - a bounded reader for RFC 8601 Authentication-Results payloads.
 *
 * The grammar (section 2.2) in the shape read here:
 *   [CFWS] authserv-id [CFWS version] ( ";" "none" / 1*( ";" resinfo ) )
 *   resinfo = method [/version] "=" result [reason=value] *(ptype.property=pvalue)
 * Comments nest up to RESINFO_MAX_DEPTH; every token is capped; a value
 * that passes a cap or breaks the grammar is an error as a whole.
 */
#include "resinfo.h"
#include "buf.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct reader {
	const char *p, *end;
	const char *why;		/* set with the first error */
};

/* fail - record the first error; always false */
static bool
fail(struct reader *r, const char *why)
{
	if (r->why == NULL)
		r->why = why;
	return false;
}

/* skip_cfws - white space, folding and (nested) comments */
static bool
skip_cfws(struct reader *r)
{
	int depth = 0;

	for (; r->p < r->end; r->p++) {
		char c = *r->p;
		if (depth > 0 && c == '\\') {
			if (++r->p == r->end)
				break;
		} else if (c == '(') {
			if (++depth > RESINFO_MAX_DEPTH)
				return fail(r, "comments nested too deep");
		} else if (c == ')') {
			if (depth == 0)
				return fail(r, "unbalanced comment");
			depth--;
		} else if (depth == 0 && c != ' ' && c != '\t' && c != '\r' && c != '\n') {
			return true;
		}
	}
	return depth == 0 || fail(r, "unterminated comment");
}

static bool
at(const struct reader *r, char c)
{
	return r->p < r->end && *r->p == c;
}

/* expect - c after optional CFWS, then CFWS */
static bool
expect(struct reader *r, char c, const char *why)
{
	if (!skip_cfws(r))
		return false;
	if (!at(r, c))
		return fail(r, why);
	r->p++;
	return skip_cfws(r);
}

static bool
is_keyword_char(int c)
{
	return isalnum(c) || c == '-' || c == '_';
}

/* RFC 2045 token: printable, no space, no tspecials */
static bool
is_token_char(int c)
{
	return c > 0x20 && c < 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* pvalue outside quotes: addresses, domains, base64 (with = + /) */
static bool
is_pvalue_char(int c)
{
	return c > 0x20 && c < 0x7f && strchr(";()\"\\", c) == NULL;
}

/* read_run - characters while ok(); empty is an error unless allowed */
static char *
read_run(struct reader *r, bool (*ok)(int), bool lower, bool allow_empty, const char *what)
{
	const char *start = r->p;

	while (r->p < r->end && ok((unsigned char)*r->p))
		r->p++;
	if (r->p == start && !allow_empty)
		return fail(r, what), NULL;
	if ((size_t)(r->p - start) > RESINFO_MAX_TOKEN)
		return fail(r, "token too long"), NULL;
	char *s = xstrndup(start, (size_t)(r->p - start));
	for (char *q = s; lower && *q; q++)
		*q = (char)tolower((unsigned char)*q);
	return s;
}

/* read_quoted - a quoted-string, unescaped */
static char *
read_quoted(struct reader *r)
{
	struct buf b;

	buf_init(&b);
	for (r->p++; r->p < r->end && *r->p != '"'; r->p++) {
		if (*r->p == '\\' && ++r->p == r->end)
			break;
		if (b.len == RESINFO_MAX_TOKEN) {
			buf_free(&b);
			return fail(r, "quoted value too long"), NULL;
		}
		buf_addc(&b, *r->p);
	}
	if (r->p == r->end) {
		buf_free(&b);
		return fail(r, "unterminated quoted value"), NULL;
	}
	r->p++;
	return buf_steal(&b);
}

/* read_value - quoted-string or a run of ok() characters */
static char *
read_value(struct reader *r, bool (*ok)(int), bool allow_empty)
{
	if (at(r, '"'))
		return read_quoted(r);
	return read_run(r, ok, false, allow_empty, "missing value");
}

static bool
is_digit(int c)
{
	return isdigit(c) != 0;
}

/* skip_digits - a version number ("/1", " 1") and the CFWS after it */
static bool
skip_digits(struct reader *r)
{
	char *v = read_run(r, is_digit, false, false, "bad version");

	free(v);
	return v != NULL && skip_cfws(r);
}

/* read_prop - "reason=value" or "ptype.property=pvalue" into res */
static bool
read_prop(struct reader *r, struct resinfo *res)
{
	char *name = read_run(r, is_keyword_char, true, false, "bad property"), *prop, *value;
	struct buf full;

	if (name == NULL)
		return false;
	if (res->n_props == RESINFO_MAX_PROPS) {
		free(name);
		return fail(r, "too many properties");
	}
	if (strcmp(name, "reason") == 0) {
		value = expect(r, '=', "reason without =") ? read_value(r, is_token_char, false) : NULL;
	} else {
		if (!expect(r, '.', "property without ptype.")) {
			free(name);
			return false;
		}
		prop = read_run(r, is_keyword_char, true, false, "bad property name");
		if (prop == NULL) {
			free(name);
			return false;
		}
		buf_init(&full);
		buf_printf(&full, "%s.%s", name, prop);
		free(name);
		free(prop);
		name = buf_steal(&full);
		value = expect(r, '=', "property without =") ? read_value(r, is_pvalue_char, true) : NULL;
	}
	if (value == NULL) {
		free(name);
		return false;
	}
	res->props[res->n_props].name = name;
	res->props[res->n_props++].value = value;
	return skip_cfws(r);
}

/* read_resinfo - one "method=result props" after its ';' */
static bool
read_resinfo(struct reader *r, struct resinfo *res)
{
	memset(res, 0, sizeof(*res));
	res->method = read_run(r, is_keyword_char, true, false, "bad method");
	if (res->method == NULL || !skip_cfws(r))
		return false;
	if (at(r, '/')) {
		r->p++;
		if (!skip_cfws(r) || !skip_digits(r))
			return false;
	}
	if (!expect(r, '=', "method without ="))
		return false;
	res->result = read_run(r, is_keyword_char, true, false, "bad result");
	if (res->result == NULL || !skip_cfws(r))
		return false;
	while (r->p < r->end && *r->p != ';')
		if (!read_prop(r, res))
			return false;
	return true;
}

static void
resinfo_one_free(struct resinfo *res)
{
	free(res->method);
	free(res->result);
	for (size_t i = 0; i < res->n_props; i++) {
		free(res->props[i].name);
		free(res->props[i].value);
	}
}

/* read_results - the "; resinfo" list, or "; none" */
static bool
read_results(struct reader *r, struct resinfo_list *out)
{
	bool none = false;

	while (skip_cfws(r) && r->p < r->end) {
		if (!at(r, ';'))
			return fail(r, "expected ;");
		r->p++;
		if (!skip_cfws(r))
			return false;
		if (r->p == r->end)
			break;		/* a trailing ';' is common and harmless */
		if (none)
			return fail(r, "results after none");
		if (r->end - r->p >= 4 && strncasecmp(r->p, "none", 4) == 0
		    && (r->end - r->p == 4 || !is_keyword_char((unsigned char)r->p[4]))) {
			const char *after = r->p + 4;
			r->p = after;
			if (!skip_cfws(r))
				return false;
			if (r->p == r->end || *r->p == ';') {
				if (out->n)
					return fail(r, "none after results");
				none = true;
				continue;
			}
			r->p = after - 4;	/* a method called none-something */
		}
		if (out->n == RESINFO_MAX_RESULTS)
			return fail(r, "too many results");
		if (!read_resinfo(r, &out->results[out->n])) {
			resinfo_one_free(&out->results[out->n]);
			return false;
		}
		out->n++;
	}
	return r->why == NULL;
}

/* resinfo_parse - the whole payload; on error out holds nothing */
bool
resinfo_parse(const char *value, size_t len, struct resinfo_list *out, const char **why)
{
	struct reader r = { value, value + len, NULL };

	memset(out, 0, sizeof(*out));
	if (len > RESINFO_MAX_INPUT)
		return *why = "Authentication-Results value too long", false;
	if (memchr(value, '\0', len))
		return *why = "NUL byte in Authentication-Results", false;
	out->results = xcalloc(RESINFO_MAX_RESULTS, sizeof(*out->results));
	if (skip_cfws(&r)) {
		out->authserv_id = read_value(&r, is_token_char, false);
		if (out->authserv_id && skip_cfws(&r) && r.p < r.end && isdigit((unsigned char)*r.p))
			(void)skip_digits(&r);
		if (out->authserv_id && r.why == NULL)
			(void)read_results(&r, out);
	}
	if (r.why) {
		*why = r.why;
		resinfo_free(out);
		return false;
	}
	*why = NULL;
	return true;
}

/* resinfo_free - release; l may be reused */
void
resinfo_free(struct resinfo_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		resinfo_one_free(&l->results[i]);
	free(l->results);
	free(l->authserv_id);
	memset(l, 0, sizeof(*l));
}

/* resinfo_get - a property's value */
const char *
resinfo_get(const struct resinfo *r, const char *name)
{
	for (size_t i = 0; i < r->n_props; i++)
		if (strcmp(r->props[i].name, name) == 0)
			return r->props[i].value;
	return NULL;
}
