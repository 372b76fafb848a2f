/*
 * upstream - read a trusted border MTA's spf= result.
 *
 * The result is used only for the identity this message has: a field
 * whose smtp.mailfrom names another domain than our MAIL FROM is about
 * another envelope (rewritten or forged), and SPF is then checked here.
 */
#include "upstream.h"
#include "authres.h"
#include "buf.h"
#include "resinfo.h"

#include <string.h>
#include <strings.h>

/* upstream_applies - TrustedAuthservIDs set and a TrustedNetworks client */
bool
upstream_applies(const struct config *cfg, bool trusted_client)
{
	return trusted_client && cfg->n_trusted_authserv_ids > 0;
}

/* upstream_is_trusted - a listed authserv-id; ours is a forgery, not upstream */
bool
upstream_is_trusted(const struct config *cfg, const char *value)
{
	char id[512];

	if (!authres_id_of(value, id, sizeof(id)) || strcasecmp(id, cfg->authserv_id) == 0)
		return false;
	for (size_t i = 0; i < cfg->n_trusted_authserv_ids; i++)
		if (strcasecmp(id, cfg->trusted_authserv_ids[i]) == 0)
			return true;
	return false;
}

/* spf_result_from_name - RFC 8601 section 2.7.2 spelling; false for anything else */
static bool
spf_result_from_name(const char *name, enum spf_result *r)
{
	for (int i = SPF_NONE; i <= SPF_PERMERROR; i++)
		if (strcmp(name, spf_result_name((enum spf_result)i)) == 0)
			return *r = (enum spf_result)i, true;
	return false;
}

/* domain_of - after the last '@', or the value itself */
static const char *
domain_of(const char *v)
{
	const char *at = strrchr(v, '@');

	return at ? at + 1 : v;
}

/* pick - the spf= result about this envelope: smtp.mailfrom for a sender,
 * smtp.helo (or postmaster@HELO) for <> */
static const struct resinfo *
pick(const struct resinfo_list *l, const char *mail_from, const char **identity)
{
	const char *want = mail_from[0] ? domain_of(mail_from) : NULL;

	for (size_t i = 0; i < l->n; i++) {
		const struct resinfo *r = &l->results[i];
		const char *mf = resinfo_get(r, "smtp.mailfrom"), *helo = resinfo_get(r, "smtp.helo");
		if (strcmp(r->method, "spf") != 0)
			continue;
		if (want && mf && strcasecmp(domain_of(mf), want) == 0)
			return *identity = domain_of(mf), r;
		if (want == NULL && (helo || mf))
			return *identity = helo ? helo : domain_of(mf), r;
	}
	return NULL;
}

/* upstream_spf - take the result; the comment names where it came from */
bool
upstream_spf(const char *value, const char *mail_from, struct spf_outcome *out, char **helo)
{
	struct resinfo_list l;
	const struct resinfo *r;
	const char *why, *identity = NULL, *reason;
	enum spf_result result;
	struct buf b;

	*helo = NULL;
	if (!resinfo_parse(value, strlen(value), &l, &why))
		return false;
	r = pick(&l, mail_from, &identity);
	if (r == NULL || !spf_result_from_name(r->result, &result) || *identity == '\0') {
		resinfo_free(&l);
		return false;
	}
	memset(out, 0, sizeof(*out));
	out->result = result;
	out->domain = xstrdup(identity);
	buf_init(&b);
	buf_adds(&b, "from ");
	buf_adds(&b, l.authserv_id);
	reason = resinfo_get(r, "reason");
	if (reason) {
		buf_adds(&b, ": ");
		buf_adds(&b, reason);
	}
	out->reason = buf_steal(&b);
	if (mail_from[0] == '\0')
		*helo = xstrdup(identity);
	resinfo_free(&l);
	return true;
}
