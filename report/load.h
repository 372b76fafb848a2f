/*
 * load - read one policy domain's rows of a period from the history store
 * into an aggregate report, a page of messages at a time.
 */
#ifndef AUTHMILTER_REPORT_LOAD_H
#define AUTHMILTER_REPORT_LOAD_H

#include <stdbool.h>

#include "agg.h"
#include "buf.h"
#include "history_db.h"

#define LOAD_PAGE 5000		/* messages read per query */

struct load_domains {
	char **names;
	size_t n;
};

/* the policy domains with rows in [begin, end]; only (lower-cased) only_domain when set */
bool load_domains(struct history_db *db, long begin, long end, const char *only_domain,
		  struct load_domains *out, struct buf *why);
void load_domains_free(struct load_domains *d);

/* rep (agg_init'ed for the period) gets the policy of the newest row and every message */
bool load_report(struct history_db *db, const char *domain, struct agg_report *rep,
		 struct buf *why);

#endif
