/*
 * arc_canon - DKIM canonicalization (RFC 6376 3.4) as ARC uses it: header
 * fields simple or relaxed, and a streaming body hash that never holds more
 * than a small output buffer, whatever the line lengths.
 *
 * Line ends may come as CRLF (the milter) or LF (a message file): both are
 * one line end, hashed as CRLF; a CR not before a LF is body content.
 */
#include "arc_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* add_relaxed_value - unfold, runs of WSP to one SP, none at either end */
static void
add_relaxed_value(struct buf *out, const char *v, size_t len, size_t bs, size_t be)
{
	bool started = false, space = false;

	for (size_t i = 0; i < len; i++) {
		char c = v[i];
		if (i >= bs && i < be)
			continue;
		if (c == '\r' || c == '\n')
			continue;
		if (c == ' ' || c == '\t') {
			space = started;
			continue;
		}
		if (space)
			buf_addc(out, ' ');
		buf_addc(out, c);
		started = true;
		space = false;
	}
}

/* add_simple_value - as is, with every line end as CRLF */
static void
add_simple_value(struct buf *out, const char *v, size_t len, size_t bs, size_t be)
{
	for (size_t i = 0; i < len; i++) {
		if (i >= bs && i < be)
			continue;
		if (v[i] == '\n' && (i == 0 || v[i - 1] != '\r'))
			buf_addc(out, '\r');
		buf_addc(out, v[i]);
	}
}

/* arc_canon_header - see arc_int.h */
void
arc_canon_header(struct buf *out, enum arc_canon c, const char *name, size_t name_len,
		 const char *value, size_t len, size_t blank_start, size_t blank_end, bool crlf)
{
	if (blank_end <= blank_start)
		blank_start = blank_end = 0;
	if (c == ARC_CANON_RELAXED) {
		while (name_len > 0 && (name[name_len - 1] == ' ' || name[name_len - 1] == '\t'))
			name_len--;
		for (size_t i = 0; i < name_len; i++)
			buf_addc(out, (char)tolower((unsigned char)name[i]));
		buf_addc(out, ':');
		add_relaxed_value(out, value, len, blank_start, blank_end);
	} else {
		buf_add(out, name, name_len);
		buf_addc(out, ':');
		add_simple_value(out, value, len, blank_start, blank_end);
	}
	if (crlf)
		buf_add(out, "\r\n", 2);
}

/* arc_bodyhash_init - a SHA-256 body hash; limited: only the first limit bytes (l=) */
void
arc_bodyhash_init(struct arc_bodyhash *h, enum arc_canon c, bool limited,
		  unsigned long long limit)
{
	memset(h, 0, sizeof(*h));
	h->canon = c;
	h->limited = limited;
	h->limit = limit;
	h->md = EVP_MD_CTX_new();
	if (h->md == NULL || !EVP_DigestInit_ex(h->md, EVP_sha256(), NULL))
		abort();
}

static void
flush(struct arc_bodyhash *h)
{
	size_t n = h->n_out;

	if (h->limited && h->hashed + n > h->limit)
		n = (size_t)(h->limit - h->hashed);
	if (n)
		EVP_DigestUpdate(h->md, h->out, n);
	h->hashed += n;
	h->n_out = 0;
}

static void
emit(struct arc_bodyhash *h, unsigned char c)
{
	if (h->n_out == sizeof(h->out))
		flush(h);
	h->out[h->n_out++] = c;
	h->any = true;
}

/* content - a byte of a line: held-back empty lines and space go first */
static void
content(struct arc_bodyhash *h, unsigned char c)
{
	if (!h->line_content) {
		for (; h->empty_lines > 0; h->empty_lines--) {
			emit(h, '\r');
			emit(h, '\n');
		}
		h->line_content = true;
	}
	if (h->wsp) {
		emit(h, ' ');
		h->wsp = false;
	}
	emit(h, c);
}

static void
line_end(struct arc_bodyhash *h)
{
	if (h->line_content) {
		emit(h, '\r');
		emit(h, '\n');
		h->line_content = false;
	} else {
		h->empty_lines++;
	}
	h->wsp = false;
}

/* arc_bodyhash_update - more body bytes */
void
arc_bodyhash_update(struct arc_bodyhash *h, const unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = p[i];
		if (h->cr) {
			h->cr = false;
			if (c == '\n') {
				line_end(h);
				continue;
			}
			content(h, '\r');
		}
		if (c == '\r')
			h->cr = true;
		else if (c == '\n')
			line_end(h);
		else if (h->canon == ARC_CANON_RELAXED && (c == ' ' || c == '\t'))
			h->wsp = true;
		else
			content(h, c);
	}
}

/* arc_bodyhash_final - end of body: the last line ends, trailing empty lines go */
void
arc_bodyhash_final(struct arc_bodyhash *h)
{
	unsigned len = 0;

	if (h->done)
		return;
	if (h->cr)
		content(h, '\r');
	h->wsp = false;
	if (h->line_content)
		line_end(h);
	if (!h->any && h->canon == ARC_CANON_SIMPLE) {
		emit(h, '\r');
		emit(h, '\n');
	}
	flush(h);
	EVP_DigestFinal_ex(h->md, h->digest, &len);
	h->done = true;
}

void
arc_bodyhash_free(struct arc_bodyhash *h)
{
	EVP_MD_CTX_free(h->md);
	h->md = NULL;
}
