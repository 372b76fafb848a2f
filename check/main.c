/*
 * authmilter-check - audit a sending domain's SPF, DKIM, DMARC, MTA-STS,
 * TLS-RPT and BIMI records, or explain one message's verdict.
 *
 * SYNOPSIS
 *	authmilter-check domain DOMAIN [-c CONF] [-s SELECTOR]... [--json]
 *	authmilter-check message FILE -i CLIENT_IP [-H HELO] [-s MAIL_FROM] [-c CONF]
 *
 * DESCRIPTION
 *	Domain mode runs every check through lib/ (DNS from the conf's
 *	Nameservers and DNSTimeout, else /etc/resolv.conf) and prints a report
 *	grouped by area, or JSON (DESIGN.md contract 10). Message mode is in
 *	message.c.
 *
 * DIAGNOSTICS
 *	Exit 0 all ok, 1 warnings, 2 failures, 3 could not check; 64 on a usage
 *	error, 78 on a bad conf file.
 */
#include "check.h"
#include "../lib/config.h"
#include "../lib/dnscache.h"
#include "../lib/runtime.h"

#include <ctype.h>
#include <curl/curl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXIT_USAGE 64
#define EXIT_CONFIG 78
#define DEFAULT_CONF SYSCONFDIR "/authmilter.conf"

static void
usage(FILE *fp)
{
	fputs("usage: authmilter-check domain DOMAIN [-c CONF] [-s SELECTOR]... [--json]\n"
	      "       authmilter-check message FILE -i CLIENT_IP [-H HELO] [-s MAIL_FROM] [-c CONF]\n",
	      fp);
}

/* check_load_runtime - the conf (or the defaults) and what is built from it; NULL after
 * saying why */
struct runtime *check_load_runtime(const char *conf_path, struct dns_cache **cache);

struct runtime *
check_load_runtime(const char *conf_path, struct dns_cache **cache)
{
	struct config cfg;
	struct buf errors;
	struct runtime *rt;
	char why[256];

	config_defaults(&cfg);
	if (conf_path == NULL && access(DEFAULT_CONF, F_OK) == 0)
		conf_path = DEFAULT_CONF;
	if (conf_path) {
		buf_init(&errors);
		if (!config_load(&cfg, conf_path, &errors)) {
			fputs(errors.data ? errors.data : "authmilter-check: bad conf\n", stderr);
			buf_free(&errors);
			config_free(&cfg);
			exit(EXIT_CONFIG);
		}
		buf_free(&errors);
	}
	*cache = dnscache_new((size_t)cfg.dns_cache_size);
	rt = runtime_new(&cfg, *cache, why, sizeof(why));
	if (rt == NULL) {
		fprintf(stderr, "authmilter-check: %s\n", why);
		exit(EXIT_CONFIG);
	}
	return rt;
}

/* domain_ok - a host name we can ask about: letters, digits, '-', '_', '.' */
static bool
domain_ok(const char *d)
{
	size_t n = strlen(d);

	if (n == 0 || n > DNS_MAX_NAME)
		return false;
	for (const char *p = d; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("-_.", *p))
			return false;
	return true;
}

/* run_domain - every area in the order later ones need */
static int
run_domain(struct check_ctx *cx, bool json)
{
	struct report rep;
	int rc;

	report_init(&rep, cx->domain);
	cx->rep = &rep;
	check_mx(cx);
	check_spf(cx);
	check_dmarc(cx);
	check_dkim(cx);
	check_mtasts(cx);
	check_tlsrpt(cx);
	check_bimi(cx);
	check_parked(cx);
	if (json)
		report_print_json(&rep, stdout);
	else
		report_print_text(&rep, stdout, isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL);
	rc = report_exit_status(&rep);
	report_free(&rep);
	for (size_t i = 0; i < cx->n_mx; i++)
		free(cx->mx_hosts[i]);
	free(cx->mx_hosts);
	return rc;
}

/* domain_main - "domain DOMAIN [-c CONF] [-s SELECTOR]... [--json]" */
static int
domain_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "ca-file", required_argument, NULL, 'A' },
		{ "https-port", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct check_ctx cx;
	const char *conf = NULL;
	struct dns_cache *cache;
	struct runtime *rt;
	bool json = false;
	int c, rc;

	memset(&cx, 0, sizeof(cx));
	while ((c = getopt_long(argc, argv, "c:s:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': conf = optarg; break;
		case 's':
			if (cx.n_selectors == CHECK_MAX_SELECTORS || !domain_ok(optarg)) {
				fprintf(stderr, "authmilter-check: bad or too many selectors (at most %d)\n",
					CHECK_MAX_SELECTORS);
				return EXIT_USAGE;
			}
			cx.selectors[cx.n_selectors++] = optarg;
			break;
		case 'j': json = true; break;
		case 'A': cx.ca_file = optarg; break;
		case 'P': cx.https_port = atoi(optarg); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc || !domain_ok(argv[optind]) || cx.https_port < 0
	    || cx.https_port > 65535) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cx.domain = argv[optind];
	if (cx.domain[strlen(cx.domain) - 1] == '.')
		argv[optind][strlen(cx.domain) - 1] = '\0';
	rt = check_load_runtime(conf, &cache);
	cx.dns = &rt->dns;
	cx.dmarc = &rt->dmarc;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = run_domain(&cx, json);
	curl_global_cleanup();
	runtime_release(rt);
	dnscache_free(cache);
	return rc;
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "domain") == 0)
		return domain_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "message") == 0)
		return check_message_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return EXIT_USAGE;
}
