/*
 * authmilter-report - DMARC aggregate (RFC 9990) and failure (RFC 9991)
 * reports from the history store the milter writes.
 *
 * authmilter-report [-c CONF] [--period START:END] [--dry-run DIR]
 *                   [--domain D] [--migrate] [--failure]
 *
 * Exit status: 0 done (reports may have been skipped, each is logged),
 * 1 some report could not be sent (it is retried by the next run),
 * 2 the store could not be read, 3 usage or configuration error.
 */
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dnscache.h"
#include "history_service.h"
#include "state.h"
#include "report.h"
#include "rlog.h"

#define DEFAULT_CONF SYSCONFDIR "/authmilter.conf"
#define EXIT_SENDFAIL 1
#define EXIT_STORE 2
#define EXIT_USAGE 3

static void
usage(FILE *fp)
{
	fputs("usage: authmilter-report [-c CONF] [--period START:END] [--dry-run DIR]\n"
	      "                         [--domain D] [--migrate] [--failure]\n"
	      "  -c         the conf the milter reads (HistoryDB, Report* keys); default:\n"
	      "             " DEFAULT_CONF " when it exists\n"
	      "  --period   Unix seconds, both ends included (default: the previous UTC day)\n"
	      "  --dry-run  write RECEIVER!DOMAIN!BEGIN!END!ID.xml.gz and .eml files, send nothing\n"
	      "  --domain   only the report of this policy domain\n"
	      "  --migrate  create or upgrade the history store's tables, then exit\n"
	      "  --failure  send the failure reports due (FailureReports yes) instead\n"
	      "exit status: 0 done, 1 a report could not be sent, 2 store error, 3 usage or conf\n"
	      "See authmilter-report(8).\n", fp);
}

/* parse_period - "START:END" in Unix seconds, START <= END */
static bool
parse_period(const char *s, long *begin, long *end)
{
	char *e1, *e2;

	errno = 0;
	*begin = strtol(s, &e1, 10);
	if (e1 == s || *e1 != ':' || errno)
		return false;
	*end = strtol(e1 + 1, &e2, 10);
	return e2 != e1 + 1 && *e2 == '\0' && errno == 0 && *begin >= 0 && *begin <= *end;
}

/* load_conf - the conf (the default file when it exists) into a runtime;
 * *path becomes the file read (NULL: none, the built-in defaults) */
static struct runtime *
load_conf(const char **pathp, struct dns_cache **cache)
{
	const char *path = *pathp;
	struct config cfg;
	struct buf errors;
	char why[256];
	struct runtime *rt;

	config_defaults(&cfg);
	if (path == NULL && access(DEFAULT_CONF, F_OK) == 0)
		path = DEFAULT_CONF;
	*pathp = path;
	if (path) {
		buf_init(&errors);
		if (!config_load(&cfg, path, &errors)) {
			fputs(errors.data ? errors.data : "authmilter-report: bad conf\n", stderr);
			exit(EXIT_USAGE);
		}
		buf_free(&errors);
	}
	/* the cache outlives the snapshot (runtimes share one): the caller frees it */
	*cache = dnscache_new((size_t)cfg.dns_cache_size);
	rt = runtime_new(&cfg, *cache, why, sizeof(why));
	if (rt == NULL) {
		rlog("%s", why);
		exit(EXIT_USAGE);
	}
	return rt;
}

