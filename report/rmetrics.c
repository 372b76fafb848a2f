/*
 * rmetrics - ReportMetricsFile: read the previous values, add, rewrite.
 */
#include "rmetrics.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RMETRICS_MAX_LINE 512
#define RMETRICS_MAX_LINES 1000	/* ours has ~30: a bigger file is not ours, read no further */
#define RMETRICS_NAME 160

static const char *const kind_names[RMETRICS_KIND_N] = { "aggregate", "failure" };
static const char *const skip_names[RMETRICS_SKIP_N] = {
	"size", "suppressed", "unauthorized", "interval", "backoff", "other"
};

/* everything the file holds */
struct rmetrics_file {
	struct rmetrics_counts c[RMETRICS_KIND_N];
	long last_run[RMETRICS_KIND_N];		/* 0: no run of that kind yet */
	int status[RMETRICS_KIND_N];
};

/* series - the name with labels of one series; reason < 0: none */
static void
series(char *out, size_t size, const char *metric, int kind, int reason)
{
	if (reason < 0)
		snprintf(out, size, "authmilter_report_%s{kind=\"%s\"}", metric, kind_names[kind]);
	else
		snprintf(out, size, "authmilter_report_%s{kind=\"%s\",reason=\"%s\"}", metric,
			 kind_names[kind], skip_names[reason]);
}

/* counter_value - a non-negative integral sample value; false otherwise */
static bool
counter_value(const char *s, unsigned long long *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || (*end != '\0' && *end != '\n') || errno || !isfinite(v) || v < 0
	    || v > 9.0e15)
		return false;
	*out = (unsigned long long)v;
	return true;
}

/* take - one "SERIES VALUE" line into f when it is one of ours */
static void
take(struct rmetrics_file *f, const char *line)
{
	const char *sp = strrchr(line, ' ');
	char name[RMETRICS_NAME];
	unsigned long long v;
	size_t n;

	if (sp == NULL || (n = (size_t)(sp - line)) == 0 || !counter_value(sp + 1, &v))
		return;
	for (int k = 0; k < RMETRICS_KIND_N; k++) {
		struct { const char *metric; unsigned long long *to; } plain[] = {
			{ "sent_total", &f->c[k].sent }, { "failed_total", &f->c[k].failed },
		};
		for (size_t i = 0; i < 2; i++) {
			series(name, sizeof(name), plain[i].metric, k, -1);
			if (strlen(name) == n && strncmp(name, line, n) == 0)
				*plain[i].to = v;
		}
		for (int r = 0; r < RMETRICS_SKIP_N; r++) {
			series(name, sizeof(name), "skipped_total", k, r);
			if (strlen(name) == n && strncmp(name, line, n) == 0)
				f->c[k].skipped[r] = v;
		}
		series(name, sizeof(name), "last_run_timestamp_seconds", k, -1);
		if (strlen(name) == n && strncmp(name, line, n) == 0)
			f->last_run[k] = (long)v;
		series(name, sizeof(name), "last_run_exit_status", k, -1);
		if (strlen(name) == n && strncmp(name, line, n) == 0 && v < 256)
			f->status[k] = (int)v;
	}
}

/* load - the previous file's values (none when it is missing) */
static void
load(struct rmetrics_file *f, const char *path)
{
	char line[RMETRICS_MAX_LINE];
	bool whole = true;	/* the previous fgets ended a line */
	FILE *fp = fopen(path, "r");

	if (fp == NULL)
		return;
	for (int i = 0; i < RMETRICS_MAX_LINES && fgets(line, sizeof(line), fp); i++) {
		bool starts = whole;
		whole = strchr(line, '\n') != NULL;
		if (starts && whole && line[0] != '#')
			take(f, line);	/* an overlong line is not ours: skipped whole */
	}
	fclose(fp);
}

/* emit - the file's text */
static void
emit(const struct rmetrics_file *f, struct buf *b)
{
	static const char *const help[][3] = {
		{ "sent_total", "counter", "Report copies the MTA accepted." },
		{ "failed_total", "counter", "Report copies not built or not sent (retried later)." },
		{ "skipped_total", "counter", "Report destinations given no copy, by reason." },
		{ "last_run_timestamp_seconds", "gauge", "When the last sending run ended." },
		{ "last_run_exit_status", "gauge", "The last sending run's exit status." },
	};
	char name[RMETRICS_NAME];

	for (size_t m = 0; m < sizeof(help) / sizeof(help[0]); m++) {
		buf_printf(b, "# HELP authmilter_report_%s %s\n# TYPE authmilter_report_%s %s\n",
			   help[m][0], help[m][2], help[m][0], help[m][1]);
		for (int k = 0; k < RMETRICS_KIND_N; k++) {
			const struct rmetrics_counts *c = &f->c[k];
			if (m == 2) {
				for (int r = 0; r < RMETRICS_SKIP_N; r++) {
					series(name, sizeof(name), help[m][0], k, r);
					buf_printf(b, "%s %llu\n", name, c->skipped[r]);
				}
				continue;
			}
			if (m >= 3 && f->last_run[k] == 0)
				continue;	/* no run of this kind yet: no made-up time */
			series(name, sizeof(name), help[m][0], k, -1);
			buf_printf(b, "%s %llu\n", name, m == 0 ? c->sent : m == 1 ? c->failed
				   : m == 3 ? (unsigned long long)f->last_run[k]
				   : (unsigned long long)f->status[k]);
		}
	}
}

/* write_atomic - temp file, fsync, rename: the collector never reads half a file */
static bool
write_atomic(const char *path, const struct buf *b, struct buf *why)
{
	struct buf tmp;
	bool ok = false;
	int fd;

	buf_init(&tmp);
	buf_printf(&tmp, "%s.tmp", path);	/* not *.prom: the collector ignores it */
	fd = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		buf_printf(why, "%s: %s", tmp.data, strerror(errno));
		goto out;
	}
	/* readable by the collector's user whatever the service's UMask: counts are no secret */
	if (fchmod(fd, 0644) != 0 || write(fd, b->data, b->len) != (ssize_t)b->len
	    || fsync(fd) != 0) {
		buf_printf(why, "write %s: %s", tmp.data, strerror(errno));
		close(fd);
		unlink(tmp.data);
		goto out;
	}
	if (close(fd) != 0 || rename(tmp.data, path) != 0) {
		buf_printf(why, "%s: %s", path, strerror(errno));
		unlink(tmp.data);
		goto out;
	}
	ok = true;
out:
	buf_free(&tmp);
	return ok;
}

/* rmetrics_update - previous values + this run, written back */
bool
rmetrics_update(const char *path, enum rmetrics_kind kind, const struct rmetrics_counts *run,
	       long now, int exit_status, struct buf *why)
{
	struct rmetrics_file f;
	struct buf text;
	bool ok;

	memset(&f, 0, sizeof(f));
	load(&f, path);
	f.c[kind].sent += run->sent;
	f.c[kind].failed += run->failed;
	for (int r = 0; r < RMETRICS_SKIP_N; r++)
		f.c[kind].skipped[r] += run->skipped[r];
	f.last_run[kind] = now;
	f.status[kind] = exit_status;
	buf_init(&text);
	emit(&f, &text);
	ok = write_atomic(path, &text, why);
	buf_free(&text);
	return ok;
}
