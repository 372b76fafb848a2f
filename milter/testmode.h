/*
 * testmode - evaluate one message file exactly as the milter would and
 * print the header fields to add, then "action=...". (DESIGN contract 3)
 */
#ifndef AUTHMILTER_TESTMODE_H
#define AUTHMILTER_TESTMODE_H

#include "../lib/config.h"
#include "../lib/dns.h"

#include <time.h>

struct testmode_args {
	const char *message_file;
	const char *client_ip;
	const char *helo;	/* NULL: no HELO given */
	const char *sender;	/* NULL: null sender */
	const char *auth_user;	/* SMTP AUTH login, NULL if none */
	time_t when;		/* -T: the time of evaluation; 0: the clock */
};

struct runtime_slot;
int testmode_run(struct runtime_slot *slot, const struct testmode_args *args);

#endif
