/*
 * history_row - one DMARC history row (schema v1, history_message plus its
 * history_dkim rows) built from what session_eom has, and the capture of
 * the header section (and body) a failure report may need.
 *
 * Strings are owned by the row and already lower-cased where the schema
 * says "domain"; const char * fields point at static names.
 */
#ifndef AUTHMILTER_HISTORY_ROW_H
#define AUTHMILTER_HISTORY_ROW_H

#include <stdbool.h>
#include <stddef.h>
#include "buf.h"
#include "config.h"
#include "dkimv.h"
#include "spf.h"
#include "verdict.h"

/* the body kept for a failure report; a longer one is not kept at all (never cut) */
#define HISTORY_MAX_BODY (1024 * 1024)

struct history_dkim_result {
	char *domain;			/* d= */
	char *selector;			/* s= */
	const char *result;		/* none|pass|fail|policy|neutral|temperror|permerror */
	char *human;			/* short reason, or NULL */
};

struct history_row {
	long received;
	char *mta, *source_ip, *header_from, *envelope_from, *envelope_to, *helo;
	char *policy_domain;
	const char *discovery;		/* "treewalk" | "psl" */
	const char *p, *sp, *np;	/* as published, NULL when absent */
	char adkim, aspf, testing;	/* 'r'|'s', 'r'|'s', 'y'|'n' */
	int pct;			/* as published, -1 when absent */
	char *fo, *rua, *ruf;
	const char *dmarc_result, *dkim_aligned, *spf_aligned, *disposition;
	const char *override_type;	/* RFC 9990 PolicyOverrideType, or NULL */
	char *override_comment;
	char *spf_domain;
	const char *spf_scope;		/* "mfrom" | "helo" | NULL */
	const char *spf_result;
	char *failure_fo, *failure_headers, *failure_body;
	struct history_dkim_result *dkim;
	size_t n_dkim;
};

/* The header section (CRLF) and body of the message in progress, kept only
 * while HistoryDB and FailureReports (and FailureReportsBody) are on. */
struct history_capture {
	struct buf headers, body;
	bool headers_over, body_over;	/* past the cap: not kept (a report goes without) */
	bool body_cr;			/* the last body byte was CR (CRLF split over chunks) */
};

/* in_budget: the session's MaxHeaderBytes count took this field; once it
 * does not, the header section is dropped whole */
void history_capture_header(struct history_capture *c, const struct config *cfg,
			    const char *name, const char *value, size_t len, bool in_budget);
void history_capture_body(struct history_capture *c, const struct config *cfg,
			  const void *data, size_t len);
bool history_capture_wants_body(const struct config *cfg);
void history_capture_reset(struct history_capture *c);

/* What session_eom knows when the verdict is made. */
struct history_input {
	const struct config *cfg;
	const char *client_ip, *helo;
	const char *mail_from;			/* "" for <> */
	const struct spf_outcome *spf;		/* the MAIL FROM check, NULL if none ran */
	const struct dkimv_outcome *dkim;
	const struct dmarc_eval *dmarc;
	const struct verdict *verdict;
	const struct history_capture *capture;	/* NULL: nothing kept */
};

/* len bytes as valid UTF-8 without NUL (bad bytes become U+FFFD): what both stores hold */
char *history_text(const char *s, size_t len);

/* history_row_wanted - a DMARC evaluation with a record, and a final verdict */
bool history_row_wanted(const struct history_input *in);
/* history_row_build - the row for in (history_row_wanted must hold); time(NULL)
 * is received. The row, its signatures and strings are one allocation. */
struct history_row *history_row_build(const struct history_input *in);
void history_row_free(struct history_row *row);

#endif
