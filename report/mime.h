/*
 * mime - the bytes of a report as it travels: gzip (zlib, RFC 1952),
 * base64 in 76-column lines, and the RFC 9990 mail message around it.
 */
#ifndef AUTHMILTER_REPORT_MIME_H
#define AUTHMILTER_REPORT_MIME_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* gzip data into out; false with why on a zlib error */
bool mime_gzip(const void *data, size_t len, struct buf *out, struct buf *why);
/* gunzip (for tests and --check); false with why when it is not valid gzip */
bool mime_gunzip(const void *data, size_t len, size_t max, struct buf *out, struct buf *why);
void mime_base64(const void *data, size_t len, struct buf *out);
/* an RFC 5322 date-time in UTC (Date:, Arrival-Date:) for Unix time t */
void mime_date(long t, struct buf *out);

struct mime_report {
	const char *from;		/* ReportEmail */
	const char *to;			/* one destination address */
	const char *policy_domain;
	const char *submitter;		/* our domain (the receiver) */
	const char *report_id;
	const char *filename;		/* the attachment's name */
	const char *text;		/* the human-readable part */
	const char *content_type;	/* "application/gzip" */
	long date;			/* Date: and the Message-ID's time */
	const char *message_id;		/* without <> */
};

/* the whole message, CRLF line ends (what SMTP wants; sendmail -t accepts them too) */
void mime_message(const struct mime_report *r, const void *attachment, size_t len,
		  struct buf *out);

#endif
