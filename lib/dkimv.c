/*
 * dkimv - per-message DKIM verification and the mapping of libopendkim's
 * per-signature state to RFC 8601 results with a short reason.
 *
 * Our rules on top of libopendkim: rsa-sha1 is never a pass (RFC 8301),
 * RSA keys below min_key_bits are never a pass, and only the first
 * max_signatures signatures are evaluated (the rest are not even looked up).
 */
#include "dkimv.h"
#include "buf.h"

#include <ctype.h>
#include <opendkim/dkim.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dkimv_msg {
	DKIM *dkim;
	const struct dkimv_settings *settings;
	DKIM_STAT eoh_status;
	bool failed;		/* libopendkim refused the message; no results */
	bool eoh_done;
	struct buf header;
};

static DKIM_LIB *dkimv_lib;

/* prescreen - before any key lookup: ignore signatures past the limit */
static DKIM_CBSTAT
prescreen(DKIM *dkim, DKIM_SIGINFO **sigs, int nsigs)
{
	const struct dkimv_msg *m = dkim_get_user_context(dkim);

	for (int i = (int)m->settings->max_signatures; i < nsigs; i++)
		dkim_sig_ignore(sigs[i]);
	return DKIM_CBSTAT_CONTINUE;
}

/* dkimv_init - the process-wide library handle; call once before threads start */
bool
dkimv_init(unsigned clock_skew, char *why, size_t why_size)
{
	unsigned int flags = DKIM_LIBFLAGS_FIXCRLF | DKIM_LIBFLAGS_BADSIGHANDLES;
	uint64_t drift = clock_skew;
	unsigned int minbits = 1;	/* we apply our own minimum, per algorithm */

	dkimv_lib = dkim_init(NULL, NULL);
	if (dkimv_lib == NULL) {
		snprintf(why, why_size, "libopendkim initialisation failed");
		return false;
	}
	if (dkim_options(dkimv_lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags, sizeof(flags)) != DKIM_STAT_OK
	    || dkim_options(dkimv_lib, DKIM_OP_SETOPT, DKIM_OPTS_CLOCKDRIFT, &drift, sizeof(drift)) != DKIM_STAT_OK
	    || dkim_options(dkimv_lib, DKIM_OP_SETOPT, DKIM_OPTS_MINKEYBITS, &minbits, sizeof(minbits)) != DKIM_STAT_OK
	    || dkim_set_prescreen(dkimv_lib, prescreen) != DKIM_STAT_OK) {
		snprintf(why, why_size, "libopendkim rejected our options");
		dkim_close(dkimv_lib);
		dkimv_lib = NULL;
		return false;
	}
	dkimv_dns_attach(dkimv_lib);
	return true;
}

/* dkimv_shutdown - release the library handle */
void
dkimv_shutdown(void)
{
	if (dkimv_lib)
		dkim_close(dkimv_lib);
	dkimv_lib = NULL;
}

/* dkimv_begin - a verifier for one message */
struct dkimv_msg *
dkimv_begin(const struct dkimv_settings *settings)
{
	struct dkimv_msg *m = xcalloc(1, sizeof(*m));
	DKIM_STAT st;

	buf_init(&m->header);
	m->settings = settings;
	if (dkimv_lib == NULL)
		m->failed = true;
	else
		m->dkim = dkim_verify(dkimv_lib, (const unsigned char *)"authmilter", NULL, &st);
	if (m->dkim == NULL)
		m->failed = true;
	else
		dkim_set_user_context(m->dkim, m);
	return m;
}

/* dkimv_header - one field exactly as received: raw_value is all after the colon */
void
dkimv_header(struct dkimv_msg *m, const char *name, const char *raw_value)
{
	if (m->failed || m->eoh_done)
		return;
	buf_reset(&m->header);
	buf_adds(&m->header, name);
	buf_addc(&m->header, ':');
	/* Folding breaks must be CRLF for the header hash; MTAs hand us bare LF. */
	for (const char *p = raw_value; *p; p++) {
		if (*p == '\n' && (p == raw_value || p[-1] != '\r'))
			buf_addc(&m->header, '\r');
		buf_addc(&m->header, *p);
	}
	/* A field libopendkim cannot take (syntax, size) only costs that field. */
	(void)dkim_header(m->dkim, (unsigned char *)m->header.data, m->header.len);
}

/* dkimv_eoh - end of headers: signatures are parsed and screened here */
void
dkimv_eoh(struct dkimv_msg *m)
{
	if (m->failed || m->eoh_done)
		return;
	m->eoh_done = true;
	dkimv_dns_use(m->settings->dns);
	m->eoh_status = dkim_eoh(m->dkim);
	dkimv_dns_use(NULL);
	buf_free(&m->header);
}

