/*
 * history_capture - keep the header section (CRLF) and, when asked, the body
 * of the message in progress for an RFC 9991 failure report. Only while
 * HistoryDB and FailureReports are on; whether a report is due is known at
 * eom (the record's ruf= and fo=), so until then everything is kept. Past
 * its cap (the session's MaxHeaderBytes count, HISTORY_MAX_BODY) a part is
 * dropped whole.
 */
#include "history_row.h"

#include <string.h>

/* add_crlf - append bytes with every bare LF made CRLF; cr: the byte before was CR */
static void
add_crlf(struct buf *b, const char *p, size_t len, bool *cr)
{
	const char *end = p + len, *nl;

	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		bool after_cr = nl > p ? nl[-1] == '\r' : *cr;

		buf_add(b, p, (size_t)(nl - p));
		buf_adds(b, after_cr ? "\n" : "\r\n");
		p = nl + 1;
		*cr = false;
	}
	if (p < end) {
		buf_add(b, p, (size_t)(end - p));
		*cr = end[-1] == '\r';
	}
}

/* history_capture_header - one field as "Name: value\r\n"; in_budget: the
 * session's MaxHeaderBytes count still takes it (one count: our copy grows
 * by a CR per folding LF, so it cannot count against the cap itself) */
void
history_capture_header(struct history_capture *c, const struct config *cfg, const char *name,
		       const char *value, size_t len, bool in_budget)
{
	bool cr = false;

	if (cfg->history_db == NULL || !cfg->failure_reports || c->headers_over)
		return;
	if (!in_budget) {
		c->headers_over = true;
		buf_free(&c->headers);
		return;
	}
	buf_adds(&c->headers, name);
	buf_addc(&c->headers, ':');
	if (len == 0 || (value[0] != ' ' && value[0] != '\t'))
		buf_addc(&c->headers, ' ');
	add_crlf(&c->headers, value, len, &cr);
	buf_add(&c->headers, "\r\n", 2);
}

/* history_capture_wants_body - the body is kept only with FailureReportsBody */
bool
history_capture_wants_body(const struct config *cfg)
{
	return cfg->history_db && cfg->failure_reports && cfg->failure_reports_body;
}

/* history_capture_body - one body chunk, CRLF line ends */
void
history_capture_body(struct history_capture *c, const struct config *cfg, const void *data,
		     size_t len)
{
	if (cfg == NULL || !history_capture_wants_body(cfg) || c->body_over)
		return;
	if (len > HISTORY_MAX_BODY - c->body.len || c->body.len > HISTORY_MAX_BODY - len) {
		c->body_over = true;
		buf_free(&c->body);
		return;
	}
	add_crlf(&c->body, data, len, &c->body_cr);
	if (c->body.len > HISTORY_MAX_BODY) {
		c->body_over = true;
		buf_free(&c->body);
	}
}

/* history_capture_reset - forget the message (buffers are freed: most messages keep none) */
void
history_capture_reset(struct history_capture *c)
{
	buf_free(&c->headers);
	buf_free(&c->body);
	memset(c, 0, sizeof(*c));
}
