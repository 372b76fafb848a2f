/*
 * daemon - run the milter until told to stop; reload on SIGHUP.
 *
 * Threads: the engine's event loops and workers (engine.c) serve the MTA;
 * the main thread owns SIGHUP, SIGTERM and SIGINT (signals.c: no other
 * thread ever takes them) and does the periodic checks; a reload thread
 * reads the conf file. The main thread only raises
 * a flag on SIGHUP and goes back to waiting, so a signal never finds it busy,
 * and SIGHUPs that arrive while a reload runs merge into one more reload.
 */
#include "daemon.h"
#include "engine.h"
#include "listen.h"
#include "log.h"
#include "metrics_http.h"
#include "privs.h"
#include "signals.h"
#include "steps.h"
#include "fdwatch.h"
#include "../lib/metrics.h"
#include "../lib/history_service.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DAEMON_TICK_MS 1000		/* periodic checks */

/* reloader - one pending flag, so any number of SIGHUPs make one reload */
struct reloader {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool pending, stopping;
	const struct daemon_args *args;
	struct runtime_slot *slot;
	pthread_t thread;
};

static void
write_pid_file(const char *path)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL)
		fatal("cannot write PID file %s: %s", path, strerror(errno));
	fprintf(fp, "%ld\n", (long)getpid());
	fclose(fp);
}

static void
daemonize(void)
{
	pid_t pid = fork();

	if (pid < 0)
		fatal("fork: %s", strerror(errno));
	if (pid > 0)
		_exit(EXIT_SUCCESS);
	setsid();
	if (chdir("/") != 0)
		fatal("chdir /: %s", strerror(errno));
	if (!freopen("/dev/null", "r", stdin) || !freopen("/dev/null", "w", stdout)
	    || !freopen("/dev/null", "w", stderr))
		fatal("cannot reopen standard streams on /dev/null");
}

/* log_lines - one log line per line of text (conf errors are file:line each) */
static void
log_lines(const char *text)
{
	const char *p = text;

	while (*p) {
		size_t n = strcspn(p, "\n");
		log_error("%.*s", (int)n, p);
		p += n + (p[n] == '\n');
	}
}

/* warn_restart_only - settings a reload cannot change: say so instead of pretending */
static void
warn_restart_only(const struct config *old, const struct config *new)
{
	if (strcmp(old->socket_spec, new->socket_spec) != 0)
		log_warning("reload: Socket changes only on restart");
	if ((old->user_id == NULL) != (new->user_id == NULL)
	    || (old->user_id && strcmp(old->user_id, new->user_id) != 0))
		log_warning("reload: UserID changes only on restart");
	if (old->dns_cache_size != new->dns_cache_size)
		log_warning("reload: DNSCacheSize changes only on restart");
	if (old->dkim_clock_skew != new->dkim_clock_skew)
		log_warning("reload: DKIMClockSkew changes only on restart");
	if ((old->metrics_listen == NULL) != (new->metrics_listen == NULL)
	    || (old->metrics_listen && strcmp(old->metrics_listen, new->metrics_listen) != 0))
		log_warning("reload: MetricsListen changes only on restart");
}

/* log_dns_query - LogLevel debug: every DNS question asked (cache hits included) */
static void
log_dns_query(void *ctx, const char *name, ldns_rr_type type)
{
	char *t = ldns_rr_type2str(type);

	(void)ctx;
	log_debug("dns: %s %s", name, t ? t : "?");
	free(t);
}

static void
observe_dns(struct runtime *rt)
{
	rt->dns.observe = rt->cfg.log_level >= LOG_LEVEL_DEBUG ? log_dns_query : NULL;
}