/* dkimv_wants_body - false once it is clear no signature needs the body */
bool
dkimv_wants_body(const struct dkimv_msg *m)
{
	return !m->failed && m->eoh_done && m->eoh_status != DKIM_STAT_NOSIG;
}

/* dkimv_body - a body chunk, hashed as it streams past */
void
dkimv_body(struct dkimv_msg *m, const void *data, size_t len)
{
	if (dkimv_wants_body(m) && len > 0)
		(void)dkim_body(m->dkim, (unsigned char *)data, len);
}

static const char *const result_names[] = {
	"none", "pass", "fail", "neutral", "policy", "temperror", "permerror"
};

/* dkimv_result_name - RFC 8601 spelling */
const char *
dkimv_result_name(enum dkimv_result r)
{
	return result_names[r];
}

static char *
tag_value(DKIM_SIGINFO *sig, const char *tag, bool strip_space)
{
	unsigned char *v = dkim_sig_gettagvalue(sig, false, (unsigned char *)tag);
	struct buf b;

	if (v == NULL)
		return NULL;
	buf_init(&b);
	for (; *v; v++)
		if (!(strip_space && isspace(*v)))
			buf_addc(&b, (char)*v);
	return buf_steal(&b);
}

/* error_result - result and reason for a signature that did not verify */
static enum dkimv_result
error_result(int err, const char **reason)
{
	switch (err) {
	case DKIM_SIGERROR_KEYFAIL: *reason = "key DNS error"; return DKIMV_TEMPERROR;
	case DKIM_SIGERROR_NOKEY: *reason = "no key"; return DKIMV_PERMERROR;
	case DKIM_SIGERROR_KEYREVOKED: *reason = "key revoked"; return DKIMV_FAIL;
	case DKIM_SIGERROR_BADSIG: *reason = "bad signature"; return DKIMV_FAIL;
	case DKIM_SIGERROR_EXPIRED: *reason = "signature expired"; return DKIMV_FAIL;
	case DKIM_SIGERROR_FUTURE: *reason = "signature timestamp in the future"; return DKIMV_FAIL;
	case DKIM_SIGERROR_KEYTOOSMALL: *reason = "key too small"; return DKIMV_POLICY;
	case DKIM_SIGERROR_DOMAIN: *reason = "i= not within d="; return DKIMV_PERMERROR;
	case DKIM_SIGERROR_SUBDOMAIN: *reason = "key t=s forbids a subdomain i="; return DKIMV_PERMERROR;
	case DKIM_SIGERROR_INVALID_H:
	case DKIM_SIGERROR_EMPTY_H:
	case DKIM_SIGERROR_MISSING_H: *reason = "h= does not include From"; return DKIMV_PERMERROR;
	case DKIM_SIGERROR_KEYHASHMISMATCH: *reason = "key h= forbids this hash"; return DKIMV_PERMERROR;
	case DKIM_SIGERROR_TOOLARGE_L: *reason = "l= longer than the body"; return DKIMV_PERMERROR;
	case DKIM_SIGERROR_MULTIREPLY: *reason = "several key records"; return DKIMV_PERMERROR;
	case DKIM_SIGERROR_DNSSYNTAX:
	case DKIM_SIGERROR_KEYVERSION:
	case DKIM_SIGERROR_KEYUNKNOWNHASH:
	case DKIM_SIGERROR_NOTEMAILKEY:
	case DKIM_SIGERROR_KEYTYPEMISSING:
	case DKIM_SIGERROR_KEYTYPEUNKNOWN:
	case DKIM_SIGERROR_KEYDECODE: *reason = "malformed key record"; return DKIMV_PERMERROR;
	default: *reason = NULL; return DKIMV_PERMERROR;
	}
}

/* judge - the result for one evaluated signature */
static void
judge(DKIM *dkim, DKIM_SIGINFO *sig, const struct dkimv_settings *cfg, struct dkimv_sig *out,
      struct buf *why)
{
	unsigned int flags = dkim_sig_getflags(sig);
	unsigned int bits = 0;
	const char *reason = NULL;
	dkim_alg_t alg = DKIM_SIGN_UNKNOWN;

