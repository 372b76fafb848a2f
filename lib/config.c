/*
 * config - parse authmilter.conf into struct config.
 *
 * The key table below is the single list of keys: parser, duplicate check
 * and defaults all read it, so adding a key is one row and one default.
 */
#include "config.h"
#include "arc.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define CONFIG_MAX_LINE 4096

enum config_type {
	CT_STRING, CT_BOOL, CT_INT, CT_LOGLEVEL, CT_NAMESERVERS, CT_MODE, CT_CHOICE, CT_NETS,
	CT_OVERRIDES, CT_LISTEN, CT_SOCKET, CT_SEALERS, CT_AUTHSERV_IDS,
	CT_ARC_NAME, CT_ARC_KEY, CT_ARC_HEADERS, CT_SUPPRESS
};

struct config_key {
	const char *name;
	enum config_type type;
	size_t offset;
	int min, max;			/* CT_INT bounds */
	const char *const *choices;	/* CT_CHOICE: NULL-terminated, stored as the index */
};

static const char *const dmarc_modes[] = { "rfc9989", "rfc7489", NULL };
static const char *const multi_from_choices[] = { "reject", "evaluate-strictest", "ignore", NULL };
static const char *const quarantine_choices[] = { "hold", "header", NULL };
static const char *const trusted_choices[] = { "stamp", "skip", NULL };
static const char *const list_choices[] = { "reject", "quarantine", "accept", NULL };
static const char *const override_names[] = { "never-reject", "always-pass", "force-reject", NULL };

#define OFF(f) offsetof(struct config, f)

