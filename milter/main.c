/*
 * authmilter - SPF, DKIM and DMARC verification milter.
 *
 * main() reads options and the conf file, builds the shared DNS context,
 * and then either runs test mode (-t), checks the conf (-n), or becomes
 * the daemon: socket, privilege drop, PID file, libmilter's main loop.
 */
#include "callbacks.h"
#include "listen.h"
#include "log.h"
#include "privs.h"
#include "testmode.h"
#include "../lib/dkimv.h"
#include "../lib/dmarc.h"
#include "../lib/dnscache.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#define DEFAULT_CONF SYSCONFDIR "/authmilter.conf"

struct options {
	const char *conf_path;
	bool conf_explicit;
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
		"                  [-a AUTH_USER]\n"
		"                                           evaluate one message (test mode)\n"
		"       authmilter -V                       print the version\n");
}

static void
parse_options(int argc, char **argv, struct options *o)
{
	int c;

	memset(o, 0, sizeof(*o));
	o->conf_path = DEFAULT_CONF;
	while ((c = getopt(argc, argv, "c:fnt:i:H:s:a:Vh")) != -1) {
		switch (c) {
		case 'c': o->conf_path = optarg; o->conf_explicit = true; break;
		case 'f': o->foreground = true; break;
		case 'n': o->check_only = true; break;
		case 't': o->test.message_file = optarg; o->test_mode = true; break;
		case 'i': o->test.client_ip = optarg; break;
		case 'H': o->test.helo = optarg; break;
		case 's': o->test.sender = optarg; break;
		case 'a': o->test.auth_user = optarg; break;
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
	if (o->test_mode && o->test.client_ip == NULL) {
		fprintf(stderr, "authmilter: -t needs -i CLIENT_IP\n");
		exit(2);
	}
}

/* load_config - defaults, then the file; the default path may be absent */
static void
load_config(const struct options *o, struct config *cfg)
{
	struct buf errors;

	config_defaults(cfg);
	if (!o->conf_explicit && access(o->conf_path, F_OK) != 0)
		return;
	buf_init(&errors);
	if (!config_load(cfg, o->conf_path, &errors)) {
		fputs(errors.data, stderr);
		exit(EXIT_FAILURE);
	}
	buf_free(&errors);
}

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
	freopen("/dev/null", "r", stdin);
	freopen("/dev/null", "w", stdout);
	freopen("/dev/null", "w", stderr);
}

static int
run_daemon(const struct options *o, const struct config *cfg)
{
	char why[512], spec[32];
	int fd = listen_systemd_fd();

	log_open(o->foreground, cfg->log_level);
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
	if (!o->foreground)
		daemonize();
	if (cfg->pid_file)
		write_pid_file(cfg->pid_file);
	if (cfg->user_id && !privs_drop(cfg->user_id, why, sizeof(why)))
		fatal("%s", why);

	snprintf(spec, sizeof(spec), "fd:%d", fd);
	if (smfi_register(callbacks_desc) == MI_FAILURE)
		fatal("smfi_register failed");
	if (smfi_setconn(spec) == MI_FAILURE)
		fatal("smfi_setconn %s failed", spec);
	signal(SIGPIPE, SIG_IGN);
	log_info("authmilter %s listening on %s (authserv-id %s)", PACKAGE_VERSION,
		 cfg->socket_spec, cfg->authserv_id);
	/* smfi_main stops on SIGTERM/SIGINT after the in-flight connections end. */
	int rc = smfi_main();
	if (listen_unix_path())
		unlink(listen_unix_path());
	if (cfg->pid_file)
		unlink(cfg->pid_file);
	log_info("authmilter stopped");
	return rc == MI_SUCCESS ? EXIT_SUCCESS : EXIT_FAILURE;
}

int
main(int argc, char **argv)
{
	struct options o;
	struct config cfg;
	struct dns dns;
	struct dns_server servers[DNS_MAX_SERVERS];
	const struct dns_server *use = cfg.nameservers;
	int n;

	parse_options(argc, argv, &o);
	load_config(&o, &cfg);
	if (o.check_only) {
		printf("%s: OK\n", o.conf_explicit || access(o.conf_path, F_OK) == 0
		       ? o.conf_path : "built-in defaults");
		config_free(&cfg);
		return EXIT_SUCCESS;
	}
	n = cfg.n_nameservers;
	use = cfg.nameservers;
	if (n == 0) {
		n = dns_servers_from_resolv_conf("/etc/resolv.conf", servers, DNS_MAX_SERVERS);
		use = servers;
	}
	struct dns_cache *cache = dnscache_new((size_t)cfg.dns_cache_size);
	dns_init(&dns, use, n, cfg.dns_timeout, cfg.dns_retries, cache);
	struct dkimv_settings dkim_settings = {
		.min_key_bits = (unsigned)cfg.dkim_min_key_bits,
		.max_signatures = (unsigned)cfg.dkim_max_signatures,
		.clock_skew = (unsigned)cfg.dkim_clock_skew,
	};
	char why[256];
	if (!dkimv_init(&dns, &dkim_settings, why, sizeof(why))) {
		fprintf(stderr, "authmilter: %s\n", why);
		return EXIT_FAILURE;
	}

	struct dmarc_ctx dmarc;
	if (!dmarc_ctx_init(&dmarc, &dns, (enum dmarc_mode)cfg.dmarc_mode, cfg.psl_file, why,
			    sizeof(why))) {
		fprintf(stderr, "authmilter: %s\n", why);
		return EXIT_FAILURE;
	}

	int rc;
	if (o.test_mode) {
		log_open(true, cfg.log_level);
		rc = testmode_run(&cfg, &dns, &dmarc, &o.test);
	} else {
		callbacks_init(&cfg, &dns, &dmarc);
		rc = run_daemon(&o, &cfg);
	}
	dmarc_ctx_free(&dmarc);
	dkimv_shutdown();
	dnscache_free(cache);
	config_free(&cfg);
	return rc;
}
