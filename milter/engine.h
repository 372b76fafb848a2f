/*
 * engine - our own milter protocol engine, in place of libmilter's
 * dispatcher: one epoll loop per core reads many commands per read and
 * answers a read's worth of commands in one write; the DNS-bound steps
 * (end of headers: the DKIM keys; end of message: SPF, ARC, DMARC) run in
 * a bounded worker pool
 * while their connection is parked, so a connection's commands stay in
 * order and never run at once. The protocol itself is proto_conn's.
 *
 * An idle connection (no command while none of its steps runs) is closed
 * after ENGINE_IDLE_SECONDS, libmilter's default of 7210 s: the MTA keeps
 * its own, shorter timeouts and reconnects.
 */
#ifndef AUTHMILTER_ENGINE_H
#define AUTHMILTER_ENGINE_H

#include <stdbool.h>
#include <stddef.h>

#define ENGINE_IDLE_SECONDS 7210
#define ENGINE_WORKERS 32	/* threads for the DNS-bound steps */

/* serve the listening socket fd; false with why filled in */
bool engine_start(int fd, char *why, size_t why_size);
/* stop accepting and serving; steps still running in the pool are abandoned */
void engine_stop(void);
/* a loop failed: the engine no longer serves */
bool engine_failed(void);

#endif
