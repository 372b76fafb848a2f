/*
 * report - one run of authmilter-report: the settings every step reads.
 */
#ifndef AUTHMILTER_REPORT_REPORT_H
#define AUTHMILTER_REPORT_REPORT_H

#include <stdbool.h>

#include "agg.h"
#include "dest.h"
#include "history_db.h"
#include "rmetrics.h"
#include "runtime.h"
#include "send.h"

struct report_run {
	struct runtime *rt;
	struct history_db *db;
	long begin, end, now;
	bool period_given;		/* --period: else the default (per kind) */
	const char *dry_run;		/* directory, or NULL to send */
	const char *only_domain;
	char *receiver;			/* our domain: file names, Submitter */
	char *org_name, *email;
	char host[256];			/* claims in report_sent */
	struct dest_suppress suppress;
	struct send_cfg send;
	int sent, skipped, failed, already;	/* per destination */
	unsigned long long skip[RMETRICS_SKIP_N];	/* by reason, for ReportMetricsFile */
	char **rate_dests;		/* failure reports: destinations served this run */
	size_t n_rate_dests;
};

/* the aggregate reports of the run's period; false when the store failed */
bool report_aggregate(struct report_run *run);
/* the failure reports due (FailureReports yes) */
bool report_failure(struct report_run *run);

/* log dest_select's notes, a line each: "DOMAIN: WHAT not used: NOTE" */
void report_log_notes(const char *domain, const char *what, const struct buf *notes);
/* count the destinations dest_select left out (for ReportMetricsFile) */
void report_count_dests(struct report_run *run, const struct dest_list *dl);

/* deliver one message (dry run: write it) for kind/domain/[begin, end]/destination;
 * name is the attachment's file name, used for the dry run's files too */
void report_deliver(struct report_run *run, const char *kind, const char *domain,
		    long begin, long end, const struct dest *d, const char *name,
		    const struct buf *message);

#endif
