/*
 * authmilter - SPF, DKIM and DMARC verification milter.
 *
 * main() reads options and the conf file, builds the first configuration
 * snapshot, and then either runs test mode (-t), checks the conf (-n), or
 * hands over to daemon.c.
 */
#include "daemon.h"
#include "log.h"
#include "signals.h"
#include "testmode.h"
#include "../lib/dkimv.h"
#include "../lib/dnscache.h"
#include "../lib/history_service.h"
#include "../lib/runtime.h"

#include <getopt.h>
#include <time.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#define DEFAULT_CONF SYSCONFDIR "/authmilter.conf"

struct options {
	const char *conf_path;		/* NULL: no file, built-in defaults */
	bool check_only;
	bool foreground;
	struct testmode_args test;
	bool test_mode;
};

static void
usage(FILE *fp)
{
	fprintf(fp,
		"usage: authmilter [-c CONF] [-f]           run the milter\n"
		"       authmilter [-c CONF] -n             check the configuration\n"
		"       authmilter [-c CONF] -t MESSAGE -i CLIENT_IP [-H HELO] [-s MAIL_FROM]\n"
		"                  [-a AUTH_USER] [-T UNIXTIME]\n"
		"                                           evaluate one message (test mode)\n"
		"       authmilter -V                       print the version\n");
}

/* parse_unixtime - -T's argument: Unix seconds, positive; exits on anything else */
static time_t
parse_unixtime(const char *text)
{
	char *end;
	long long t;

	errno = 0;
	t = strtoll(text, &end, 10);
	if (errno || end == text || *end != '\0' || t <= 0) {
		fprintf(stderr, "authmilter: -T needs Unix seconds, not \"%s\"\n", text);
		exit(2);
	}
	return (time_t)t;
}

static void
parse_options(int argc, char **argv, struct options *o)
{
	int c;

	memset(o, 0, sizeof(*o));
	while ((c = getopt(argc, argv, "c:fnt:i:H:s:a:T:Vh")) != -1) {
		switch (c) {
		case 'c': o->conf_path = optarg; break;
		case 'f': o->foreground = true; break;
		case 'n': o->check_only = true; break;
		case 't': o->test.message_file = optarg; o->test_mode = true; break;
		case 'i': o->test.client_ip = optarg; break;
		case 'H': o->test.helo = optarg; break;
		case 's': o->test.sender = optarg; break;
		case 'a': o->test.auth_user = optarg; break;
		case 'T': o->test.when = parse_unixtime(optarg); break;
		case 'V': printf("authmilter %s\n", PACKAGE_VERSION); exit(EXIT_SUCCESS);
		case 'h': usage(stdout); exit(EXIT_SUCCESS);
		default: usage(stderr); exit(2);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "authmilter: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		exit(2);
	}
	/* Without -c, the default file is read when present; -c names one that must be. */
	if (o->conf_path == NULL && access(DEFAULT_CONF, F_OK) == 0)
		o->conf_path = DEFAULT_CONF;
	if (o->test_mode && o->test.client_ip == NULL) {
		fprintf(stderr, "authmilter: -t needs -i CLIENT_IP\n");
		exit(2);
	}
}

/* load_config - defaults, then the file, if there is one */
static void
load_config(const struct options *o, struct config *cfg)
{
	struct buf errors;

	config_defaults(cfg);
	if (o->conf_path == NULL)
		return;
	buf_init(&errors);
	if (!config_load(cfg, o->conf_path, &errors)) {
		fputs(errors.data, stderr);
		exit(EXIT_FAILURE);
	}
	buf_free(&errors);
}

int
main(int argc, char **argv)
{
	struct options o;
	struct config cfg;
	struct runtime_slot slot;
	char why[256];
	int rc;

	parse_options(argc, argv, &o);
	/* Before any library can start a thread: they all inherit the mask. */
	if (!o.test_mode && !o.check_only)
		signals_block();
	buf_set_oom_handler(log_oom);
	load_config(&o, &cfg);
	if (o.check_only) {
		struct buf errors;	/* HistoryDB: the store must be reachable */
		buf_init(&errors);
		bool store_ok = history_service_check(&cfg, o.conf_path, &errors);
		if (store_ok)
			printf("%s: OK\n", o.conf_path ? o.conf_path : "built-in defaults");
		else
			fputs(errors.data, stderr);
		buf_free(&errors);
		config_free(&cfg);
		return store_ok ? EXIT_SUCCESS : EXIT_FAILURE;
	}
	struct dns_cache *cache = dnscache_new((size_t)cfg.dns_cache_size);
	if (!dkimv_init((unsigned)cfg.dkim_clock_skew, why, sizeof(why))) {
		fprintf(stderr, "authmilter: %s\n", why);
		return EXIT_FAILURE;
	}
	struct runtime *rt = runtime_new(&cfg, cache, why, sizeof(why));
	if (rt == NULL) {
		fprintf(stderr, "authmilter: %s\n", why);
		return EXIT_FAILURE;
	}
	runtime_slot_init(&slot, rt);
	if (o.test_mode) {
		log_open(true, rt->cfg.log_level);
		rc = testmode_run(&slot, &o.test);
	} else {
		struct daemon_args args = {
			.conf_path = o.conf_path,
			.foreground = o.foreground,
			.cache = cache,
		};
		rc = daemon_run(&args, &slot);
	}
	runtime_slot_destroy(&slot);
	dkimv_shutdown();
	dnscache_free(cache);
	return rc;
}
