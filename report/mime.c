/*
 * mime - gzip, base64 and the report message (RFC 9990 section 5.4.1 asks
 * for a Subject naming the report domain, the submitter and the report id,
 * the report as a gzip attachment, and a short text part for people).
 */
#include "mime.h"
#include "b64.h"

#include <stdint.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#define GZIP_WINDOW (15 + 16)	/* zlib: 15-bit window, gzip wrapper */

/* mime_gzip - one-shot gzip of data */
bool
mime_gzip(const void *data, size_t len, struct buf *out, struct buf *why)
{
	z_stream z;
	unsigned char chunk[16384];
	int rc;

	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, 9, Z_DEFLATED, GZIP_WINDOW, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		buf_adds(why, "zlib: deflateInit2 failed");
		return false;
	}
	z.next_in = (unsigned char *)(uintptr_t)data;
	z.avail_in = (uInt)len;		/* callers keep reports far below 4 GiB (ReportMaxSize) */
	do {
		z.next_out = chunk;
		z.avail_out = sizeof(chunk);
		rc = deflate(&z, Z_FINISH);
		if (rc == Z_STREAM_ERROR) {
			deflateEnd(&z);
			buf_adds(why, "zlib: deflate failed");
			return false;
		}
		buf_add(out, chunk, sizeof(chunk) - z.avail_out);
	} while (rc != Z_STREAM_END);
	deflateEnd(&z);
	return true;
}

/* mime_gunzip - inflate a gzip stream; more than max bytes is an error, not a cut */
bool
mime_gunzip(const void *data, size_t len, size_t max, struct buf *out, struct buf *why)
{
	z_stream z;
	unsigned char chunk[16384];
	int rc;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, GZIP_WINDOW) != Z_OK) {
		buf_adds(why, "zlib: inflateInit2 failed");
		return false;
	}
	z.next_in = (unsigned char *)(uintptr_t)data;
	z.avail_in = (uInt)len;
	do {
		z.next_out = chunk;
		z.avail_out = sizeof(chunk);
		rc = inflate(&z, Z_NO_FLUSH);
		if (rc != Z_OK && rc != Z_STREAM_END) {
			inflateEnd(&z);
			buf_printf(why, "not valid gzip (zlib %d)", rc);
			return false;
		}
		buf_add(out, chunk, sizeof(chunk) - z.avail_out);
		if (out->len > max) {
			inflateEnd(&z);
			buf_printf(why, "inflates to more than %zu bytes", max);
			return false;
		}
	} while (rc != Z_STREAM_END && (z.avail_in > 0 || z.avail_out == 0));
	inflateEnd(&z);
	if (rc != Z_STREAM_END) {
		buf_adds(why, "gzip stream ends early");
		return false;
	}
	return true;
}

/* mime_base64 - RFC 2045 base64, 76 characters a line, CRLF: lib/b64's
 * encoder over 57-byte pieces */
void
mime_base64(const void *data, size_t len, struct buf *out)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i += 57) {
		b64_encode(p + i, len - i < 57 ? len - i : 57, out);
		buf_adds(out, "\r\n");
	}
}

/* mime_date - an RFC 5322 date-time in UTC */
void
mime_date(long t, struct buf *out)
{
	char s[64];
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(s, sizeof(s), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	buf_adds(out, s);
}

/* mime_message - the report message for one destination */
void
mime_message(const struct mime_report *r, const void *attachment, size_t len,
	     struct buf *out)
{
	const char *boundary = "=_authmilter-report_";

	buf_printf(out, "From: %s\r\nTo: %s\r\nDate: ", r->from, r->to);
	mime_date(r->date, out);
	buf_printf(out, "\r\nSubject: Report Domain: %s Submitter: %s Report-ID: <%s>\r\n",
		   r->policy_domain, r->submitter, r->report_id);
	buf_printf(out, "Message-ID: <%s>\r\nMIME-Version: 1.0\r\n", r->message_id);
	buf_printf(out, "Auto-Submitted: auto-generated\r\n");
	buf_printf(out, "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n", boundary);
	buf_printf(out, "This is a DMARC report in MIME format.\r\n\r\n--%s\r\n", boundary);
	buf_printf(out, "Content-Type: text/plain; charset=us-ascii\r\n"
		   "Content-Transfer-Encoding: 7bit\r\n\r\n%s\r\n\r\n--%s\r\n", r->text, boundary);
	buf_printf(out, "Content-Type: %s; name=\"%s\"\r\n", r->content_type, r->filename);
	buf_printf(out, "Content-Disposition: attachment; filename=\"%s\"\r\n"
		   "Content-Transfer-Encoding: base64\r\n\r\n", r->filename);
	mime_base64(attachment, len, out);
	buf_printf(out, "\r\n--%s--\r\n", boundary);
}
