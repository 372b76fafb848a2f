/*
 * rmetrics - the reporter's counters as a Prometheus text file
 * (ReportMetricsFile), for node_exporter's textfile collector. The
 * reporter is a short-lived program, so it cannot be scraped: each run
 * reads the previous file, adds its own counts and replaces the file
 * (temp file, rename), so the counters are cumulative per host.
 */
#ifndef AUTHMILTER_REPORT_RMETRICS_H
#define AUTHMILTER_REPORT_RMETRICS_H

#include <stdbool.h>

#include "buf.h"

/* why a destination got no copy (the reason label) */
enum rmetrics_skip {
	RMETRICS_SKIP_SIZE,		/* over ReportMaxSize or the URI's !size */
	RMETRICS_SKIP_SUPPRESSED,	/* ReportSuppress */
	RMETRICS_SKIP_UNAUTHORIZED,	/* external, no _report._dmarc record */
	RMETRICS_SKIP_INTERVAL,		/* failure reports: FailureReportsInterval */
	RMETRICS_SKIP_BACKOFF,		/* the destination kept failing */
	RMETRICS_SKIP_OTHER,		/* another host sends it, DNS failure, bad name */
	RMETRICS_SKIP_N
};

enum rmetrics_kind { RMETRICS_AGGREGATE, RMETRICS_FAILURE, RMETRICS_KIND_N };

struct rmetrics_counts {
	unsigned long long sent, failed, skipped[RMETRICS_SKIP_N];
};

/* add one run's counts of kind to the file at path (created when missing or
 * unreadable: the counters restart, which Prometheus reads as a reset);
 * now and exit_status describe the run. false with why */
bool rmetrics_update(const char *path, enum rmetrics_kind kind, const struct rmetrics_counts *run,
		    long now, int exit_status, struct buf *why);

#endif