/* reload - a new snapshot from the conf file, or the old one stays in force */
static void
reload(const struct daemon_args *args, struct runtime_slot *slot)
{
	struct config cfg;
	struct buf errors;
	char why[256];

	if (args->conf_path == NULL) {
		log_warning("reload: running on built-in defaults, no conf file to read");
		return;
	}
	config_defaults(&cfg);
	buf_init(&errors);
	if (!config_load(&cfg, args->conf_path, &errors)) {
		log_lines(errors.data);
		log_error("reload refused: %s has errors, the running configuration stays",
			  args->conf_path);
		metrics_reload(0);
		buf_free(&errors);
		config_free(&cfg);
		return;
	}
	buf_free(&errors);
	struct runtime *old = runtime_acquire(slot);
	warn_restart_only(&old->cfg, &cfg);
	runtime_release(old);
	enum log_level level = cfg.log_level;
	struct runtime *rt = runtime_new(&cfg, args->cache, why, sizeof(why));
	if (rt == NULL) {
		log_error("reload refused: %s; the running configuration stays", why);
		metrics_reload(0);
		return;
	}
	observe_dns(rt);
	struct buf hwhy;	/* a new HistoryDB takes effect now; the old writer drains */
	buf_init(&hwhy);
	if (!history_service_configure(&rt->cfg, false, rt->cfg.shutdown_timeout, &hwhy)) {
		log_error("reload refused: HistoryDB: %s; the running configuration stays", hwhy.data);
		buf_free(&hwhy);
		runtime_release(rt);
		metrics_reload(0);
		return;
	}
	buf_free(&hwhy);
	runtime_swap(slot, rt);
	metrics_reload(1);
	log_set_level(level);
	log_info("configuration reloaded from %s", args->conf_path);
}