/* identity - receiver domain, org name and email from the conf */
static void
identity(struct report_run *run)
{
	const struct config *cfg = &run->rt->cfg;
	struct buf b;
	const char *at;

	buf_init(&b);
	if (cfg->report_email)
		buf_adds(&b, cfg->report_email);
	else
		buf_printf(&b, "postmaster@%s", cfg->authserv_id);
	run->email = buf_steal(&b);
	at = strrchr(run->email, '@');
	run->receiver = xstrdup(at ? at + 1 : cfg->authserv_id);
	for (char *p = run->receiver; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (cfg->report_email == NULL)	/* the default works, but is seldom what is wanted */
		rlog("ReportEmail is not set: reports are sent from %s (postmaster@AuthservID)%s%s%s;"
		     " set ReportEmail to an address of yours that report receivers may write to",
		     run->email, strchr(run->receiver, '.') ? "" : ", and \"",
		     strchr(run->receiver, '.') ? "" : run->receiver,
		     strchr(run->receiver, '.') ? "" : "\" is no Internet domain");
	run->org_name = xstrdup(cfg->report_org_name ? cfg->report_org_name : run->receiver);
	if (gethostname(run->host, sizeof(run->host)) != 0)
		snprintf(run->host, sizeof(run->host), "localhost");
	run->host[sizeof(run->host) - 1] = '\0';
	run->send = (struct send_cfg){ cfg->report_send, cfg->report_smtp_user,
				       cfg->report_smtp_password_file, run->email,
				       cfg->report_smtp_ca_file };
}

/* open_store - HistoryDB, migrated; NULL with *status set when there is none
 * to read. Only --migrate creates a SQLite store: run by hand as root, any
 * other run would leave a file the milter's user cannot write. */
static struct history_db *
open_store(const struct config *cfg, const char *conf_path, bool create, int *status)
{
	struct buf why;
	struct history_db *db;
	const char *url = cfg->history_db;

	*status = 0;	/* reports are off, or nothing recorded yet: a timer run is no error */
	if (url == NULL) {
		if (conf_path)
			rlog("HistoryDB is not set in %s: there is no history to report on (set it"
			     " in the conf the milter reads, and give that conf with -c)", conf_path);
		else
			rlog("no conf file (%s does not exist; -c names one), so no HistoryDB:"
			     " there is no history to report on", DEFAULT_CONF);
		return NULL;
	}
	if (!create && strncmp(url, "sqlite:", 7) == 0 && access(url + 7, F_OK) != 0
	    && errno == ENOENT) {
		rlog("history store %s does not exist yet (the milter creates it with its first"
		     " DMARC evaluation; --migrate creates it now): nothing to report", url + 7);
		return NULL;
	}
	buf_init(&why);
	db = history_db_open(url, &why);
	if (db == NULL || !history_db_migrate(db, &why) || !state_migrate(db, &why)) {
		struct buf where;
		buf_init(&where);
		/* a store that does not open: its conf line, as authmilter -n says it */
		if (db == NULL) {
			history_service_error(conf_path, why.data ? why.data : "?", &where);
			fputs(where.data, stderr);
		} else {
			rlog("history store %s: %s", url, why.data ? why.data : "?");
		}
		buf_free(&where);
		if (db)
			history_db_close(db);
		buf_free(&why);
		*status = EXIT_STORE;
		return NULL;
	}
	buf_free(&why);
	return db;
}

/* lock_run - one sending run per host at a time (the timer and a manual run
 * would otherwise race on the same spool files); false: another is active.
 * The descriptor stays open until exit. */
static bool
lock_run(const char *spool_dir)
{
	struct buf path;
	int fd;

	buf_init(&path);
	buf_printf(&path, "%s/.lock", spool_dir);
	fd = open(path.data, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		rlog("%s: %s", path.data, strerror(errno));
		buf_free(&path);
		exit(EXIT_USAGE);
	}
	buf_free(&path);
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		rlog("another authmilter-report run is sending: nothing to do");
		close(fd);
		return false;
	}
	send_set_run_lock(fd);
	return true;
}

/* write_metrics - this run's counts into ReportMetricsFile (when set) */
static void
write_metrics(const struct report_run *run, bool failure, int status)
{
	struct rmetrics_counts c = { (unsigned long long)run->sent,
				    (unsigned long long)run->failed, { 0 } };
	struct buf why;

	if (run->rt->cfg.report_metrics_file == NULL)
		return;
	memcpy(c.skipped, run->skip, sizeof(c.skipped));
	buf_init(&why);
	if (!rmetrics_update(run->rt->cfg.report_metrics_file,
			    failure ? RMETRICS_FAILURE : RMETRICS_AGGREGATE, &c, (long)time(NULL),
			    status, &why))
		rlog("ReportMetricsFile: %s", why.data);
	buf_free(&why);
}

struct options {
	const char *conf;
	bool migrate, failure;
};

