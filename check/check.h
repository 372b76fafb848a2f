/*
 * check - authmilter-check: audit a sending domain (domain mode) and explain
 * one message's verdict (message mode), on lib/ alone: the same DNS layer,
 * SPF parser, DKIM key reading and DMARC tree walk as the milter.
 */
#ifndef AUTHMILTER_CHECK_H
#define AUTHMILTER_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include "../lib/dmarc.h"
#include "../lib/dns.h"
#include "report.h"

#define CHECK_MAX_SELECTORS 32

/* What one domain audit knows and has found so far: later areas use what
 * earlier ones learnt (MTA-STS needs the MX hosts, the parked-domain check
 * needs MX, SPF and DMARC). */
struct check_ctx {
	struct dns *dns;
	const struct dmarc_ctx *dmarc;
	const char *domain;
	const char *selectors[CHECK_MAX_SELECTORS];	/* from -s, probed first */
	size_t n_selectors;
	const char *ca_file;		/* --ca-file: trust this CA for HTTPS (tests) */
	int https_port;			/* --https-port: not 443 (tests) */
	struct report *rep;
	/* facts */
	char **mx_hosts;		/* MX targets without the final dot */
	size_t n_mx;
	bool mx_known;			/* the MX lookup answered (even with none) */
	bool null_mx;
	bool spf_reject_all;		/* the SPF record is exactly "v=spf1 -all" */
	bool dmarc_reject;		/* p=reject found for the domain */
};

void check_mx(struct check_ctx *cx);
void check_spf(struct check_ctx *cx);
void check_dkim(struct check_ctx *cx);
void check_dmarc(struct check_ctx *cx);
void check_mtasts(struct check_ctx *cx);
void check_tlsrpt(struct check_ctx *cx);
void check_bimi(struct check_ctx *cx);
void check_parked(struct check_ctx *cx);

/* shared helpers (check_dns.c) */
/* TXT strings at name that match(string, arg); the count, or -1 on DNS
 * trouble with *why set; *first gets a copy of the first */
int check_txt_matching(struct check_ctx *cx, const char *name,
		       bool (*match)(const char *txt, const void *arg), const void *arg,
		       char **first, const char **why);
/* the same for strings that start with prefix (case-insensitive) */
int check_txt_with_prefix(struct check_ctx *cx, const char *name, const char *prefix,
			  char **first, const char **why);
bool check_is_within(const char *name, const char *domain);

int check_message_main(int argc, char **argv);

#endif
