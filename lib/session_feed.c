/*
 * session_feed - a message from a file fed to a session as the MTA would:
 * header fields one by one (continuation lines kept), eoh, body in chunks.
 * Test mode and authmilter-check read messages this one way.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "session.h"

#define FEED_BODY_CHUNK 65536

/* strip_eol - drop the line's CR/LF */
static void
strip_eol(struct buf *line)
{
	while (line->len > 0 && (line->data[line->len - 1] == '\n' || line->data[line->len - 1] == '\r'))
		line->data[--line->len] = '\0';
}

/* read_line - one line including its end; false at EOF */
static bool
read_line(FILE *fp, struct buf *line)
{
	int c;

	buf_reset(line);
	while ((c = getc(fp)) != EOF) {
		buf_addc(line, (char)c);
		if (c == '\n')
			break;
	}
	return line->len > 0;
}

/* flush_header - one whole field to the session */
static void
flush_header(struct session *s, struct buf *field)
{
	char *colon;

	if (field->len == 0)
		return;
	colon = memchr(field->data, ':', field->len);
	if (colon) {
		/* A NUL in the name makes it no name we know; the MTA would not match it either. */
		for (char *p = field->data; p < colon; p++)
			if (*p == '\0')
				*p = '\x01';
		*colon = '\0';
		session_header_bytes(s, field->data, colon + 1,
				     field->len - (size_t)(colon + 1 - field->data));
	}
	buf_reset(field);
}

/* session_feed_file - header fields (continuations kept), eoh, then the body in chunks */
void
session_feed_file(struct session *s, FILE *fp)
{
	struct buf line, field;
	bool in_headers = true;

	buf_init(&line);
	buf_init(&field);
	while (in_headers && read_line(fp, &line)) {
		strip_eol(&line);
		if (line.len == 0) {
			in_headers = false;
			break;
		}
		if ((line.data[0] == ' ' || line.data[0] == '\t') && field.len > 0) {
			buf_addc(&field, '\n');
			buf_add(&field, line.data, line.len);
			continue;
		}
		flush_header(s, &field);
		buf_add(&field, line.data, line.len);
	}
	flush_header(s, &field);
	session_eoh(s);
	char *chunk = xmalloc(FEED_BODY_CHUNK);
	size_t n;
	while (session_wants_body(s) && (n = fread(chunk, 1, FEED_BODY_CHUNK, fp)) > 0)
		session_body(s, chunk, n);
	free(chunk);
	buf_free(&line);
	buf_free(&field);
}

