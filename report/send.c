/*
 * send - spool and submit. The submission runs in a child process that
 * holds an exclusive lock on the spool file: a later run that finds the
 * file waits on that lock, then knows for sure whether the MTA took it.
 */
#include "send.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rlog.h"

#define SEND_MAX_ARGS 32

static int run_lock_fd = -1;

/* send_set_run_lock - remember the descriptor submitters must not hold */
void
send_set_run_lock(int fd)
{
	run_lock_fd = fd;
}

/* path - base + suffix */
static char *
path(const char *base, const char *suffix)
{
	struct buf b;

	buf_init(&b);
	buf_printf(&b, "%s%s", base, suffix);
	return buf_steal(&b);
}

/* fsync_dir - make a rename in base's directory durable */
static void
fsync_dir(const char *base)
{
	char *copy = xstrdup(base);
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(copy);
}

/* send_spool_state - NONE, PENDING (.eml) or DONE (.done) */
enum spool_state
send_spool_state(const char *base)
{
	char *eml = path(base, ".eml"), *done = path(base, ".done");
	enum spool_state st;
	int fd = open(eml, O_RDONLY);

	if (fd >= 0) {
		flock(fd, LOCK_EX);	/* a submitter of an earlier run may still be at work */
		close(fd);
	}
	st = access(done, F_OK) == 0 ? SPOOL_DONE : access(eml, F_OK) == 0 ? SPOOL_PENDING
		: SPOOL_NONE;
	free(eml);
	free(done);
	return st;
}

/* send_spool_write - temp file, fsync, rename, fsync the directory */
bool
send_spool_write(const char *base, const void *data, size_t len, struct buf *why)
{
	char *tmp = path(base, ".tmp"), *eml = path(base, ".eml");
	const char *p = data;
	bool ok = false;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0) {
		buf_printf(why, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			buf_printf(why, "write %s: %s", tmp, strerror(errno));
			close(fd);
			goto out;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, eml) != 0) {
		buf_printf(why, "spool %s: %s", eml, strerror(errno));
		goto out;
	}
	fsync_dir(base);
	ok = true;
out:
	if (!ok)
		unlink(tmp);
	free(tmp);
	free(eml);
	return ok;
}

