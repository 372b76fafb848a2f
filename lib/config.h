/*
 * config - the authmilter.conf file: `Key value` lines, case-insensitive
 * keys, `#` comments, built-in defaults for every key.
 *
 * config_load() never logs and never exits: every problem is appended to
 * the caller's error list as "file:line: message", and the load fails if
 * there was any.
 */
#ifndef AUTHMILTER_CONFIG_H
#define AUTHMILTER_CONFIG_H

#include <stdbool.h>
#include "buf.h"
#include "dns.h"
#include "ipaddr.h"

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARNING, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };
enum multi_from { MULTI_FROM_REJECT, MULTI_FROM_STRICTEST, MULTI_FROM_IGNORE };
enum quarantine_how { QUARANTINE_HOLD, QUARANTINE_HEADER };
enum trusted_policy { TRUSTED_STAMP, TRUSTED_SKIP };
enum list_action { LIST_REJECT, LIST_QUARANTINE, LIST_ACCEPT };
enum override_action { OVERRIDE_NEVER_REJECT, OVERRIDE_ALWAYS_PASS, OVERRIDE_FORCE_REJECT };

struct dmarc_override {
	char *domain;			/* applies to this domain and its subdomains */
	enum override_action action;
};

/* 1 MiB: ten From fields at Postfix's header_size_limit (102,400) still fit. */
#define CONFIG_DEFAULT_MAX_HEADER_BYTES 1048576

struct config {
	char *socket_spec;		/* libmilter spec: inet:port@host, inet6:, unix:/path */
	char *authserv_id;		/* our A-R authserv-id */
	struct dns_server nameservers[DNS_MAX_SERVERS];
	int n_nameservers;		/* 0: use /etc/resolv.conf */
	int dns_timeout;		/* seconds per try */
	int dns_retries;		/* tries per server after the first */
	int dns_cache_size;		/* entries in the shared cache */
	int dns_budget;			/* seconds of DNS per milter stage (MAIL FROM, EOH, EOM) */
	char *user_id;			/* user[:group] to run as; NULL keeps the current one */
	char *pid_file;			/* NULL: none */
	enum log_level log_level;
	int socket_mode;		/* unix socket permissions */
	bool spf_helo;			/* check and report the HELO identity too */
	bool spf_reject_fail;		/* 550 on SPF fail of MAIL FROM */
	bool tempfail_on_dns_error;	/* 451 when a check ends in temperror */
	int dkim_min_key_bits;		/* RSA keys below this never pass */
	int dkim_max_signatures;	/* signatures evaluated per message */
	int max_header_bytes;		/* header section read per message; past it: permerror */
	int dkim_clock_skew;		/* seconds of slack for t= and x= */
	int dmarc_mode;			/* enum dmarc_mode */
	char *psl_file;			/* RFC 7489 mode's public suffix list */
	bool dmarc_enforce;		/* no: monitor, stamp only */
	int dmarc_quarantine;		/* enum quarantine_how */
	char *dmarc_reject_text;	/* %d: the From domain */
	int dmarc_multi_from;		/* enum multi_from */
	struct ipnet *trusted_nets;	/* clients not DMARC-enforced */
	size_t n_trusted_nets;
	int trusted_policy;		/* enum trusted_policy, also for SMTP AUTH */
	struct dmarc_override *overrides;
	size_t n_overrides;
	int dmarc_list_action;		/* enum list_action */
	int shutdown_timeout;		/* seconds to finish messages in flight on SIGTERM */
	char *metrics_listen;		/* ip:port for Prometheus, NULL: off */
	/* ARCTrustedSealers: lower case; ".example.org" stands for its subdomains */
	char **arc_trusted_sealers;
	size_t n_arc_trusted_sealers;
	/* ARC sealing: ARCSign, ARCSignDomain, ARCSignSelector (lower case),
	 * ARCSignKey (the key loaded from that file), ARCSignHeaders
	 * (lower case, colon-separated; NULL: ARC_DEFAULT_SIGN_HEADERS) */
	bool arc_sign;
	char *arc_sign_domain, *arc_sign_selector, *arc_sign_headers;
	struct arc_key *arc_sign_key;
	/* TrustedAuthservIDs: upstream A-R ids believed from TrustedNetworks clients */
	char **trusted_authserv_ids;
	size_t n_trusted_authserv_ids;
	/* DMARC history store (issue 11): HistoryDB sqlite:PATH or postgresql://...,
	 * NULL: off; HistoryQueue rows wait for the writer (more are dropped);
	 * HistoryKeep days of rows; FailureReports keeps the header section (and
	 * with FailureReportsBody the body) of failures a ruf= asks about */
	char *history_db;
	int history_queue;
	int history_keep;
	bool failure_reports;
	bool failure_reports_body;
	/* DMARC reports (authmilter-report, issue 11) */
	char *report_org_name;		/* <org_name>; NULL: AuthservID */
	char *report_email;		/* <email> and From:; NULL: postmaster@AuthservID */
	char *report_send;		/* "sendmail", a command line, or smtp(s)://host:port */
	char *report_smtp_user;		/* AUTH user (TLS required); NULL: no AUTH */
	char *report_smtp_password_file;
	/* ReportSuppress: addresses and domains, lower case, from the inline list or the file */
	char **report_suppress;
	size_t n_report_suppress;
	int report_max_recipients;	/* destinations per report */
	int report_max_size;		/* bytes of a report message; larger: skipped, logged */
	int failure_reports_interval;	/* seconds between failure reports to one destination */
	char *report_spool_dir;		/* the submission journal */
	char *report_smtp_ca_file;	/* CAs for the smarthost's certificate; NULL: system's */
	char *report_metrics_file;	/* Prometheus text file written after each run; NULL: off */
};

struct arc_key;
void config_defaults(struct config *cfg);
bool config_load(struct config *cfg, const char *path, struct buf *errors);
void config_free(struct config *cfg);
const char *config_log_level_name(enum log_level level);
const struct dmarc_override *config_find_override(const struct config *cfg, const char *domain);

#endif
