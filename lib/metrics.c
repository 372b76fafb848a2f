/*
 * metrics - counters and their Prometheus text rendering.
 */
#include "metrics.h"
#include "dkimv.h"
#include "dmarc.h"
#include "history_writer.h"
#include "spf.h"
#include "verdict.h"

#include <stdatomic.h>
#include <stddef.h>

/* The result names come from the modules that own them; these are their counts. */
#define N_SPF (SPF_PERMERROR + 1)
#define N_DKIM (DKIMV_PERMERROR + 1)
#define N_DMARC (DMARC_PERMERROR + 1)

static const char *spf_name(int r) { return spf_result_name((enum spf_result)r); }
static const char *dkim_name(int r) { return dkimv_result_name((enum dkimv_result)r); }
static const char *dmarc_name(int r) { return dmarc_result_name((enum dmarc_result)r); }
static const char *action_name(int a) { return verdict_action_name((enum verdict_action)a); }

static const char *const dns_names[] = { "authmilter_dns_queries_total",
					 "authmilter_dns_cache_hits_total",
					 "authmilter_dns_timeouts_total",
					 "authmilter_dns_servfails_total" };
static const double latency_bounds[] = { 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
					  1, 2.5, 5, 10, 30 };
#define N_BOUNDS (sizeof(latency_bounds) / sizeof(latency_bounds[0]))

static atomic_ulong spf_count[N_SPF], dkim_count[N_DKIM], dmarc_count[N_DMARC];
static atomic_ulong action_count[ACTION_N];
static atomic_ulong dns_count[METRICS_DNS_N];
static atomic_long in_flight;
static atomic_ulong reloads[2];
static atomic_ulong latency_buckets[N_BOUNDS + 1];
static atomic_ulong latency_micros, latency_n;
static atomic_ulong arc_overrides, upstream_spf;

#define BUMP(array, i, n) do { if ((unsigned)(i) < (n)) atomic_fetch_add(&(array)[i], 1); } while (0)

void metrics_spf(int r) { BUMP(spf_count, r, N_SPF); }
void metrics_dkim(int r) { BUMP(dkim_count, r, N_DKIM); }
void metrics_dmarc(int r) { BUMP(dmarc_count, r, N_DMARC); }
void metrics_action(int a) { BUMP(action_count, a, ACTION_N); }
void metrics_dns(enum metrics_dns what) { BUMP(dns_count, what, METRICS_DNS_N); }
void metrics_in_flight(int delta) { atomic_fetch_add(&in_flight, delta); }
void metrics_reload(int ok) { BUMP(reloads, ok ? 0 : 1, 2); }
void metrics_arc_override(void) { atomic_fetch_add(&arc_overrides, 1); }
void metrics_upstream_spf(void) { atomic_fetch_add(&upstream_spf, 1); }

/* metrics_latency - one message's time from MAIL FROM to the verdict */
void
metrics_latency(double seconds)
{
	size_t i = 0;

	while (i < N_BOUNDS && seconds > latency_bounds[i])
		i++;
	atomic_fetch_add(&latency_buckets[i], 1);
	atomic_fetch_add(&latency_micros, (unsigned long)(seconds * 1e6));
	atomic_fetch_add(&latency_n, 1);
}

static void
render_family(struct buf *out, const char *name, const char *help, const char *label,
	      const char *(*value_name)(int), atomic_ulong *counts, int n)
{
	buf_printf(out, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
	for (int i = 0; i < n; i++)
		buf_printf(out, "%s{%s=\"%s\"} %lu\n", name, label, value_name(i),
			   atomic_load(&counts[i]));
}

/* metrics_render - Prometheus text exposition */
void
metrics_render(struct buf *out)
{
	render_family(out, "authmilter_spf_results_total", "SPF results of the MAIL FROM identity.",
		      "result", spf_name, spf_count, N_SPF);
	render_family(out, "authmilter_dkim_results_total", "DKIM results, one per signature.",
		      "result", dkim_name, dkim_count, N_DKIM);
	render_family(out, "authmilter_dmarc_results_total", "DMARC results.", "result",
		      dmarc_name, dmarc_count, N_DMARC);
	render_family(out, "authmilter_actions_total", "Verdicts given to the MTA.", "action",
		      action_name, action_count, ACTION_N);
	for (size_t i = 0; i < METRICS_DNS_N; i++)
		buf_printf(out, "# TYPE %s counter\n%s %lu\n", dns_names[i], dns_names[i],
			   atomic_load(&dns_count[i]));
	buf_printf(out, "# HELP authmilter_messages_in_flight Messages between MAIL FROM and verdict.\n"
		   "# TYPE authmilter_messages_in_flight gauge\nauthmilter_messages_in_flight %ld\n",
		   atomic_load(&in_flight));
	buf_printf(out, "# TYPE authmilter_config_reloads_total counter\n"
		   "authmilter_config_reloads_total{outcome=\"ok\"} %lu\n"
		   "authmilter_config_reloads_total{outcome=\"refused\"} %lu\n",
		   atomic_load(&reloads[0]), atomic_load(&reloads[1]));
	buf_printf(out, "# HELP authmilter_arc_overrides_total DMARC failures accepted because a"
		   " trusted ARC sealer's results showed a pass.\n"
		   "# TYPE authmilter_arc_overrides_total counter\nauthmilter_arc_overrides_total %lu\n",
		   atomic_load(&arc_overrides));
	buf_printf(out, "# HELP authmilter_upstream_spf_total SPF results taken from a trusted"
		   " upstream Authentication-Results field.\n"
		   "# TYPE authmilter_upstream_spf_total counter\nauthmilter_upstream_spf_total %lu\n",
		   atomic_load(&upstream_spf));
	buf_adds(out, "# HELP authmilter_message_seconds Time from MAIL FROM to the verdict.\n"
		 "# TYPE authmilter_message_seconds histogram\n");
	unsigned long cumulative = 0;
	for (size_t i = 0; i <= N_BOUNDS; i++) {
		cumulative += atomic_load(&latency_buckets[i]);
		if (i < N_BOUNDS)
			buf_printf(out, "authmilter_message_seconds_bucket{le=\"%g\"} %lu\n",
				   latency_bounds[i], cumulative);
		else
			buf_printf(out, "authmilter_message_seconds_bucket{le=\"+Inf\"} %lu\n", cumulative);
	}
	buf_printf(out, "authmilter_message_seconds_sum %.6f\nauthmilter_message_seconds_count %lu\n",
		   (double)atomic_load(&latency_micros) / 1e6, atomic_load(&latency_n));
	struct history_counts hc;	/* DMARC history rows (issue 11), counted by the writer */
	history_counts_get(&hc);
	buf_printf(out, "# HELP authmilter_history_rows_total DMARC history rows: written to the"
		   " store, dropped (queue full, store down) or failed (refused by the store).\n"
		   "# TYPE authmilter_history_rows_total counter\n"
		   "authmilter_history_rows_total{result=\"written\"} %lu\n"
		   "authmilter_history_rows_total{result=\"dropped\"} %lu\n"
		   "authmilter_history_rows_total{result=\"failed\"} %lu\n",
		   hc.written, hc.dropped, hc.failed);
}
