/*
 * authres - compose and recognise Authentication-Results header values.
 */
#include "authres.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#define AUTHRES_MAX_ID 256
#define AUTHRES_MAX_COMMENT 200
#define AUTHRES_FOLD_WIDTH 78

/* authres_sanitize - copy printable ASCII, replacing the rest with '?' */
void
authres_sanitize(struct buf *out, const char *in, size_t max)
{
	size_t n = strlen(in);

	for (size_t i = 0; i < n && i < max; i++) {
		unsigned char c = (unsigned char)in[i];
		buf_addc(out, c >= 0x20 && c < 0x7f ? (char)c : '?');
	}
	if (n > max)
		buf_adds(out, "...");
}

/* authres_begin - "authserv-id;" */
void
authres_begin(struct authres *ar, const char *authserv_id)
{
	buf_init(&ar->text);
	ar->has_result = false;
	authres_sanitize(&ar->text, authserv_id, AUTHRES_MAX_ID);
}

static void
add_comment(struct buf *b, const char *comment)
{
	size_t n = strlen(comment);

	buf_adds(b, " (");
	for (size_t i = 0; i < n && i < AUTHRES_MAX_COMMENT; i++) {
		unsigned char c = (unsigned char)comment[i];
		if (c == '(' || c == ')' || c == '\\')
			buf_addc(b, '\\');
		buf_addc(b, c >= 0x20 && c < 0x7f ? (char)c : '?');
	}
	if (n > AUTHRES_MAX_COMMENT)
		buf_adds(b, "...");
	buf_addc(b, ')');
}

/* authres_add - "; method=result (comment)" */
void
authres_add(struct authres *ar, const char *method, const char *result, const char *comment)
{
	buf_printf(&ar->text, "; %s=%s", method, result);
	if (comment && *comment)
		add_comment(&ar->text, comment);
	ar->has_result = true;
}

/* is_plain_value - fits RFC 8601 pvalue without quoting (token chars plus @) */
static bool
is_plain_value(const char *v)
{
	if (*v == '\0')
		return false;
	for (; *v; v++) {
		unsigned char c = (unsigned char)*v;
		if (c <= 0x20 || c >= 0x7f || strchr("()<>,;:\\\"/[]?=", c))
			return false;
	}
	return true;
}

/* authres_prop - " ptype.property=value", quoted when it must be; a value
 * over AUTHRES_MAX_VALUE is left out, since a shortened one names something else */
void
authres_prop(struct authres *ar, const char *ptype_property, const char *value)
{
	size_t n = strlen(value);

	if (n > AUTHRES_MAX_VALUE)
		return;
	buf_printf(&ar->text, " %s=", ptype_property);
	if (is_plain_value(value)) {
		buf_adds(&ar->text, value);
		return;
	}
	buf_addc(&ar->text, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)value[i];
		if (c == '"' || c == '\\')
			buf_addc(&ar->text, '\\');
		buf_addc(&ar->text, c >= 0x20 && c < 0x7f ? (char)c : '?');
	}
	buf_addc(&ar->text, '"');
}

/* authres_finish - the value; "none" when no method ran (RFC 8601 2.2) */
char *
authres_finish(struct authres *ar)
{
	if (!ar->has_result)
		buf_adds(&ar->text, "; none");
	return buf_steal(&ar->text);
}

/* authres_mark - the length of the value built so far */
size_t
authres_mark(const struct authres *ar)
{
	return ar->text.len;
}

/* authres_rollback - drop what was added after mark */
void
authres_rollback(struct authres *ar, size_t mark)
{
	if (mark < ar->text.len) {
		ar->text.len = mark;
		ar->text.data[mark] = '\0';
	}
}

/* skip_cfws - white space and (nested) comments */
static const char *
skip_cfws(const char *p)
{
	int depth = 0;

	for (; *p; p++) {
		if (*p == '\\' && depth > 0 && p[1]) {
			p++;
			continue;
		}
		if (*p == '(')
			depth++;
		else if (*p == ')' && depth > 0)
			depth--;
		else if (depth == 0 && !isspace((unsigned char)*p))
			break;
	}
	return p;
}

/* authres_id_of - RFC 8601 authserv-id (a token or quoted-string) */
bool
authres_id_of(const char *value, char *out, size_t size)
{
	const char *p = skip_cfws(value);
	size_t n = 0;

	if (size == 0)
		return false;
	if (*p == '"') {
		for (p++; *p && *p != '"'; p++) {
			if (*p == '\\' && p[1])
				p++;
			if (n + 1 == size)
				return out[0] = '\0', false;	/* too long: not shortened */
			out[n++] = *p;
		}
	} else {
		for (; *p && *p != ';' && *p != '(' && !isspace((unsigned char)*p); p++) {
			if (n + 1 == size)
				return out[0] = '\0', false;
			out[n++] = *p;
		}
	}
	out[n] = '\0';
	return n > 0;
}

/* authres_is_ours - does this existing header claim our authserv-id? */
bool
authres_is_ours(const char *value, const char *authserv_id)
{
	char id[512];

	return authres_id_of(value, id, sizeof(id)) && strcasecmp(id, authserv_id) == 0;
}

/* next_word - end of the word at p: up to a space outside a quoted-string */
static const char *
next_word(const char *p, bool *ends_result)
{
	const char *start = p;
	bool quoted = false;
	int depth = 0;

	for (; *p && (quoted || *p != ' '); p++) {
		if (*p == '\\' && p[1])
			p++;
		else if (*p == '"' && depth == 0)
			quoted = !quoted;
		else if (!quoted && *p == '(')
			depth++;
		else if (!quoted && *p == ')' && depth > 0)
			depth--;
	}
	*ends_result = p > start && depth == 0 && !quoted && p[-1] == ';';
	return p;
}

/* authres_fold - one result per line when it does not fit on one line, and
 * breaks between words of a result that would pass AUTHRES_FOLD_WIDTH, so
 * no line comes near RFC 5322's 998-octet limit whatever the values are */
char *
authres_fold(const char *name, const char *value)
{
	bool one_line = strlen(name) + 2 + strlen(value) <= AUTHRES_FOLD_WIDTH;
	bool break_next = false, ends_result;
	size_t col = strlen(name) + 2;
	const char *p = value;
	struct buf b;

	buf_init(&b);
	while (*p == ' ')
		p++;
	value = p;
	while (*p) {
		const char *end = next_word(p, &ends_result);
		size_t n = (size_t)(end - p);
		if (p != value) {
			if (break_next || col + 1 + n > AUTHRES_FOLD_WIDTH) {
				buf_adds(&b, "\n\t");
				col = 8;
			} else {
				buf_addc(&b, ' ');
				col++;
			}
		}
		buf_add(&b, p, n);
		col += n;
		break_next = ends_result && !one_line;
		for (p = end; *p == ' '; p++)
			;
	}
	return buf_steal(&b);
}