static const struct config_key config_keys[] = {
	{ "Socket",		CT_SOCKET,	OFF(socket_spec),	0, 0, NULL },
	{ "SocketMode",		CT_MODE,	OFF(socket_mode),	0, 0777, NULL },
	{ "AuthservID",		CT_STRING,	OFF(authserv_id),	0, 0, NULL },
	{ "Nameservers",	CT_NAMESERVERS,	0,			0, 0, NULL },
	{ "DNSTimeout",		CT_INT,		OFF(dns_timeout),	1, 300, NULL },
	{ "DNSRetries",		CT_INT,		OFF(dns_retries),	0, 10, NULL },
	{ "DNSCacheSize",	CT_INT,		OFF(dns_cache_size),	0, 10000000, NULL },
	{ "DNSBudget",		CT_INT,		OFF(dns_budget),	1, 3600, NULL },
	{ "UserID",		CT_STRING,	OFF(user_id),		0, 0, NULL },
	{ "PidFile",		CT_STRING,	OFF(pid_file),		0, 0, NULL },
	{ "LogLevel",		CT_LOGLEVEL,	OFF(log_level),		0, 0, NULL },
	{ "SPFHelo",		CT_BOOL,	OFF(spf_helo),		0, 0, NULL },
	{ "SPFRejectFail",	CT_BOOL,	OFF(spf_reject_fail),	0, 0, NULL },
	{ "TempFailOnDNSError",	CT_BOOL,	OFF(tempfail_on_dns_error), 0, 0, NULL },
	{ "DKIMMinKeyBits",	CT_INT,		OFF(dkim_min_key_bits),	512, 16384, NULL },
	{ "DKIMMaxSignatures",	CT_INT,		OFF(dkim_max_signatures), 1, 1000, NULL },
	{ "MaxHeaderBytes",	CT_INT,		OFF(max_header_bytes),	102400, 67108864, NULL },
	{ "DKIMClockSkew",	CT_INT,		OFF(dkim_clock_skew),	0, 86400, NULL },
	{ "DMARCMode",		CT_CHOICE,	OFF(dmarc_mode),	0, 0, dmarc_modes },
	{ "PublicSuffixList",	CT_STRING,	OFF(psl_file),		0, 0, NULL },
	{ "DMARCEnforce",	CT_BOOL,	OFF(dmarc_enforce),	0, 0, NULL },
	{ "DMARCQuarantine",	CT_CHOICE,	OFF(dmarc_quarantine),	0, 0, quarantine_choices },
	{ "DMARCRejectText",	CT_STRING,	OFF(dmarc_reject_text),	0, 0, NULL },
	{ "DMARCMultiFrom",	CT_CHOICE,	OFF(dmarc_multi_from),	0, 0, multi_from_choices },
	{ "TrustedNetworks",	CT_NETS,	0,			0, 0, NULL },
	{ "TrustedClientPolicy", CT_CHOICE,	OFF(trusted_policy),	0, 0, trusted_choices },
	{ "DMARCOverrides",	CT_OVERRIDES,	0,			0, 0, NULL },
	{ "DMARCListAction",	CT_CHOICE,	OFF(dmarc_list_action),	0, 0, list_choices },
	{ "ShutdownTimeout",	CT_INT,		OFF(shutdown_timeout),	1, 3600, NULL },
	{ "MetricsListen",	CT_LISTEN,	OFF(metrics_listen),	0, 0, NULL },
	{ "ARCTrustedSealers",	CT_SEALERS,	0,			0, 0, NULL },
	{ "ARCSign",		CT_BOOL,	OFF(arc_sign),		0, 0, NULL },
	{ "ARCSignDomain",	CT_ARC_NAME,	OFF(arc_sign_domain),	0, 0, NULL },
	{ "ARCSignSelector",	CT_ARC_NAME,	OFF(arc_sign_selector),	0, 0, NULL },
	{ "ARCSignKey",		CT_ARC_KEY,	0,			0, 0, NULL },
	{ "ARCSignHeaders",	CT_ARC_HEADERS,	OFF(arc_sign_headers),	0, 0, NULL },
	{ "TrustedAuthservIDs",	CT_AUTHSERV_IDS, 0,			0, 0, NULL },
	/* DMARC history store and failure reports (issue 11) */
	{ "HistoryDB",		CT_STRING,	OFF(history_db),	0, 0, NULL },
	{ "HistoryQueue",	CT_INT,		OFF(history_queue),	1, 10000000, NULL },
	{ "HistoryKeep",	CT_INT,		OFF(history_keep),	1, 3650, NULL },
	{ "FailureReports",	CT_BOOL,	OFF(failure_reports),	0, 0, NULL },
	{ "FailureReportsBody",	CT_BOOL,	OFF(failure_reports_body), 0, 0, NULL },
	/* DMARC reports: read by authmilter-report */
	{ "ReportOrgName",	CT_STRING,	OFF(report_org_name),	0, 0, NULL },
	{ "ReportEmail",	CT_STRING,	OFF(report_email),	0, 0, NULL },
	{ "ReportSend",		CT_STRING,	OFF(report_send),	0, 0, NULL },
	{ "ReportSMTPUser",	CT_STRING,	OFF(report_smtp_user),	0, 0, NULL },
	{ "ReportSMTPPasswordFile", CT_STRING,	OFF(report_smtp_password_file), 0, 0, NULL },
	{ "ReportSuppress",	CT_SUPPRESS,	0,			0, 0, NULL },
	{ "ReportMaxRecipients", CT_INT,	OFF(report_max_recipients), 1, 100, NULL },
	{ "ReportMaxSize",	CT_INT,		OFF(report_max_size),	10240, 1073741824, NULL },
	{ "FailureReportsInterval", CT_INT,	OFF(failure_reports_interval), 0, 604800, NULL },
	{ "ReportSpoolDir",	CT_STRING,	OFF(report_spool_dir),	0, 0, NULL },
	/* authmilter-report: smarthost CA and the metrics file (issue 11) */
	{ "ReportSMTPCAFile",	CT_STRING,	OFF(report_smtp_ca_file), 0, 0, NULL },
	{ "ReportMetricsFile",	CT_STRING,	OFF(report_metrics_file), 0, 0, NULL },
};

#define N_KEYS (sizeof(config_keys) / sizeof(config_keys[0]))

static const char *const log_level_names[] = { "error", "warning", "info", "debug" };

