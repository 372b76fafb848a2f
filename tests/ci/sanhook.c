/*
 * sanhook.c - linked into the sanitizer build only (tests/ci/asan.sh): write
 * one line per sanitizer report to a file, so the run can count the reports
 * of every process, whatever a test does with its exit status and stderr.
 *
 * ASan and LSan honour log_path, but gcc 12's UBSan in an ASan build writes
 * to stderr whatever log_path says, and prints no SUMMARY line. The runtimes
 * call two weak hooks that a program may define (it must be linked with
 * -rdynamic for the shared runtimes to see them):
 * __sanitizer_report_error_summary() for each ASan/LSan report, and
 * __ubsan_on_report() for each UBSan error, whose details
 * __ubsan_get_current_report_data() returns.
 * The file is $SANHOOK_DIR/summary.PID (nothing when SANHOOK_DIR is unset).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void __sanitizer_report_error_summary(const char *summary);
void __ubsan_on_report(void);
void __ubsan_get_current_report_data(const char **kind, const char **message,
	const char **file, unsigned *line, unsigned *col, char **addr);

/* sanhook_write - append one line to this process's summary file */
static void
sanhook_write(const char *line)
{
	const char *dir = getenv("SANHOOK_DIR");
	char path[4096];
	int fd, n;

	if (dir == NULL || *dir == '\0')
		return;
	n = snprintf(path, sizeof(path), "%s/summary.%ld", dir, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(path))
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
	if (fd < 0)
		return;
	if (write(fd, line, strlen(line)) < 0 || write(fd, "\n", 1) < 0) {
		/* nothing more to do: the report itself still goes to stderr or log_path */
	}
	close(fd);
}

/* __sanitizer_report_error_summary - ASan/LSan: one line per report */
void
__sanitizer_report_error_summary(const char *summary)
{
	sanhook_write(summary);
}

/* __ubsan_on_report - UBSan: one line per error, as "SUMMARY: UBSan: kind file:line:col message" */
void
__ubsan_on_report(void)
{
	const char *kind = "", *message = "", *file = "";
	unsigned line = 0, col = 0;
	char *addr = NULL;
	char text[2048];

	__ubsan_get_current_report_data(&kind, &message, &file, &line, &col, &addr);
	snprintf(text, sizeof(text), "SUMMARY: UndefinedBehaviorSanitizer: %s %s:%u:%u %s",
		kind ? kind : "", file ? file : "", line, col, message ? message : "");
	sanhook_write(text);
}