/* parse_args - the command line into run and opts; exits on a usage error */
static void
parse_args(int argc, char **argv, struct report_run *run, struct options *opts)
{
	static const struct option longopts[] = {
		{ "period", required_argument, NULL, 'p' },
		{ "dry-run", required_argument, NULL, 'd' },
		{ "domain", required_argument, NULL, 'D' },
		{ "migrate", no_argument, NULL, 'm' },
		{ "failure", no_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': opts->conf = optarg; break;
		case 'p':
			if (!parse_period(optarg, &run->begin, &run->end)) {
				rlog("--period wants START:END in Unix seconds, not \"%s\"", optarg);
				exit(EXIT_USAGE);
			}
			run->period_given = true;
			break;
		case 'd': run->dry_run = optarg; break;
		case 'D': run->only_domain = optarg; break;
		case 'm': opts->migrate = true; break;
		case 'F': opts->failure = true; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(EXIT_USAGE);
		}
	}
	if (optind != argc) {
		rlog("unexpected argument \"%s\"", argv[optind]);
		usage(stderr);
		exit(EXIT_USAGE);
	}
	if (!run->period_given) {
		run->end = run->now - run->now % 86400 - 1;	/* the previous UTC day */
		run->begin = run->end - 86399;
	}
	if (run->dry_run && mkdir(run->dry_run, 0755) != 0 && errno != EEXIST) {
		rlog("--dry-run %s: %s", run->dry_run, strerror(errno));
		exit(EXIT_USAGE);
	}
}

/* run_reports - one run of the kind the options ask for; the exit status */
static int
run_reports(struct report_run *run, const struct options *opts, struct buf *why)
{
	bool ok;
	int status;

	run->suppress = (struct dest_suppress){ run->rt->cfg.report_suppress,
						run->rt->cfg.n_report_suppress };
	run->db = open_store(&run->rt->cfg, opts->conf, opts->migrate, &status);
	if (run->db == NULL)
		return status;
	if (opts->migrate) {
		rlog("history store %s: schema ready", history_db_kind(run->db));
		return 0;
	}
	identity(run);
	if (!run->dry_run && mkdir(run->rt->cfg.report_spool_dir, 0700) != 0 && errno != EEXIST) {
		rlog("ReportSpoolDir %s: cannot create it: %s (make its parent directory, as"
		     " the service's StateDirectory does, or set ReportSpoolDir)",
		     run->rt->cfg.report_spool_dir, strerror(errno));
		return EXIT_USAGE;
	}
	if (!run->dry_run && !lock_run(run->rt->cfg.report_spool_dir))
		return 0;
	ok = opts->failure ? report_failure(run) : report_aggregate(run);
	if (!opts->failure && !run->dry_run && run->rt->cfg.history_keep > 0
	    && !history_db_purge(run->db, run->now - 86400L * run->rt->cfg.history_keep, why))
		rlog("purging rows older than HistoryKeep: %s", why->data);
	rlog("%s reports: %d sent, %d already sent, %d skipped, %d failed",
	     opts->failure ? "failure" : "aggregate", run->sent, run->already, run->skipped,
	     run->failed);
	status = !ok ? EXIT_STORE : run->failed ? EXIT_SENDFAIL : 0;
	if (!run->dry_run)	/* still under the run lock: runs of both kinds share the file */
		write_metrics(run, opts->failure, status);
	return status;
}

int
main(int argc, char **argv)
{
	struct report_run run = { 0 };
	struct options opts = { 0 };
	struct dns_cache *cache;
	int status;
	struct buf why;

	run.now = (long)time(NULL);
	parse_args(argc, argv, &run, &opts);
	run.rt = load_conf(&opts.conf, &cache);
	buf_init(&why);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	status = run_reports(&run, &opts, &why);
	/* every path ends here: nothing is left for the leak checker */
	if (run.db)
		history_db_close(run.db);
	free(run.receiver);
	free(run.org_name);
	free(run.email);
	buf_free(&why);
	runtime_release(run.rt);
	dnscache_free(cache);
	curl_global_cleanup();
	return status;
}
