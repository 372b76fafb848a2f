/*
 * metrics - process-wide counters for Prometheus: results by value, actions,
 * DNS traffic, messages in flight, reloads, and a per-message latency
 * histogram. Lock-free (atomics), so counting costs nothing on the hot path.
 */
#ifndef AUTHMILTER_METRICS_H
#define AUTHMILTER_METRICS_H

#include "buf.h"

enum metrics_dns { METRICS_DNS_QUERY, METRICS_DNS_CACHE_HIT, METRICS_DNS_TIMEOUT,
		   METRICS_DNS_SERVFAIL, METRICS_DNS_N };

void metrics_spf(int result);		/* enum spf_result */
void metrics_dkim(int result);		/* enum dkimv_result */
void metrics_dmarc(int result);		/* enum dmarc_result */
void metrics_arc(int result);		/* enum arc_status */
void metrics_action(int action);	/* enum verdict_action */
void metrics_dns(enum metrics_dns what);
void metrics_in_flight(int delta);
void metrics_reload(int ok);
void metrics_latency(double seconds);
void metrics_arc_override(void);	/* a DMARC failure accepted for a trusted ARC sealer */
void metrics_upstream_spf(void);	/* an SPF result taken from a TrustedAuthservIDs field */

/* the whole exposition in Prometheus text format 0.0.4 */
void metrics_render(struct buf *out);

#endif
