/*
 * listen - parse a libmilter socket spec and open a listening socket.
 */
#include "listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/*
 * Connections past the accept queue sit in SYN-RECV and come back only with
 * the kernel's SYN-ACK retries (1, 3, 7, 15 s): an MTA burst, or a full
 * descriptor table, must find room in the queue instead (capped by
 * net.core.somaxconn).
 */
#define LISTEN_BACKLOG SOMAXCONN

static char unix_path[sizeof(((struct sockaddr_un *)0)->sun_path)];

/* listen_unix_path - set when we bound a unix socket */
const char *
listen_unix_path(void)
{
	return unix_path[0] ? unix_path : NULL;
}

/* listen_systemd_fd - fd 3 when systemd passed exactly one socket to us */
int
listen_systemd_fd(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	int one = 1;

	if (pid == NULL || fds == NULL || atol(pid) != (long)getpid() || atoi(fds) != 1)
		return -1;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	/* Same Nagle fix as our own sockets; a unix socket just says no. */
	(void)setsockopt(3, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return 3;
}

static int
open_unix(const char *path, int mode, char *why, size_t why_size)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(why, why_size, "unix socket path too long: %s", path);
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	/* A socket left by a previous run is ours to replace; anything else is not. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(why, why_size, "%s exists and is not a socket", path);
			return -1;
		}
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0
	    || chmod(path, (mode_t)mode) != 0 || listen(fd, LISTEN_BACKLOG) != 0) {
		snprintf(why, why_size, "unix socket %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	memcpy(unix_path, path, strlen(path) + 1);
	return fd;
}

static int
open_inet(int family, const char *portspec, char *why, size_t why_size)
{
	char port[16], host[256] = "";
	const char *at = strchr(portspec, '@');
	struct addrinfo hints, *ai = NULL;
	int fd = -1, one = 1, rc;

	size_t plen = at ? (size_t)(at - portspec) : strlen(portspec);
	if (plen == 0 || plen >= sizeof(port)) {
		snprintf(why, why_size, "bad port in socket spec");
		return -1;
	}
	memcpy(port, portspec, plen);
	port[plen] = '\0';
	if (at) {
		snprintf(host, sizeof(host), "%s", at + 1);
		size_t hl = strlen(host);
		if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
			memmove(host, host + 1, hl - 2);
			host[hl - 2] = '\0';
		}
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &ai);
	if (rc != 0) {
		snprintf(why, why_size, "socket address %s@%s: %s", port, host, gai_strerror(rc));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0
	    || setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0
	    || bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, LISTEN_BACKLOG) != 0) {
		snprintf(why, why_size, "listen on %s@%s: %s", port, host[0] ? host : "*",
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

/* listen_open - inet:port@host, inet6:port@host, unix:/path, local:/path, /path */
int
listen_open(const char *spec, int unix_mode, char *why, size_t why_size)
{
	int fd;

	if (strncasecmp(spec, "inet:", 5) == 0)
		fd = open_inet(AF_INET, spec + 5, why, why_size);
	else if (strncasecmp(spec, "inet6:", 6) == 0)
		fd = open_inet(AF_INET6, spec + 6, why, why_size);
	else if (strncasecmp(spec, "unix:", 5) == 0 || strncasecmp(spec, "local:", 6) == 0)
		fd = open_unix(strchr(spec, ':') + 1, unix_mode, why, why_size);
	else if (spec[0] == '/')
		fd = open_unix(spec, unix_mode, why, why_size);
	else {
		snprintf(why, why_size, "unsupported socket spec \"%s\"", spec);
		return -1;
	}
	if (fd >= 0)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	return fd;
}
