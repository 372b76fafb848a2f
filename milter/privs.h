/*
 * privs - become UserID (user or user:group) once the socket is open.
 */
#ifndef AUTHMILTER_PRIVS_H
#define AUTHMILTER_PRIVS_H

#include <stdbool.h>
#include <stddef.h>

bool privs_drop(const char *user_spec, char *why, size_t why_size);
bool privs_lookup(const char *user_spec, unsigned *uid, unsigned *gid, char *why, size_t why_size);

#endif
