/*
 * listen - open the milter's listening socket, spec in libmilter's form
 * ("inet:PORT@HOST", "unix:PATH", "fd:N"): TCP gets TCP_NODELAY (inherited
 * by accepted sockets: no 40 ms stall on Nagle vs delayed ACK),
 * unix sockets get the configured mode, and a socket passed by systemd
 * (LISTEN_FDS) takes the same path.
 */
#ifndef AUTHMILTER_LISTEN_H
#define AUTHMILTER_LISTEN_H

#include <stddef.h>

/* returns the fd, or -1 with why filled in */
int listen_open(const char *spec, int unix_mode, char *why, size_t why_size);
int listen_systemd_fd(void);
/* the unix socket path we created, to remove at exit; NULL for TCP */
const char *listen_unix_path(void);

#endif