/* run_sendmail - the command (split on blanks) with the spool file as stdin; 0 accepted */
static int
run_sendmail(const char *cmd, int fd)
{
	char *copy = xstrdup(cmd), *argv[SEND_MAX_ARGS + 1], *save = NULL;
	int argc = 0, status;
	pid_t pid;

	for (char *t = strtok_r(copy, " \t", &save); t && argc < SEND_MAX_ARGS;
	     t = strtok_r(NULL, " \t", &save))
		argv[argc++] = t;
	argv[argc] = NULL;
	if (argc == 0 || (pid = fork()) < 0) {
		rlog("cannot run \"%s\": %s", cmd, argc ? strerror(errno) : "empty command");
		free(copy);
		return 1;
	}
	if (pid == 0) {
		dup2(fd, 0);
		execv(argv[0], argv);
		rlog("exec %s: %s", argv[0], strerror(errno));
		_exit(127);
	}
	free(copy);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 1;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	rlog("\"%s\" failed (%s %d)", cmd, WIFEXITED(status) ? "exit" : "signal",
	     WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	return 1;
}

/* read_cb - libcurl reads the message from the spool file */
static size_t
read_cb(char *ptr, size_t size, size_t nmemb, void *ctx)
{
	ssize_t n = read(*(int *)ctx, ptr, size * nmemb);

	return n < 0 ? CURL_READFUNC_ABORT : (size_t)n;
}

/* read_password - first line of the file */
static char *
read_password(const char *file)
{
	char line[512];
	FILE *fp = fopen(file, "r");

	if (fp == NULL) {
		rlog("ReportSMTPPasswordFile %s: %s", file, strerror(errno));
		return NULL;
	}
	if (fgets(line, sizeof(line), fp) == NULL)
		line[0] = '\0';
	fclose(fp);
	line[strcspn(line, "\r\n")] = '\0';
	return xstrdup(line);
}

/* run_smtp - SMTP submission with libcurl; 0 accepted */
static int
run_smtp(const struct send_cfg *c, const char *rcpt, int fd)
{
	CURL *curl = curl_easy_init();
	struct curl_slist *to = NULL;
	char *pw = NULL;
	CURLcode rc;
	struct buf from, rcpt_b;

	if (curl == NULL)
		return 1;
	buf_init(&from);
	buf_init(&rcpt_b);
	buf_printf(&from, "<%s>", c->envelope_from);
	buf_printf(&rcpt_b, "<%s>", rcpt);
	to = curl_slist_append(to, rcpt_b.data);
	curl_easy_setopt(curl, CURLOPT_URL, c->method);
	curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from.data);
	curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, to);
	curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(curl, CURLOPT_READDATA, &fd);
	curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 300L);
	if (c->smtp_ca_file)	/* a private CA: the certificate is still verified */
		curl_easy_setopt(curl, CURLOPT_CAINFO, c->smtp_ca_file);
	if (c->smtp_user) {
		/* never a password in clear: AUTH only over TLS */
		pw = c->smtp_password_file ? read_password(c->smtp_password_file) : NULL;
		curl_easy_setopt(curl, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
		curl_easy_setopt(curl, CURLOPT_USERNAME, c->smtp_user);
		curl_easy_setopt(curl, CURLOPT_PASSWORD, pw ? pw : "");
	} else {
		curl_easy_setopt(curl, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
	}
	rc = curl_easy_perform(curl);
	if (rc != CURLE_OK)
		rlog("SMTP %s to %s: %s", c->method, rcpt, curl_easy_strerror(rc));
	curl_slist_free_all(to);
	curl_easy_cleanup(curl);
	free(pw);
	buf_free(&from);
	buf_free(&rcpt_b);
	return rc == CURLE_OK ? 0 : 1;
}

/* submitter - the child: lock, hand over, rename to .done on acceptance */
static int
submitter(const struct send_cfg *c, const char *base, const char *rcpt)
{
	char *eml = path(base, ".eml"), *done = path(base, ".done");
	int fd = open(eml, O_RDONLY), rc;

	if (fd < 0 || flock(fd, LOCK_EX) != 0)
		return access(done, F_OK) == 0 ? 0 : 1;
	if (access(done, F_OK) == 0)
		return 0;
	if (strncmp(c->method, "smtp://", 7) == 0 || strncmp(c->method, "smtps://", 8) == 0)
		rc = run_smtp(c, rcpt, fd);
	else
		rc = run_sendmail(strcmp(c->method, "sendmail") == 0 ? SEND_DEFAULT_SENDMAIL
				  : c->method, fd);
	if (rc == 0) {
		if (rename(eml, done) != 0) {
			rlog("rename %s: %s (the MTA has it; a rerun would send it again)", eml,
			     strerror(errno));
			return 2;
		}
		fsync_dir(base);
	}
	return rc;
}

/* send_submit - run the submitter and wait for it */
bool
send_submit(const struct send_cfg *c, const char *base, const char *rcpt, struct buf *why)
{
	int status;
	pid_t pid = fork();

	if (pid < 0) {
		buf_printf(why, "fork: %s", strerror(errno));
		return false;
	}
	if (pid == 0) {
		/* the reporter may die (kill -9) while we work: we finish regardless */
		signal(SIGTERM, SIG_IGN);
		signal(SIGINT, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		if (run_lock_fd >= 0)
			close(run_lock_fd);
		_exit(submitter(c, base, rcpt));
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			buf_printf(why, "waitpid: %s", strerror(errno));
			return false;
		}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return true;
	buf_printf(why, "submission to %s failed", rcpt);
	return false;
}

/* send_spool_remove - the report is marked sent: the journal entry goes */
void
send_spool_remove(const char *base)
{
	char *done = path(base, ".done"), *eml = path(base, ".eml");

	unlink(done);
	unlink(eml);
	free(done);
	free(eml);
}
