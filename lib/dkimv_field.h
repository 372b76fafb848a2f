/*
 * dkimv_field - our own reading of one DKIM-Signature field, done before
 * libopendkim sees it: the tags a result needs when libopendkim can give
 * none, and what the field would cost (h= entries, its body hash), so that
 * dkimv can refuse a field with a permerror instead of handing unbounded
 * work to the library. Internal to dkimv.
 */
#ifndef AUTHMILTER_DKIMV_FIELD_H
#define AUTHMILTER_DKIMV_FIELD_H

#include <stdbool.h>
#include <stddef.h>
#include "buf.h"

/* A field longer than this is refused: the largest real signature (a 16384-bit
 * b=, a 4 KB h=) stays well under it, and it bounds memory per signature. */
#define DKIMV_FIELD_MAX 8192
/* libopendkim copies h= into a buffer of DKIM_MAXHEADER (4096) bytes and
 * silently drops the rest; a longer h= is refused instead. */
#define DKIMV_H_MAX 4095
/* d= s= a= i= longer than this are not echoed in results we make ourselves */
#define DKIMV_SHOWN_MAX 255

enum dkimv_canon { DKIMV_CANON_UNKNOWN, DKIMV_CANON_SIMPLE, DKIMV_CANON_RELAXED };

/* one libopendkim body hash: signatures with the same key share it */
struct dkimv_body_key {
	enum dkimv_canon canon;	/* UNKNOWN: libopendkim makes no body hash for it */
	int hash;		/* 1 or 256 (SHA-1, SHA-256) */
	long long length;	/* l=, -1 for the whole body */
};

struct dkimv_field {
	struct buf text;	/* "name:value" with CRLF breaks, as libopendkim gets it */
	char *domain;		/* d= s= a= i= as written; NULL when absent or too long */
	char *selector;
	char *algorithm;
	char *identity;
	char *b;		/* b= without white space; NULL when absent */
	char *h;		/* h= without white space; NULL when absent */
	size_t h_len;
	size_t h_entries;
	bool signs_signatures;	/* h= names DKIM-Signature */
	const char *duplicate;	/* a tag that occurs twice (RFC 6376 3.2), or NULL */
	struct dkimv_body_key body;
	const char *refused;	/* why libopendkim never gets it; NULL when it does */
	int fed_status;		/* dkim_header's answer when it was handed over */
};

/* value: all after the colon, len bytes (NUL bytes are just bytes here) */
void dkimv_field_read(struct dkimv_field *f, const char *value, size_t len);
bool dkimv_field_signs(const struct dkimv_field *f, const char *name);
bool dkimv_body_key_equal(const struct dkimv_body_key *a, const struct dkimv_body_key *b);
void dkimv_field_free(struct dkimv_field *f);

#endif
