/*
 * fdwatch - log a file descriptor table that fills up.
 */
#include "fdwatch.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* below this limit, a busy MX runs out: say so at start */
#define FDWATCH_LOW_LIMIT 4096

enum fd_state { FD_OK, FD_HIGH, FD_FULL };

static long fd_limit;
static enum fd_state fd_state = FD_OK;

/* fdwatch_init - soft limit up to the hard one; remember it */
void
fdwatch_init(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		log_warning("getrlimit(RLIMIT_NOFILE): %s; descriptor use not watched",
			    strerror(errno));
		return;
	}
	if (rl.rlim_cur < rl.rlim_max) {
		struct rlimit up = { rl.rlim_max, rl.rlim_max };
		if (setrlimit(RLIMIT_NOFILE, &up) == 0)
			rl = up;
		else
			log_warning("cannot raise RLIMIT_NOFILE from %llu to %llu: %s",
				    (unsigned long long)rl.rlim_cur,
				    (unsigned long long)rl.rlim_max, strerror(errno));
	}
	fd_limit = rl.rlim_cur == RLIM_INFINITY ? 1L << 20 : (long)rl.rlim_cur;
	if (fd_limit < FDWATCH_LOW_LIMIT)
		log_warning("file descriptor limit is %ld: about as many MTA connections at once "
			    "(raise LimitNOFILE or ulimit -n)", fd_limit);
	else
		log_debug("file descriptor limit %ld", fd_limit);
}

/* lowest_free - the lowest free descriptor: every one below it is in use */
static long
lowest_free(void)
{
	int fd = fcntl(STDERR_FILENO, F_DUPFD, 0);

	if (fd < 0)
		return errno == EMFILE || errno == ENFILE ? fd_limit : -1;
	close(fd);
	return fd;
}

/*
 * count_open - descriptors in use: /proc/self/fd counts them all. Without
 * /proc (a chroot, a container without it) the lowest free descriptor is a
 * lower bound, and a good one: each connection takes the lowest free one.
 */
static long
count_open(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	long n = 0;

	if (d == NULL)
		return errno == EMFILE || errno == ENFILE ? fd_limit : lowest_free();
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* opendir's own */
}

/* fdwatch_check - one log line per change of state, not one per check */
void
fdwatch_check(void)
{
	long n;
	enum fd_state now;

	if (fd_limit == 0 || (n = count_open()) < 0)
		return;
	if (n >= fd_limit - 1)
		now = FD_FULL;
	else if (n >= fd_limit / 10 * 9)
		now = FD_HIGH;
	else if (n < fd_limit / 10 * 8)
		now = FD_OK;
	else
		now = fd_state;		/* between 80% and 90%: no flapping */
	if (now == fd_state)
		return;
	if (now == FD_FULL)
		log_error("file descriptor table full (%ld of %ld in use): new MTA connections "
			  "wait unanswered until some close; raise LimitNOFILE", n, fd_limit);
	else if (now == FD_HIGH && fd_state == FD_OK)
		log_warning("file descriptors nearly exhausted: %ld of %ld in use", n, fd_limit);
	else if (now == FD_OK)
		log_info("file descriptors back to %ld of %ld in use", n, fd_limit);
	fd_state = now;
}
