/*
 * daemon - the long-running milter: socket, privileges, PID file, the
 * milter engine (engine.h), a reload thread, and the main thread owning the
 * signals: SIGHUP asks for a reload, SIGTERM/SIGINT stop after the messages
 * in flight. main() must call signals_block() before anything that can start
 * a thread (signals.h).
 */
#ifndef AUTHMILTER_DAEMON_H
#define AUTHMILTER_DAEMON_H

#include <stdbool.h>
#include "../lib/dnscache.h"
#include "../lib/runtime.h"

struct daemon_args {
	const char *conf_path;		/* NULL: built-in defaults, nothing to reload */
	bool foreground;
	struct dns_cache *cache;
};

int daemon_run(const struct daemon_args *args, struct runtime_slot *slot);

#endif
