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

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARNING, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

struct config {
	char *socket_spec;		/* libmilter spec: inet:port@host, inet6:, unix:/path */
	char *authserv_id;		/* our A-R authserv-id */
	struct dns_server nameservers[DNS_MAX_SERVERS];
	int n_nameservers;		/* 0: use /etc/resolv.conf */
	int dns_timeout;		/* seconds per try */
	int dns_retries;		/* tries per server after the first */
	int dns_cache_size;		/* entries in the shared cache */
	char *user_id;			/* user[:group] to run as; NULL keeps the current one */
	char *pid_file;			/* NULL: none */
	enum log_level log_level;
	int socket_mode;		/* unix socket permissions */
	bool spf_helo;			/* check and report the HELO identity too */
	bool spf_reject_fail;		/* 550 on SPF fail of MAIL FROM */
	bool tempfail_on_dns_error;	/* 451 when a check ends in temperror */
	int dkim_min_key_bits;		/* RSA keys below this never pass */
	int dkim_max_signatures;	/* signatures evaluated per message */
	int dkim_clock_skew;		/* seconds of slack for t= and x= */
};

void config_defaults(struct config *cfg);
bool config_load(struct config *cfg, const char *path, struct buf *errors);
void config_free(struct config *cfg);
const char *config_log_level_name(enum log_level level);

#endif