	(void)dkim_sig_getsignalg(sig, &alg);
	(void)dkim_sig_getkeysize(sig, &bits);
	if (!(flags & DKIM_SIGFLAG_PASSED) || dkim_sig_getbh(sig) != DKIM_SIGBH_MATCH) {
		int err = dkim_sig_geterror(sig);
		if (err == DKIM_SIGERROR_OK && dkim_sig_getbh(sig) == DKIM_SIGBH_MISMATCH)
			out->result = DKIMV_FAIL, reason = "body hash mismatch";
		else
			out->result = error_result(err, &reason);
		if (reason == NULL)
			reason = dkim_sig_geterrorstr(err);
		buf_adds(why, reason ? reason : "not verified");
		return;
	}
	if (alg == DKIM_SIGN_RSASHA1) {
		out->result = DKIMV_POLICY;
		buf_adds(why, "rsa-sha1 is not accepted, RFC 8301");
		return;
	}
	if (alg != DKIM_SIGN_ED25519SHA256 && bits < cfg->min_key_bits) {
		out->result = DKIMV_POLICY;
		buf_printf(why, "key too small: %u bits", bits);
		return;
	}
	out->result = DKIMV_PASS;
	if (alg == DKIM_SIGN_ED25519SHA256)
		buf_adds(why, "ed25519 key");
	else
		buf_printf(why, "%u-bit key", bits);
	if (flags & DKIM_SIGFLAG_TESTKEY)
		buf_adds(why, "; testing key, t=y");
	/* l= leaves the rest of the body unsigned: say so, it may be anything */
	ssize_t msglen = 0, canonlen = 0, signlen = -1;
	char *l = tag_value(sig, "l", true);
	if (l && dkim_sig_getcanonlen(dkim, sig, &msglen, &canonlen, &signlen) == DKIM_STAT_OK)
		buf_printf(why, "; l=%s signs only part of the body of %zd bytes", l, msglen);
	free(l);
}

static void
describe(DKIM *dkim, DKIM_SIGINFO *sig, const struct dkimv_settings *cfg, struct dkimv_sig *out)
{
	unsigned char ident[512];
	struct buf why;

	out->domain = xstrdup(dkim_sig_getdomain(sig) ? (char *)dkim_sig_getdomain(sig) : "");
	out->selector = xstrdup(dkim_sig_getselector(sig) ? (char *)dkim_sig_getselector(sig) : "");
	/* a= as written: libopendkim reports rsa-sha1 for signatures it never parsed */
	out->algorithm = tag_value(sig, "a", true);
	out->b = tag_value(sig, "b", true);
	if (dkim_sig_getidentity(dkim, sig, ident, sizeof(ident)) == DKIM_STAT_OK && ident[0])
		out->identity = xstrdup((char *)ident);
	buf_init(&why);
	judge(dkim, sig, cfg, out, &why);
	out->reason = buf_steal(&why);
}

/* dkimv_end - results for every screened signature */
void
dkimv_end(struct dkimv_msg *m, struct dkimv_outcome *out)
{
	DKIM_SIGINFO **sigs = NULL;
	int nsigs = 0;

	memset(out, 0, sizeof(*out));
	if (m->failed)
		return;
	if (!m->eoh_done)
		dkimv_eoh(m);
	if (m->eoh_status == DKIM_STAT_NOSIG)
		return;
	dkimv_dns_use(m->settings->dns);
	(void)dkim_eom(m->dkim, NULL);
	dkimv_dns_use(NULL);
	if (dkim_getsiglist(m->dkim, &sigs, &nsigs) != DKIM_STAT_OK || nsigs <= 0)
		return;
	out->signed_message = true;
	out->sigs = xcalloc((size_t)nsigs, sizeof(*out->sigs));
	for (int i = 0; i < nsigs; i++) {
		if (dkim_sig_getflags(sigs[i]) & DKIM_SIGFLAG_IGNORE) {
			out->n_not_evaluated++;
			continue;
		}
		describe(m->dkim, sigs[i], m->settings, &out->sigs[out->n_sigs++]);
	}
}

/* dkimv_free - release the verifier */
void
dkimv_free(struct dkimv_msg *m)
{
	if (m == NULL)
		return;
	if (m->dkim)
		dkim_free(m->dkim);
	buf_free(&m->header);
	free(m);
}

/* dkimv_outcome_free - release results */
void
dkimv_outcome_free(struct dkimv_outcome *out)
{
	for (size_t i = 0; i < out->n_sigs; i++) {
		struct dkimv_sig *s = &out->sigs[i];
		free(s->domain);
		free(s->identity);
		free(s->selector);
		free(s->algorithm);
		free(s->b);
		free(s->reason);
	}
	free(out->sigs);
	memset(out, 0, sizeof(*out));
}

/* dkimv_b_prefix_len - RFC 6008 style: unique among this message's signatures */
size_t
dkimv_b_prefix_len(const struct dkimv_outcome *out, size_t i)
{
	const char *b = out->sigs[i].b ? out->sigs[i].b : "";
	size_t len = strlen(b), need = len < 8 ? len : 8;

	for (size_t j = 0; j < out->n_sigs; j++) {
		const char *o = out->sigs[j].b;
		if (j == i || o == NULL)
			continue;
		size_t common = 0;
		while (b[common] && b[common] == o[common])
			common++;
		if (common + 1 > need)
			need = common + 1 > len ? len : common + 1;
	}
	return need;
}