/* reload_thread - wait for a request, reload, repeat until told to stop */
static void *
reload_thread(void *arg)
{
	struct reloader *r = arg;

	pthread_mutex_lock(&r->lock);
	for (;;) {
		while (!r->pending && !r->stopping)
			pthread_cond_wait(&r->wake, &r->lock);
		if (r->stopping)
			break;
		r->pending = false;	/* a SIGHUP from now on asks for one more */
		pthread_mutex_unlock(&r->lock);
		reload(r->args, r->slot);
		pthread_mutex_lock(&r->lock);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

/* reloader_start - the reload thread, idle until the first SIGHUP */
static void
reloader_start(struct reloader *r, const struct daemon_args *args, struct runtime_slot *slot)
{
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->wake, NULL);
	r->pending = r->stopping = false;
	r->args = args;
	r->slot = slot;
	if (pthread_create(&r->thread, NULL, reload_thread, r) != 0)
		fatal("cannot start the reload thread");
}

/* reloader_request - from the signal loop: never blocks for longer than a flag */
static void
reloader_request(struct reloader *r)
{
	pthread_mutex_lock(&r->lock);
	r->pending = true;
	pthread_cond_signal(&r->wake);
	pthread_mutex_unlock(&r->lock);
}

/* reloader_stop - let a reload in progress finish, then end the thread */
static void
reloader_stop(struct reloader *r)
{
	pthread_mutex_lock(&r->lock);
	r->stopping = true;
	pthread_cond_signal(&r->wake);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	pthread_cond_destroy(&r->wake);
	pthread_mutex_destroy(&r->lock);
}

/* past - has the CLOCK_MONOTONIC deadline passed? */
static bool
past(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > deadline->tv_sec
	       || (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec);
}

/* nap - 50 ms between two looks at a shutdown condition; false: a second SIGTERM */
static bool
nap(void)
{
	int sig;

	/* A SIGHUP now is dropped: there is nothing left to reload for. */
	if (signals_wait(50, &sig) != SIGNALS_STOP)
		return true;
	log_warning("signal %d again: not waiting for messages in flight", sig);
	return false;
}

/*
 * drain - the shutdown, at most timeout seconds: new messages already get a
 * tempfail (steps_stop); wait until none is in flight, then stop the
 * engine. A second SIGTERM or SIGINT ends the waiting at once.
 * Returns the number of messages still in flight.
 */
static int
drain(int timeout)
{
	struct timespec deadline;
	bool wait = true;
	int left;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout;
	while ((left = steps_in_flight()) > 0 && wait && !past(&deadline))
		wait = nap();
	engine_stop();
	return left;
}

/* log_history_drops - one line a minute at most while history rows are lost */
static void
log_history_drops(void)
{
	struct buf line;

	buf_init(&line);
	if (history_service_report(time(NULL), &line))
		log_warning("%s", line.data);
	buf_free(&line);
}

/* signal_loop - the main thread's job once the engine runs; false: it failed */
static bool
signal_loop(struct reloader *r)
{
	int sig;

	for (;;) {
		switch (signals_wait(DAEMON_TICK_MS, &sig)) {
		case SIGNALS_RELOAD:
			reloader_request(r);
			break;
		case SIGNALS_STOP:
			log_info("stopping on signal %d: new messages get 451, finishing %d in flight",
				 sig, steps_in_flight());
			steps_stop();
			return true;
		case SIGNALS_TICK:
			fdwatch_check();
			log_history_drops();
			break;
		}
		/* Not a silent zombie: an engine that gave up is a failed daemon. */
		if (engine_failed()) {
			log_error("the milter engine stopped serving; exiting");
			return false;
		}
	}
}

/* daemon_run - returns the exit status */
int
daemon_run(const struct daemon_args *args, struct runtime_slot *slot)
{
	struct runtime *rt = runtime_acquire(slot);
	const struct config *cfg = &rt->cfg;
	char why[512];
	int fd = listen_systemd_fd();
	struct reloader reloader;

	log_open(args->foreground, cfg->log_level);
	fdwatch_init();
	observe_dns(rt);	/* before any thread: nothing else reads it yet */
	if (fd < 0)
		fd = listen_open(cfg->socket_spec, cfg->socket_mode, why, sizeof(why));
	if (fd < 0)
		fatal("%s", why);
	if (cfg->user_id && listen_unix_path()) {
		unsigned uid, gid;
		if (privs_lookup(cfg->user_id, &uid, &gid, why, sizeof(why))
		    && chown(listen_unix_path(), (uid_t)uid, (gid_t)gid) != 0)
			log_warning("cannot chown %s: %s", listen_unix_path(), strerror(errno));
	}
	if (!args->foreground)
		daemonize();
	if (cfg->pid_file)
		write_pid_file(cfg->pid_file);
	if (cfg->metrics_listen && !metrics_http_start(cfg->metrics_listen, why, sizeof(why)))
		fatal("%s", why);
	if (cfg->user_id && !privs_drop(cfg->user_id, why, sizeof(why)))
		fatal("%s", why);
	struct buf hwhy;	/* after the drop: the store's files belong to UserID */
	buf_init(&hwhy);
	if (!history_service_configure(cfg, false, 0, &hwhy))
		fatal("HistoryDB: %s", hwhy.data);
	buf_free(&hwhy);

	steps_init(slot);
	reloader_start(&reloader, args, slot);
	if (!engine_start(fd, why, sizeof(why)))
		fatal("%s", why);
	log_info("authmilter %s listening on %s (authserv-id %s)", PACKAGE_VERSION,
		 cfg->socket_spec, cfg->authserv_id);
	int shutdown_timeout = cfg->shutdown_timeout;
	char *pid_file = cfg->pid_file ? xstrdup(cfg->pid_file) : NULL;
	runtime_release(rt);

	bool asked = signal_loop(&reloader);
	reloader_stop(&reloader);
	time_t stop_began = time(NULL);
	int left = drain(shutdown_timeout);
	if (left > 0)
		log_warning("%d message(s) still in flight after ShutdownTimeout %d s; exiting anyway",
			    left, shutdown_timeout);
	/* the last messages' rows, in what is left of ShutdownTimeout */
	int spent = (int)(time(NULL) - stop_began);
	history_service_stop(spent < shutdown_timeout ? shutdown_timeout - spent : 0);
	bool milter_ok = !engine_failed();
	metrics_http_stop();
	if (listen_unix_path())
		unlink(listen_unix_path());
	if (pid_file)
		unlink(pid_file);
	free(pid_file);
	log_info("authmilter stopped");
	return asked && left == 0 && milter_ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
