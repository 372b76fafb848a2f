/*
 * milterfail - an LD_PRELOAD shim for tests/e2e/faults.sh: the libmilter
 * calls named in the file $MILTER_FAIL_FILE (e.g. "insheader setreply"),
 * read at each call so the test can change it under a running daemon,
 * return MI_FAILURE as they would on a broken connection or an oversize
 * packet; the others go through to libmilter. Built by the test only.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MI_FAILURE (-1)

typedef void SMFICTX;

/* fails - is this call one the test wants to fail? */
static int
fails(const char *name)
{
	const char *path = getenv("MILTER_FAIL_FILE");
	char list[256] = "";
	FILE *fp = path ? fopen(path, "r") : NULL;

	if (fp == NULL)
		return 0;
	if (fgets(list, sizeof(list), fp) == NULL)
		list[0] = '\0';
	fclose(fp);
	return strstr(list, name) != NULL;
}

int
smfi_insheader(SMFICTX *ctx, int idx, char *name, char *value)
{
	int (*real)(SMFICTX *, int, char *, char *) = dlsym(RTLD_NEXT, "smfi_insheader");

	return fails("insheader") ? MI_FAILURE : real(ctx, idx, name, value);
}

int
smfi_chgheader(SMFICTX *ctx, char *name, int idx, char *value)
{
	int (*real)(SMFICTX *, char *, int, char *) = dlsym(RTLD_NEXT, "smfi_chgheader");

	return fails("chgheader") ? MI_FAILURE : real(ctx, name, idx, value);
}

int
smfi_setreply(SMFICTX *ctx, char *code, char *xcode, char *text)
{
	int (*real)(SMFICTX *, char *, char *, char *) = dlsym(RTLD_NEXT, "smfi_setreply");

	return fails("setreply") ? MI_FAILURE : real(ctx, code, xcode, text);
}

int
smfi_quarantine(SMFICTX *ctx, char *reason)
{
	int (*real)(SMFICTX *, char *) = dlsym(RTLD_NEXT, "smfi_quarantine");

	return fails("quarantine") ? MI_FAILURE : real(ctx, reason);
}
