/*
 * privs - look up and switch to the unprivileged user.
 */
#include "privs.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* privs_lookup - uid and gid for "user" or "user:group" */
bool
privs_lookup(const char *user_spec, unsigned *uid, unsigned *gid, char *why, size_t why_size)
{
	char user[256];
	const char *colon = strchr(user_spec, ':');
	size_t n = colon ? (size_t)(colon - user_spec) : strlen(user_spec);
	struct passwd *pw;

	if (n == 0 || n >= sizeof(user)) {
		snprintf(why, why_size, "bad UserID \"%s\"", user_spec);
		return false;
	}
	memcpy(user, user_spec, n);
	user[n] = '\0';
	pw = getpwnam(user);
	if (pw == NULL) {
		snprintf(why, why_size, "no such user \"%s\"", user);
		return false;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	if (colon) {
		struct group *gr = getgrnam(colon + 1);
		if (gr == NULL) {
			snprintf(why, why_size, "no such group \"%s\"", colon + 1);
			return false;
		}
		*gid = gr->gr_gid;
	}
	return true;
}

/* privs_drop - setgroups, setgid, setuid, and check it cannot be undone */
bool
privs_drop(const char *user_spec, char *why, size_t why_size)
{
	unsigned uid, gid;
	gid_t g;

	if (!privs_lookup(user_spec, &uid, &gid, why, why_size))
		return false;
	g = (gid_t)gid;
	if (setgroups(1, &g) != 0 || setgid(g) != 0 || setuid((uid_t)uid) != 0) {
		snprintf(why, why_size, "cannot become %s: %s", user_spec, strerror(errno));
		return false;
	}
	if (uid != 0 && setuid(0) == 0) {
		snprintf(why, why_size, "could regain root after dropping to %s", user_spec);
		return false;
	}
	return true;
}
