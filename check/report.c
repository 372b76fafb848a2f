/*
 * report - collect findings and print them (see report.h).
 */
#include "report.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const char *const status_names[] = { "ok", "warn", "fail", "error" };
/* green, yellow, red, magenta: only when writing to a terminal */
static const char *const status_colours[] = { "\033[32m", "\033[33m", "\033[31m", "\033[35m" };

/* check_status_name - the status word of contract 10 */
const char *
check_status_name(enum check_status st)
{
	return status_names[st];
}

/* report_init - an empty report for domain (or a message file) */
void
report_init(struct report *r, const char *domain)
{
	memset(r, 0, sizeof(*r));
	r->domain = xstrdup(domain);
}

/* report_free - the items and their texts */
void
report_free(struct report *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->items[i].id);
		free(r->items[i].message);
		free(r->items[i].advice);
		free(r->items[i].extra);
		buf_free(&r->items[i].details);
	}
	free(r->items);
	free(r->domain);
	memset(r, 0, sizeof(*r));
}

/* report_add - one more finding; the message is a printf format */
struct check_item *
report_add(struct report *r, const char *id, enum check_status st, const char *fmt, ...)
{
	struct check_item *c;
	struct buf text;
	va_list ap;

	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 32;
		r->items = xrealloc(r->items, r->cap * sizeof(*r->items));
	}
	c = &r->items[r->n++];
	memset(c, 0, sizeof(*c));
	c->id = xstrdup(id);
	c->status = st;
	buf_init(&text);
	va_start(ap, fmt);
	buf_vprintf(&text, fmt, ap);
	va_end(ap);
	c->message = buf_steal(&text);
	buf_init(&c->details);
	return c;
}

/* item_advice - the one sentence that says what to do */
void
item_advice(struct check_item *c, const char *fmt, ...)
{
	struct buf text;
	va_list ap;

	buf_init(&text);
	va_start(ap, fmt);
	buf_vprintf(&text, fmt, ap);
	va_end(ap);
	free(c->advice);
	c->advice = buf_steal(&text);
}

/* item_extra - lines shown under the finding in the readable report */
void
item_extra(struct check_item *c, const char *text)
{
	free(c->extra);
	c->extra = xstrdup(text);
}

/* json_string - s as a JSON string; bytes outside printable ASCII escaped */
void
json_string(struct buf *b, const char *s)
{
	buf_addc(b, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\') {
			buf_addc(b, '\\');
			buf_addc(b, (char)*p);
		} else if (*p < 0x20 || *p >= 0x7f) {
			buf_printf(b, "\\u%04x", *p);
		} else {
			buf_addc(b, (char)*p);
		}
	}
	buf_addc(b, '"');
}

static void
member(struct check_item *c, const char *key)
{
	if (c->details.len)
		buf_adds(&c->details, ", ");
	json_string(&c->details, key);
	buf_adds(&c->details, ": ");
}

/* item_str - a string detail (NULL is JSON null) */
void
item_str(struct check_item *c, const char *key, const char *value)
{
	member(c, key);
	if (value)
		json_string(&c->details, value);
	else
		buf_adds(&c->details, "null");
}

/* item_int - a number detail */
void
item_int(struct check_item *c, const char *key, long long value)
{
	member(c, key);
	buf_printf(&c->details, "%lld", value);
}

/* item_bool - a true/false detail */
void
item_bool(struct check_item *c, const char *key, bool value)
{
	member(c, key);
	buf_adds(&c->details, value ? "true" : "false");
}

/* item_raw - a detail that is already JSON (an array or an object) */
void
item_raw(struct check_item *c, const char *key, const char *json)
{
	member(c, key);
	buf_adds(&c->details, json);
}

/* area_len - the id's area: what comes before the first dot */
static size_t
area_len(const char *id)
{
	const char *dot = strchr(id, '.');

	return dot ? (size_t)(dot - id) : strlen(id);
}

static bool
area_seen_before(const struct report *r, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (area_len(r->items[j].id) == area_len(r->items[i].id)
		    && strncmp(r->items[j].id, r->items[i].id, area_len(r->items[i].id)) == 0)
			return true;
	return false;
}

/* report_print_text - grouped by area, in the order areas were first checked */
void
report_print_text(const struct report *r, FILE *fp, bool colour)
{
	fprintf(fp, "authmilter-check: %s\n", r->domain);
	for (size_t i = 0; i < r->n; i++) {
		const char *area = r->items[i].id;
		size_t alen = area_len(area);
		if (area_seen_before(r, i))
			continue;
		fprintf(fp, "\n%.*s\n", (int)alen, area);
		for (size_t j = i; j < r->n; j++) {
			const struct check_item *c = &r->items[j];
			if (area_len(c->id) != alen || strncmp(c->id, area, alen) != 0)
				continue;
			fprintf(fp, "  %s%-5s%s %-15s %s\n", colour ? status_colours[c->status] : "",
				status_names[c->status], colour ? "\033[0m" : "", c->id, c->message);
			if (c->advice)
				fprintf(fp, "  %-5s %-15s -> %s\n", "", "", c->advice);
			if (c->extra)
				fputs(c->extra, fp);
		}
	}
	int rc = report_exit_status(r);
	static const char *const verdicts[] = { "all checks ok", "warnings", "failures",
						"some checks could not be made" };
	fprintf(fp, "\n%zu checks: %s\n", r->n, verdicts[rc]);
}

/* report_print_json - DESIGN.md contract 10 */
void
report_print_json(const struct report *r, FILE *fp)
{
	struct buf b;

	buf_init(&b);
	buf_adds(&b, "{\"domain\": ");
	json_string(&b, r->domain);
	buf_adds(&b, ", \"checks\": [");
	for (size_t i = 0; i < r->n; i++) {
		const struct check_item *c = &r->items[i];
		buf_adds(&b, i ? ",\n  {\"id\": " : "\n  {\"id\": ");
		json_string(&b, c->id);
		buf_printf(&b, ", \"status\": \"%s\", \"message\": ", status_names[c->status]);
		json_string(&b, c->message);
		buf_adds(&b, ", \"details\": {");
		buf_add(&b, c->details.data ? c->details.data : "", c->details.len);
		if (c->advice) {
			buf_adds(&b, c->details.len ? ", \"advice\": " : "\"advice\": ");
			json_string(&b, c->advice);
		}
		buf_adds(&b, "}}");
	}
	buf_adds(&b, "\n]}\n");
	fputs(b.data, fp);
	buf_free(&b);
}

/* report_exit_status - the worst status decides; an error outranks a failure,
 * because the domain could not be judged whole */
int
report_exit_status(const struct report *r)
{
	int worst = 0;

	for (size_t i = 0; i < r->n; i++)
		if ((int)r->items[i].status > worst)
			worst = (int)r->items[i].status;
	return worst;
}
