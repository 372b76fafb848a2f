/*
 * upstream - believe a border MTA's SPF result (TrustedAuthservIDs).
 *
 * Behind a border MTA every message comes from the border's address, so
 * our own SPF check would test the wrong client. When the admin lists the
 * border's authserv-id and the client is in TrustedNetworks, the topmost
 * Authentication-Results field carrying a listed id is read at the end of
 * the headers and its spf= result stands for ours; without one, SPF is
 * checked as usual. The risk: a border that does not remove incoming
 * fields with its own id lets any sender write that result itself.
 */
#ifndef AUTHMILTER_UPSTREAM_H
#define AUTHMILTER_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include "config.h"
#include "spf.h"

/* upstream_applies - does this client's mail wait for an upstream field? */
bool upstream_applies(const struct config *cfg, bool trusted_client);

/* upstream_is_trusted - does this A-R value carry a listed id (never our own)? */
bool upstream_is_trusted(const struct config *cfg, const char *value);

/* upstream_spf - the spf= result of an upstream A-R value for the message
 * whose envelope sender is mail_from ("" for <>): true with out filled
 * (out->domain is the identity's domain; *helo the HELO name for <>, to be
 * freed), false when the field has no usable result for that identity */
bool upstream_spf(const char *value, const char *mail_from, struct spf_outcome *out,
		  char **helo);

#endif