/* config_log_level_name - the conf spelling of a level */
const char *
config_log_level_name(enum log_level level)
{
	return log_level_names[level];
}

static char *
default_authserv_id(void)
{
	char host[256];

	if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0')
		return xstrdup("localhost");
	host[sizeof(host) - 1] = '\0';
	return xstrdup(host);
}

/* config_defaults - the built-in configuration: usable with no conf file */
void
config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->socket_spec = xstrdup("inet:8891@127.0.0.1");
	cfg->authserv_id = default_authserv_id();
	cfg->dns_timeout = 5;
	cfg->dns_retries = 1;
	cfg->dns_cache_size = 10000;
	cfg->dns_budget = 20;	/* under Postfix's 30 s per command and Sendmail's R:30s */
	cfg->log_level = LOG_LEVEL_INFO;
	cfg->socket_mode = 0660;
	cfg->spf_helo = true;
	cfg->spf_reject_fail = false;
	cfg->tempfail_on_dns_error = false;
	cfg->dkim_min_key_bits = 1024;
	cfg->dkim_max_signatures = 10;
	cfg->max_header_bytes = CONFIG_DEFAULT_MAX_HEADER_BYTES;
	cfg->dkim_clock_skew = 300;
	cfg->psl_file = xstrdup("/usr/share/publicsuffix/public_suffix_list.dat");
	cfg->dmarc_enforce = true;
	cfg->shutdown_timeout = 30;
	cfg->dmarc_reject_text = xstrdup("Rejected by the DMARC policy of %d");
	/* No trusted networks by default: on a plain MX every SMTP client is
	 * checked, including a loopback relay; the admin lists what to trust. */
	cfg->history_queue = 10000;	/* HistoryDB unset: no history, no reports */
	cfg->history_keep = 30;
	cfg->report_send = xstrdup("sendmail");
	cfg->report_max_recipients = 2;
	cfg->report_max_size = 10485760;	/* 10 MiB: what most MTAs accept */
	cfg->failure_reports_interval = 3600;
	cfg->report_spool_dir = xstrdup("/var/lib/authmilter/report-spool");
}

static void
free_overrides(struct config *cfg)
{
	for (size_t i = 0; i < cfg->n_overrides; i++)
		free(cfg->overrides[i].domain);
	free(cfg->overrides);
	cfg->overrides = NULL;
	cfg->n_overrides = 0;
}

/* free_list - a list of strings */
static void
free_list(char ***list, size_t *n)
{
	for (size_t i = 0; i < *n; i++)
		free((*list)[i]);
	free(*list);
	*list = NULL;
	*n = 0;
}

/* config_find_override - the override for domain or its nearest parent */
const struct dmarc_override *
config_find_override(const struct config *cfg, const char *domain)
{
	const struct dmarc_override *best = NULL;
	size_t n = strlen(domain), best_len = 0;

	for (size_t i = 0; i < cfg->n_overrides; i++) {
		const char *d = cfg->overrides[i].domain;
		size_t l = strlen(d);
		if (l > n || strcasecmp(domain + n - l, d) != 0 || (l < n && domain[n - l - 1] != '.'))
			continue;
		if (l > best_len)
			best = &cfg->overrides[i], best_len = l;
	}
	return best;
}

/* config_free - release strings */
void
config_free(struct config *cfg)
{
	free(cfg->socket_spec);
	free(cfg->authserv_id);
	free(cfg->user_id);
	free(cfg->pid_file);
	free(cfg->psl_file);
	free(cfg->metrics_listen);
	free(cfg->dmarc_reject_text);
	free(cfg->trusted_nets);
	free_overrides(cfg);
	free_list(&cfg->arc_trusted_sealers, &cfg->n_arc_trusted_sealers);
	free_list(&cfg->trusted_authserv_ids, &cfg->n_trusted_authserv_ids);
	free(cfg->arc_sign_domain);
	free(cfg->arc_sign_selector);
	free(cfg->arc_sign_headers);
	arc_key_free(cfg->arc_sign_key);
	free(cfg->history_db);
	free(cfg->report_org_name);
	free(cfg->report_email);
	free(cfg->report_send);
	free(cfg->report_smtp_user);
	free(cfg->report_smtp_password_file);
	free_list(&cfg->report_suppress, &cfg->n_report_suppress);
	free(cfg->report_spool_dir);
	free(cfg->report_smtp_ca_file);
	free(cfg->report_metrics_file);
	memset(cfg, 0, sizeof(*cfg));
}

