/*
 * failure - RFC 9991 failure reports (placeholder until the ARF writer lands).
 */
#include "report.h"
#include "rlog.h"

/* report_failure - the failure reports due */
bool
report_failure(struct report_run *run)
{
	if (!run->rt->cfg.failure_reports) {
		rlog("FailureReports is off: no failure reports");
		return true;
	}
	rlog("failure reports are not implemented yet");
	return true;
}
