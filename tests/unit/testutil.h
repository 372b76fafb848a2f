/*
 * testutil - shared bits of the check unit tests: run a suite and print
 * "N passed, N failed"; start ldns-testns on a free loopback port.
 */
#ifndef AUTHMILTER_TESTUTIL_H
#define AUTHMILTER_TESTUTIL_H

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static inline const char *
test_srcdir(void)
{
	const char *d = getenv("top_srcdir");
	return d ? d : ".";
}

/* test_path - top_srcdir/rel in a static buffer (one at a time) */
static inline const char *
test_path(const char *rel)
{
	static char path[4096];
	snprintf(path, sizeof(path), "%s/%s", test_srcdir(), rel);
	return path;
}

static inline int
run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int run = srunner_ntests_run(sr), failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	printf("%d passed, %d failed\n", run - failed, failed);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

static inline int
udp_port_in_use(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_DGRAM, 0), busy;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	busy = bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 && errno == EADDRINUSE;
	close(fd);
	return busy;
}

struct testns {
	pid_t pid;
	int port;
};

/* testns_start - ldns-testns serving datafile; forks extra servers for sleeps */
static inline void
testns_start(struct testns *ns, const char *datafile, int forks)
{
	srand((unsigned)(getpid() ^ time(NULL)));
	for (int attempt = 0; attempt < 20; attempt++) {
		ns->port = 20000 + rand() % 30000;
		if (udp_port_in_use(ns->port))
			continue;
		ns->pid = fork();
		if (ns->pid == 0) {
			char port[16], nforks[16];
			int null = open("/dev/null", O_WRONLY);
			dup2(null, 1);
			dup2(null, 2);
			setpgid(0, 0);
			snprintf(port, sizeof(port), "%d", ns->port);
			snprintf(nforks, sizeof(nforks), "%d", forks);
			if (forks)
				execlp("ldns-testns", "ldns-testns", "-p", port, "-f", nforks, datafile, (char *)NULL);
			else
				execlp("ldns-testns", "ldns-testns", "-p", port, datafile, (char *)NULL);
			_exit(127);
		}
		for (int i = 0; i < 300; i++) {
			if (udp_port_in_use(ns->port))
				return;
			if (waitpid(ns->pid, NULL, WNOHANG) == ns->pid)
				break;
			usleep(10000);
		}
	}
	fprintf(stderr, "cannot start ldns-testns with %s\n", datafile);
	exit(99);
}

static inline void
testns_stop(struct testns *ns)
{
	if (ns->pid > 0) {
		kill(-ns->pid, SIGTERM);
		kill(ns->pid, SIGTERM);
		waitpid(ns->pid, NULL, 0);
		ns->pid = 0;
	}
}

#endif