static bool
parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0)
			return *out = true, true;
		if (strcasecmp(v, no[i]) == 0)
			return *out = false, true;
	}
	return false;
}

static bool
parse_int(const char *v, int base, long min, long max, int *out)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, base);
	if (errno || end == v || *end != '\0' || n < min || n > max)
		return false;
	*out = (int)n;
	return true;
}

static bool
parse_nameservers(struct config *cfg, const char *value, struct buf *why)
{
	char *copy = xstrdup(value), *save = NULL, *tok;
	bool ok = true;

	cfg->n_nameservers = 0;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		while (isspace((unsigned char)*tok))
			tok++;
		size_t n = strlen(tok);
		while (n > 0 && isspace((unsigned char)tok[n - 1]))
			tok[--n] = '\0';
		if (cfg->n_nameservers == DNS_MAX_SERVERS) {
			buf_printf(why, "at most %d nameservers", DNS_MAX_SERVERS);
			ok = false;
			break;
		}
		if (!dns_server_parse(tok, &cfg->nameservers[cfg->n_nameservers])) {
			buf_printf(why, "bad nameserver \"%s\" (want ip, ip:port or [ipv6]:port)", tok);
			ok = false;
			break;
		}
		cfg->n_nameservers++;
	}
	if (ok && cfg->n_nameservers == 0) {
		buf_adds(why, "empty nameserver list");
		ok = false;
	}
	free(copy);
	return ok;
}

/*
 * Reading a conf or list file a line at a time. fgets cannot tell a NUL
 * byte from the end of the line, so a line with one would be taken cut,
 * and the rest of a long line after it read as a line of its own (a
 * comment's tail could become a network): both are errors instead.
 */
enum line_read { LINE_OK, LINE_END, LINE_LONG, LINE_NUL };

/* next_line - one line without its LF; LINE_LONG past size - 2 bytes
 * (what a line ending in LF may hold), the rest of it consumed */
static enum line_read
next_line(FILE *fp, char *line, size_t size)
{
	size_t n = 0;
	bool nul = false, cut = false;
	int c;

	while ((c = getc(fp)) != EOF && c != '\n') {
		nul |= c == '\0';
		if (n < size - 2)
			line[n++] = (char)c;
		else
			cut = true;
	}
	line[n] = '\0';
	if (c == EOF && n == 0 && !cut && !nul)
		return LINE_END;
	return nul ? LINE_NUL : cut ? LINE_LONG : LINE_OK;
}

/* for_each_line - call fn for every non-comment line of a file; file:line errors */
static bool
for_each_line(const char *path, bool (*fn)(void *ctx, char *line, struct buf *why), void *ctx,
	      struct buf *why)
{
	char line[1024];
	unsigned lineno = 0;
	FILE *fp = fopen(path, "r");
	bool ok = true;
	enum line_read got;

	if (fp == NULL) {
		buf_printf(why, "cannot open %s: %s", path, strerror(errno));
		return false;
	}
	while (ok && (got = next_line(fp, line, sizeof(line))) != LINE_END) {
		lineno++;
		if (got != LINE_OK) {
			if (got == LINE_LONG)
				buf_printf(why, "%s:%u: line longer than %zu bytes", path, lineno,
					   sizeof(line) - 2);
			else
				buf_printf(why, "%s:%u: NUL byte in the line", path, lineno);
			ok = false;
			break;
		}
		line[strcspn(line, "#\r")] = '\0';
		char *p = line;
		while (isspace((unsigned char)*p))
			p++;
		if (*p == '\0')
			continue;
		size_t before = why->len;
		if (!fn(ctx, p, why)) {
			/* prefix the inner message with the included file's position */
			char *inner = xstrdup(why->data + before);
			why->len = before;
			why->data[before] = '\0';
			buf_printf(why, "%s:%u: %s", path, lineno, inner);
			free(inner);
			ok = false;
		}
	}
	fclose(fp);
	return ok;
}

static bool
add_net(void *ctx, char *text, struct buf *why)
{
	struct config *cfg = ctx;
	size_t n = strlen(text);

	while (n > 0 && isspace((unsigned char)text[n - 1]))
		text[--n] = '\0';
	cfg->trusted_nets = xrealloc(cfg->trusted_nets, (cfg->n_trusted_nets + 1) * sizeof(struct ipnet));
	if (!ipaddr_parse_net(text, &cfg->trusted_nets[cfg->n_trusted_nets])) {
		buf_printf(why, "bad network \"%s\" (want address or address/prefix)", text);
		return false;
	}
	cfg->n_trusted_nets++;
	return true;
}

static bool
add_override(void *ctx, char *line, struct buf *why)
{
	struct config *cfg = ctx;
	char domain[256], action[32], extra[2];
	int n = sscanf(line, "%255s %31s %1s", domain, action, extra);

	if (n != 2) {
		buf_adds(why, "want \"domain action\"");
		return false;
	}
	for (int i = 0; override_names[i]; i++) {
		if (strcasecmp(action, override_names[i]) != 0)
			continue;
		size_t dl = strlen(domain);
		if (dl > 1 && domain[dl - 1] == '.')
			domain[--dl] = '\0';
		cfg->overrides = xrealloc(cfg->overrides, (cfg->n_overrides + 1) * sizeof(*cfg->overrides));
		cfg->overrides[cfg->n_overrides].domain = xstrdup(domain);
		cfg->overrides[cfg->n_overrides++].action = (enum override_action)i;
		return true;
	}
	buf_printf(why, "unknown override \"%s\" (want never-reject, always-pass or force-reject)",
		   action);
	return false;
}

/* list_add - append a copy of item */
static void
list_add(char ***list, size_t *n, const char *item)
{
	*list = xrealloc(*list, (*n + 1) * sizeof(**list));
	(*list)[(*n)++] = xstrdup(item);
}

/* check_domain - a host name: LDH labels of 1..63, 253 in all; why on error */
static bool
check_domain(const char *d, struct buf *why)
{
	size_t n = strlen(d), label = 0;

	if (n == 0 || n > 253) {
		buf_printf(why, "bad domain \"%s\" (empty or over 253 characters)", d);
		return false;
	}
	for (size_t i = 0; i <= n; i++) {
		unsigned char c = (unsigned char)d[i];
		if (c == '.' || c == '\0') {
			if (label == 0 || label > 63 || d[i - 1] == '-' || d[i - label] == '-') {
				buf_printf(why, "bad domain \"%s\" (empty, long or hyphen-edged label)", d);
				return false;
			}
			label = 0;
		} else if (isalnum(c) || c == '-' || c == '_') {
			label++;
		} else {
			buf_printf(why, "bad domain \"%s\" (character '%c')", d, isprint(c) ? c : '?');
			return false;
		}
	}
	return true;
}

/* add_sealer - "lists.example.org" (that host) or ".example.org" (its subdomains) */
static bool
add_sealer(void *ctx, char *text, struct buf *why)
{
	struct config *cfg = ctx;
	size_t n = strlen(text);

	while (n > 0 && isspace((unsigned char)text[n - 1]))
		text[--n] = '\0';
	if (n > 1 && text[n - 1] == '.')
		text[--n] = '\0';	/* the root label */
	if (strchr(text, ' ') || strchr(text, '\t')) {
		buf_printf(why, "one sealer domain a line, not \"%s\"", text);
		return false;
	}
	if (!check_domain(text[0] == '.' ? text + 1 : text, why))
		return false;
	for (char *p = text; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	list_add(&cfg->arc_trusted_sealers, &cfg->n_arc_trusted_sealers, text);
	return true;
}

/* add_suppressed - one ReportSuppress entry (an address or a domain), lower case */
static bool
add_suppressed(void *ctx, char *text, struct buf *why)
{
	struct config *cfg = ctx;
	size_t n = strlen(text);

	(void)why;
	while (n > 0 && isspace((unsigned char)text[n - 1]))
		text[--n] = '\0';
	for (char *p = text; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	list_add(&cfg->report_suppress, &cfg->n_report_suppress, text);
	return true;
}

/*
 * parse_list_or_file - "none", an inline comma/space list, or the path of
 * a file of one entry a line (for_each_line: file:line errors); each entry
 * through add. The caller empties the list first: a later line replaces it.
 */
static bool
parse_list_or_file(struct config *cfg, const char *value,
		   bool (*add)(void *ctx, char *text, struct buf *why), struct buf *why)
{
	char *copy, *save = NULL, *tok;
	bool ok = true;

	if (strcasecmp(value, "none") == 0)
		return true;
	if (value[0] == '/')
		return for_each_line(value, add, cfg, why);
	copy = xstrdup(value);
	for (tok = strtok_r(copy, ", \t", &save); tok && ok; tok = strtok_r(NULL, ", \t", &save))
		ok = add(cfg, tok, why);
	free(copy);
	return ok;
}

/* parse_authserv_ids - comma/space separated RFC 8601 authserv-ids (tokens) */
static bool
parse_authserv_ids(struct config *cfg, const char *value, struct buf *why)
{
	char *copy = xstrdup(value), *save = NULL, *tok;
	bool ok = true;

	free_list(&cfg->trusted_authserv_ids, &cfg->n_trusted_authserv_ids);
	for (tok = strtok_r(copy, ", \t", &save); tok && ok; tok = strtok_r(NULL, ", \t", &save)) {
		for (const char *p = tok; *p && ok; p++)
			if (*p <= 0x20 || *p >= 0x7f || strchr("()<>@,;:\\\"/[]?=", *p)) {
				buf_printf(why, "bad authserv-id \"%s\" (want a token such as mx.example.net)",
					   tok);
				ok = false;
			}
		if (ok)
			list_add(&cfg->trusted_authserv_ids, &cfg->n_trusted_authserv_ids, tok);
	}
	free(copy);
	return ok;
}

/* lower_copy - a lower-case copy */
static char *
lower_copy(const char *value)
{
	char *copy = xstrdup(value);

	for (char *p = copy; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return copy;
}

/* parse_arc_name - ARCSignDomain, ARCSignSelector: a domain name, in lower case */
static bool
parse_arc_name(const char *value, char **field, struct buf *why)
{
	if (!check_domain(value, why))
		return false;
	free(*field);
	*field = lower_copy(value);
	return true;
}

/* parse_arc_key - ARCSignKey: the PEM private key, loaded here (once per
 * conf, and -n reports a bad one) */
static bool
parse_arc_key(struct config *cfg, const char *path, struct buf *why)
{
	arc_key_free(cfg->arc_sign_key);
	cfg->arc_sign_key = arc_key_load(path, why);
	return cfg->arc_sign_key != NULL;
}

/* parse_arc_headers - ARCSignHeaders: names split at ':', ',' or blanks, kept
 * lower case and colon-separated; no ARC field, no Authentication-Results */
static bool
parse_arc_headers(const char *value, char **field, struct buf *why)
{
	char *copy = lower_copy(value), *save = NULL, *tok;
	struct buf list;
	bool ok = true;

	buf_init(&list);
	for (tok = strtok_r(copy, ":, \t", &save); tok && ok; tok = strtok_r(NULL, ":, \t", &save)) {
		ok = strcmp(tok, "authentication-results") != 0 && strncmp(tok, "arc-", 4) != 0;
		if (ok)
			buf_printf(&list, "%s%s", list.len ? ":" : "", tok);
		else
			buf_printf(why, "ARCSignHeaders must not name %s", tok);
	}
	free(copy);
	if (ok) {
		free(*field);
		*field = buf_steal(&list);
	}
	buf_free(&list);
	return ok;
}

static bool
check_socket_spec(const char *spec)
{
	return strncasecmp(spec, "inet:", 5) == 0 || strncasecmp(spec, "inet6:", 6) == 0
	    || strncasecmp(spec, "unix:", 5) == 0 || strncasecmp(spec, "local:", 6) == 0
	    || strncasecmp(spec, "fd:", 3) == 0 || spec[0] == '/';
}

/* apply_value - store one value; on error put the reason in why */
static bool
apply_value(struct config *cfg, const struct config_key *key, const char *value,
	    struct buf *why)
{
	void *field = (char *)cfg + key->offset;

	switch (key->type) {
	case CT_SOCKET:
		if (!check_socket_spec(value)) {
			buf_printf(why, "%s wants inet:port@host, inet6:port@host or unix:/path, not \"%s\"",
				   key->name, value);
			return false;
		}
		__attribute__((fallthrough));	/* stored as a string */
	case CT_STRING:
		free(*(char **)field);
		*(char **)field = xstrdup(value);
		return true;
	case CT_BOOL:
		if (parse_bool(value, (bool *)field))
			return true;
		buf_printf(why, "%s wants yes or no, not \"%s\"", key->name, value);
		return false;
	case CT_INT:
		if (parse_int(value, 10, key->min, key->max, (int *)field))
			return true;
		buf_printf(why, "%s wants a whole number from %d to %d, not \"%s\"",
			   key->name, key->min, key->max, value);
		return false;
	case CT_MODE:
		if (parse_int(value, 8, key->min, key->max, (int *)field))
			return true;
		buf_printf(why, "%s wants an octal mode such as 0660, not \"%s\"",
			   key->name, value);
		return false;
	case CT_LOGLEVEL:
		for (int i = 0; i <= LOG_LEVEL_DEBUG; i++) {
			if (strcasecmp(value, log_level_names[i]) == 0) {
				*(enum log_level *)field = (enum log_level)i;
				return true;
			}
		}
		buf_printf(why, "LogLevel wants error, warning, info or debug, not \"%s\"", value);
		return false;
	case CT_NAMESERVERS:
		return parse_nameservers(cfg, value, why);
	case CT_NETS:
		cfg->n_trusted_nets = 0;
		return parse_list_or_file(cfg, value, add_net, why);
	case CT_LISTEN: {
		struct dns_server addr;
		if (strrchr(value, ':') == NULL || !dns_server_parse(value, &addr)) {
			buf_printf(why, "%s wants ip:port or [ipv6]:port, not \"%s\"", key->name, value);
			return false;
		}
		free(*(char **)field);
		*(char **)field = xstrdup(value);
		return true;
	}
	case CT_SEALERS:
		free_list(&cfg->arc_trusted_sealers, &cfg->n_arc_trusted_sealers);
		return parse_list_or_file(cfg, value, add_sealer, why);
	case CT_AUTHSERV_IDS:
		return parse_authserv_ids(cfg, value, why);
	case CT_SUPPRESS:
		free_list(&cfg->report_suppress, &cfg->n_report_suppress);
		return parse_list_or_file(cfg, value, add_suppressed, why);
	case CT_ARC_NAME:
		return parse_arc_name(value, field, why);
	case CT_ARC_KEY:
		return parse_arc_key(cfg, value, why);
	case CT_ARC_HEADERS:
		return parse_arc_headers(value, field, why);
	case CT_OVERRIDES:
		free_overrides(cfg);
		return for_each_line(value, add_override, cfg, why);
	case CT_CHOICE:
		for (int i = 0; key->choices[i]; i++) {
			if (strcasecmp(value, key->choices[i]) == 0) {
				*(int *)field = i;
				return true;
			}
		}
		buf_printf(why, "%s wants", key->name);
		for (int i = 0; key->choices[i]; i++)
			buf_printf(why, "%s %s", i ? (key->choices[i + 1] ? "," : " or") : "",
				   key->choices[i]);
		buf_printf(why, ", not \"%s\"", value);
		return false;
	}
	return false;
}

static const struct config_key *
find_key(const char *name)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (strcasecmp(config_keys[i].name, name) == 0)
			return &config_keys[i];
	return NULL;
}


/* parse_line - one logical line; returns false and fills why on error */
static bool
parse_line(struct config *cfg, char *line, unsigned seen[N_KEYS], unsigned lineno,
	   struct buf *why)
{
	char *p = line, *name, *value;
	const struct config_key *key;

	while (isspace((unsigned char)*p))
		p++;
	if (*p == '\0' || *p == '#')
		return true;
	name = p;
	while (*p && !isspace((unsigned char)*p))
		p++;
	if (*p)
		*p++ = '\0';
	while (isspace((unsigned char)*p))
		p++;
	value = p;
	/* A # starts a comment only at a word boundary: values may contain it. */
	for (char *h = value; *h; h++)
		if (*h == '#' && (h == value || isspace((unsigned char)h[-1]))) {
			*h = '\0';
			break;
		}
	size_t n = strlen(value);
	while (n > 0 && isspace((unsigned char)value[n - 1]))
		value[--n] = '\0';

	key = find_key(name);
	if (key == NULL) {
		buf_printf(why, "unknown key \"%s\"", name);
		return false;
	}
	if (seen[key - config_keys]) {
		buf_printf(why, "duplicate key \"%s\"", key->name);
		return false;
	}
	seen[key - config_keys] = lineno;
	if (*value == '\0') {
		buf_printf(why, "%s needs a value", key->name);
		return false;
	}
	return apply_value(cfg, key, value, why);
}

/* check_arc_sign - ARCSign yes needs a domain, a selector and a key */
static void
check_arc_sign(const struct config *cfg, const char *path, const unsigned seen[N_KEYS],
	       struct buf *errors)
{
	unsigned line = seen[find_key("ARCSign") - config_keys];

	/* a key line that failed has its own error already */
	bool key_missing = !seen[find_key("ARCSignKey") - config_keys];

	if (cfg->arc_sign && (cfg->arc_sign_domain == NULL || cfg->arc_sign_selector == NULL
			      || key_missing))
		buf_printf(errors, "%s:%u: ARCSign yes needs ARCSignDomain, ARCSignSelector and"
			   " ARCSignKey\n", path, line);
}

/* config_load - read path over the current contents of cfg */
bool
config_load(struct config *cfg, const char *path, struct buf *errors)
{
	unsigned seen[N_KEYS] = { 0 };	/* the line of each key */
	char line[CONFIG_MAX_LINE];
	struct buf why;
	size_t errors_before = errors->len;
	unsigned lineno = 0;
	enum line_read got;
	FILE *fp;

	fp = fopen(path, "r");
	if (fp == NULL) {
		buf_printf(errors, "%s: cannot open: %s\n", path, strerror(errno));
		return false;
	}
	buf_init(&why);
	while ((got = next_line(fp, line, sizeof(line))) != LINE_END) {
		lineno++;
		if (got == LINE_LONG) {
			buf_printf(errors, "%s:%u: line longer than %d bytes\n", path, lineno,
				   CONFIG_MAX_LINE - 2);
			continue;
		}
		if (got == LINE_NUL) {
			buf_printf(errors, "%s:%u: NUL byte in the line\n", path, lineno);
			continue;
		}
		line[strcspn(line, "\r")] = '\0';
		buf_reset(&why);
		if (!parse_line(cfg, line, seen, lineno, &why))
			buf_printf(errors, "%s:%u: %s\n", path, lineno, why.data);
	}
	check_arc_sign(cfg, path, seen, errors);
	if (ferror(fp))
		buf_printf(errors, "%s: read error: %s\n", path, strerror(errno));
	fclose(fp);
	buf_free(&why);
	return errors->len == errors_before;
}
