/*
 * dkimv - per-message DKIM verification and the mapping of libopendkim's
 * per-signature state to RFC 8601 results with a short reason.
 *
 * Our rules on top of libopendkim: rsa-sha1 is never a pass (RFC 8301),
 * RSA keys below min_key_bits are never a pass, and only the first
 * max_signatures DKIM-Signature fields in header order (the newest, those
 * added nearest to us) are evaluated. The rest are counted and never handed
 * to libopendkim, which parses every signature it is given before it looks
 * at any: 40,000 junk signatures cost it 22 s and 132 MiB.
 *
 * Work is bounded per message, whatever the conf says: an evaluated field
 * over DKIMV_FIELD_MAX bytes, with a NUL byte, with an h= libopendkim would
 * cut, or past the header-selection or body-hash budget is refused with a
 * permerror and never handed over. DKIM-Signature fields are handed over
 * at end of headers, after the other fields: libopendkim picks the
 * instances h= names among fields of the same name only, so the order that
 * matters (DKIM-Signature among DKIM-Signature) is kept, and the budget can
 * use the final field count.
 *
 * Nothing is hidden: a message with a DKIM-Signature field always gets one
 * result per evaluated field. When libopendkim refuses the message, every
 * field gets temperror (resources, internal) or permerror (syntax) and
 * outcome.lib_error says which call failed, for the log.
 */
#include "dkimv.h"
#include "hdrname.h"
#include "dkimv_field.h"
#include "pkeycache.h"
#include "buf.h"

#include <ctype.h>
#include <opendkim/dkim.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* libopendkim's header copy (FIXCRLF) stops at a NUL byte and at 65535
 * bytes without saying so: a field like that is hashed cut. */
#define DKIMV_LIB_HEADER_MAX 65534
/* header selection: libopendkim walks every header field once per h= entry
 * of every signature; steps of that walk plus bytes hashed, per message */
#define DKIMV_HEADER_WORK (64u * 1024 * 1024)
/* each distinct (body canonicalization, hash, l=) is one more pass over the
 * body; real messages need one or two */
#define DKIMV_MAX_BODY_HASHES 4
/* names of cut header fields kept to match against h=; past it, any */
#define DKIMV_MAX_CUT_NAMES 8

struct dkimv_msg {
	DKIM *dkim;
	const struct dkimv_settings *settings;
	struct dkimv_field *fields;	/* evaluated DKIM-Signature fields, header order */
	size_t n_fields;
	size_t cap_fields;
	size_t n_excess;		/* DKIM-Signature fields past max_signatures */
	size_t n_other;			/* other header fields handed over */
	size_t header_bytes;		/* all header fields handed over */
	size_t longest_header;
	size_t n_refused_headers;	/* other fields libopendkim refused (syntax) */
	char *cut_names[DKIMV_MAX_CUT_NAMES];
	size_t n_cut;
	const char *failed_call;	/* first libopendkim call that refused the message */
	DKIM_STAT failed_status;
	char *failed_detail;
	DKIM_STAT eoh_status;
	bool eoh_done;
	struct buf header;
};

static DKIM_LIB *dkimv_lib;

static void dkimv_b_prefixes(struct dkimv_outcome *out);

/* dkimv_init - the process-wide library handle; call once before threads start */
bool
dkimv_init(unsigned clock_skew, char *why, size_t why_size)
{
	/* Not DELAYSIGPROC (keys at end of message): with BADSIGHANDLES,
	 * libopendkim's dkim_eom then processes malformed signatures too, and
	 * fuzz_dkim found heap corruption in that path. */
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
	    || dkim_options(dkimv_lib, DKIM_OP_SETOPT, DKIM_OPTS_MINKEYBITS, &minbits, sizeof(minbits)) != DKIM_STAT_OK) {
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
	pkeycache_clear();
}

/* status_name - libopendkim's words for a status, never NULL */
static const char *
status_name(DKIM_STAT st)
{
	const char *s = dkim_getresultstr(st);

	return s ? s : "unknown status";
}

/* lib_failed - remember the first call that refused the message */
static void
lib_failed(struct dkimv_msg *m, const char *call, DKIM_STAT st)
{
	const char *detail = m->dkim ? dkim_geterror(m->dkim) : NULL;

	if (m->failed_call)
		return;
	m->failed_call = call;
	m->failed_status = st;
	if (detail && *detail)
		m->failed_detail = xstrdup(detail);
}

/* dkimv_begin - a verifier for one message */
struct dkimv_msg *
dkimv_begin(const struct dkimv_settings *settings)
{
	struct dkimv_msg *m = xcalloc(1, sizeof(*m));
	DKIM_STAT st = DKIM_STAT_INTERNAL;

	buf_init(&m->header);
	m->settings = settings;
	if (dkimv_lib)
		m->dkim = dkim_verify(dkimv_lib, (const unsigned char *)"authmilter", NULL, &st);
	if (m->dkim == NULL)
		lib_failed(m, dkimv_lib ? "dkim_verify" : "dkimv_init", st);
	return m;
}

/* crlf_field - name:value with every line break CRLF (MTAs hand us bare LF) */
static void
crlf_field(struct buf *out, const char *name, const char *value, size_t len)
{
	buf_reset(out);
	buf_adds(out, name);
	buf_addc(out, ':');
	for (size_t i = 0; i < len; i++) {
		if (value[i] == '\n' && (i == 0 || value[i - 1] != '\r'))
			buf_addc(out, '\r');
		buf_addc(out, value[i]);
	}
}

/* feed - one field to libopendkim; false when it refused the message */
static DKIM_STAT
feed(struct dkimv_msg *m, const struct buf *field)
{
	DKIM_STAT st = dkim_header(m->dkim, (unsigned char *)field->data, field->len);

	m->header_bytes += field->len;
	if (field->len > m->longest_header)
		m->longest_header = field->len;
	/* SYNTAX costs only that field (for a signature: its result); anything
	 * else means libopendkim can no longer be trusted with this message */
	if (st != DKIM_STAT_OK && st != DKIM_STAT_SYNTAX)
		lib_failed(m, "dkim_header", st);
	return st;
}

/* note_cut - a field libopendkim will hash cut: no signature over it passes */
static void
note_cut(struct dkimv_msg *m, const char *name)
{
	if (m->n_cut < DKIMV_MAX_CUT_NAMES)
		m->cut_names[m->n_cut] = xstrdup(name);
	m->n_cut++;
}

/* signature_field - keep an evaluated DKIM-Signature field until eoh, or count it */
static void
signature_field(struct dkimv_msg *m, const char *name, const char *value, size_t len)
{
	size_t max = m->settings->max_signatures ? m->settings->max_signatures : 1;
	struct dkimv_field *f;

	if (m->n_fields >= max) {
		m->n_excess++;
		return;
	}
	if (m->n_fields == m->cap_fields) {
		m->cap_fields = m->cap_fields ? m->cap_fields * 2 : 4;
		if (m->cap_fields > max)
			m->cap_fields = max;
		m->fields = xrealloc(m->fields, m->cap_fields * sizeof(*m->fields));
	}
	f = &m->fields[m->n_fields++];
	dkimv_field_read(f, value, len);
	if (memchr(value, '\0', len))
		f->refused = "NUL byte in the DKIM-Signature field";
	else if (len > DKIMV_FIELD_MAX)
		f->refused = "DKIM-Signature field over 8192 bytes";
	else if (f->h_len > DKIMV_H_MAX)
		f->refused = "h= over 4095 bytes";
	else
		crlf_field(&f->text, name, value, len);
}

/* dkimv_header_n - one field exactly as received: value is all after the
 * colon, len bytes, NUL bytes included */
void
dkimv_header_n(struct dkimv_msg *m, const char *name, const char *value, size_t len)
{
	if (m->eoh_done)
		return;
	/* recorded even when libopendkim failed: each still gets a result */
	if (hdrname_is(name, "DKIM-Signature")) {	/* libopendkim's test too */
		signature_field(m, name, value, len);
		return;
	}
	if (m->failed_call)
		return;
	crlf_field(&m->header, name, value, len);
	if (memchr(value, '\0', len) || m->header.len > DKIMV_LIB_HEADER_MAX)
		note_cut(m, name);
	m->n_other++;
	if (feed(m, &m->header) == DKIM_STAT_SYNTAX)
		m->n_refused_headers++;
}

/* dkimv_header - the same for a value with no NUL byte of its own */
void
dkimv_header(struct dkimv_msg *m, const char *name, const char *raw_value)
{
	dkimv_header_n(m, name, raw_value, strlen(raw_value));
}

/* the header block libopendkim will hold once the signatures are in */
struct dkimv_block {
	size_t n_fields;
	size_t bytes;
	size_t longest;
};

/* over_budget - would this field take header selection past the budget?
 * Selection walks every field once per h= entry; hashing reads at most
 * h= entries times the longest field, and never more than the whole block. */
static bool
over_budget(const struct dkimv_block *blk, const struct dkimv_field *f, size_t *work)
{
	size_t hashed = f->h_entries * blk->longest;
	size_t cost;

	if (blk->bytes < hashed)
		hashed = blk->bytes;
	/* h_entries <= DKIMV_H_MAX and the block is in memory: no overflow */
	cost = f->h_entries * blk->n_fields + hashed + f->text.len;
	if (*work + cost > DKIMV_HEADER_WORK)
		return true;
	*work += cost;
	return false;
}

/* body_hash_refused - would this field need one body hash too many? */
static bool
body_hash_refused(struct dkimv_body_key *keys, size_t *n_keys, const struct dkimv_field *f)
{
	if (f->body.canon == DKIMV_CANON_UNKNOWN)
		return false;	/* libopendkim makes no body hash for it */
	for (size_t i = 0; i < *n_keys; i++)
		if (dkimv_body_key_equal(&keys[i], &f->body))
			return false;
	if (*n_keys == DKIMV_MAX_BODY_HASHES)
		return true;
	keys[(*n_keys)++] = f->body;
	return false;
}

/* feed_signatures - the evaluated fields, in header order, within budget:
 * the first ones get the budget first */
static void
feed_signatures(struct dkimv_msg *m)
{
	struct dkimv_body_key keys[DKIMV_MAX_BODY_HASHES];
	struct dkimv_block blk = { m->n_other, m->header_bytes, m->longest_header };
	size_t n_keys = 0, work = 0;

	for (size_t i = 0; i < m->n_fields; i++) {
		const struct dkimv_field *f = &m->fields[i];
		if (f->refused)
			continue;
		blk.n_fields++;
		blk.bytes += f->text.len;
		if (f->text.len > blk.longest)
			blk.longest = f->text.len;
	}
	for (size_t i = 0; i < m->n_fields && !m->failed_call; i++) {
		struct dkimv_field *f = &m->fields[i];
		if (f->refused)
			continue;
		if (over_budget(&blk, f, &work))
			f->refused = "header hashing over this message's budget";
		else if (body_hash_refused(keys, &n_keys, f))
			f->refused = "more than 4 different body hashes";
		else
			f->fed_status = feed(m, &f->text);
		buf_free(&f->text);
	}
}

/* dkimv_eoh - end of headers: signatures are handed over, parsed and
 * their keys fetched here */
void
dkimv_eoh(struct dkimv_msg *m)
{
	size_t fed = 0;

	if (m->eoh_done)
		return;
	m->eoh_done = true;
	buf_free(&m->header);
	if (m->failed_call)
		return;
	feed_signatures(m);
	for (size_t i = 0; i < m->n_fields; i++)
		fed += m->fields[i].refused == NULL;
	if (m->failed_call)
		return;
	dkimv_dns_use(m->settings->dns);
	m->eoh_status = dkim_eoh(m->dkim);
	dkimv_dns_use(NULL);
	/* NOSIG is right only when we handed over no signature */
	if (m->eoh_status == DKIM_STAT_NOSIG ? fed > 0 : m->eoh_status != DKIM_STAT_OK)
		lib_failed(m, "dkim_eoh", m->eoh_status);
}

/* dkimv_wants_body - false once it is clear no signature needs the body */
bool
dkimv_wants_body(const struct dkimv_msg *m)
{
	return !m->failed_call && m->eoh_done && m->eoh_status == DKIM_STAT_OK;
}

/* dkimv_body - a body chunk, hashed as it streams past */
void
dkimv_body(struct dkimv_msg *m, const void *data, size_t len)
{
	DKIM_STAT st;

	if (!dkimv_wants_body(m) || len == 0)
		return;
	st = dkim_body(m->dkim, (unsigned char *)data, len);
	if (st != DKIM_STAT_OK)
		lib_failed(m, "dkim_body", st);
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
	/* never evaluated: libopendkim failed inside (resources), not the signature */
	case DKIM_SIGERROR_UNKNOWN: *reason = "verifier error: signature not evaluated"; return DKIMV_TEMPERROR;
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

/* judge - the result for one signature libopendkim evaluated */
static void
judge(DKIM *dkim, DKIM_SIGINFO *sig, const struct dkimv_settings *cfg, struct dkimv_sig *out,
      struct buf *why)
{
	unsigned int flags = dkim_sig_getflags(sig);
	unsigned int bits = 0;
	const char *reason = NULL;
	dkim_alg_t alg = DKIM_SIGN_UNKNOWN;
	int err = dkim_sig_geterror(sig);

	/* a pass needs all three: header hash verified, body hash matched and
	 * no error set afterwards (an l= longer than the body is set at eom) */
	if (!(flags & DKIM_SIGFLAG_PASSED) || dkim_sig_getbh(sig) != DKIM_SIGBH_MATCH
	    || err != DKIM_SIGERROR_OK) {
		if (err == DKIM_SIGERROR_OK && dkim_sig_getbh(sig) == DKIM_SIGBH_MISMATCH)
			out->result = DKIMV_FAIL, reason = "body hash mismatch";
		else
			out->result = error_result(err, &reason);
		if (reason == NULL)
			reason = dkim_sig_geterrorstr(err);
		buf_adds(why, reason ? reason : "not verified");
		return;
	}
	if (dkim_sig_getsignalg(sig, &alg) != DKIM_STAT_OK) {
		out->result = DKIMV_PERMERROR;
		buf_adds(why, "unknown algorithm");
		return;
	}
	if (alg == DKIM_SIGN_RSASHA1) {
		out->result = DKIMV_POLICY;
		buf_adds(why, "rsa-sha1 is not accepted, RFC 8301");
		return;
	}
	if (alg != DKIM_SIGN_ED25519SHA256 && dkim_sig_getkeysize(sig, &bits) != DKIM_STAT_OK) {
		out->result = DKIMV_TEMPERROR;
		buf_adds(why, "verifier error: key size unknown");
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
	else if (l)
		buf_printf(why, "; l=%s signs only part of the body", l);
	free(l);
}

/* signs_cut - does the signature cover a field libopendkim hashed cut? */
static bool
signs_cut(const struct dkimv_msg *m, const struct dkimv_field *f)
{
	if (m->n_cut > DKIMV_MAX_CUT_NAMES)
		return true;
	for (size_t i = 0; i < m->n_cut; i++)
		if (dkimv_field_signs(f, m->cut_names[i]))
			return true;
	return false;
}

/* withheld - DKIM-Signature fields libopendkim never saw (past the maximum
 * or refused): an h= naming DKIM-Signature picks others in their place */
static size_t
withheld(const struct dkimv_msg *m)
{
	size_t n = m->n_excess;

	for (size_t i = 0; i < m->n_fields; i++)
		n += m->fields[i].refused != NULL;
	return n;
}

/* overrule - our field-level findings, which libopendkim does not make */
static void
overrule(const struct dkimv_msg *m, const struct dkimv_field *f, struct dkimv_sig *out,
	 struct buf *why)
{
	const char *reason = NULL;

	if (f->fed_status == DKIM_STAT_SYNTAX)
		reason = "malformed DKIM-Signature field";
	else if (f->duplicate)
		reason = "a tag occurs twice, RFC 6376 3.2";
	else if (signs_cut(m, f))
		reason = "signs a header field with a NUL byte or over 64 KB";
	else if (out->result == DKIMV_FAIL && f->signs_signatures && withheld(m) > 0)
		reason = "h= signs DKIM-Signature fields that were not evaluated";
	if (reason == NULL)
		return;
	if (out->result == DKIMV_PASS || out->result == DKIMV_FAIL || out->result == DKIMV_NEUTRAL
	    || out->result == DKIMV_POLICY)
		out->result = DKIMV_PERMERROR;
	buf_reset(why);
	buf_adds(why, reason);
}

/* from_field - a signature named from our own reading of its field */
static void
from_field(const struct dkimv_field *f, struct dkimv_sig *out)
{
	out->domain = xstrdup(f->domain ? f->domain : "");
	out->selector = xstrdup(f->selector ? f->selector : "");
	out->algorithm = f->algorithm ? xstrdup(f->algorithm) : NULL;
	out->identity = f->identity ? xstrdup(f->identity) : NULL;
	out->b = f->b ? xstrdup(f->b) : NULL;
}

/* describe - a signature libopendkim evaluated */
static void
describe(const struct dkimv_msg *m, DKIM_SIGINFO *sig, const struct dkimv_field *f,
	 struct dkimv_sig *out)
{
	unsigned char ident[512];
	struct buf why;

	const char *d = (const char *)dkim_sig_getdomain(sig);
	const char *s = (const char *)dkim_sig_getselector(sig);

	/* libopendkim leaves both unset for a signature it stopped reading early */
	out->domain = xstrdup(d ? d : f->domain ? f->domain : "");
	out->selector = xstrdup(s ? s : f->selector ? f->selector : "");
	/* a= as written: libopendkim reports rsa-sha1 for signatures it never parsed */
	out->algorithm = tag_value(sig, "a", true);
	out->b = tag_value(sig, "b", true);
	if (dkim_sig_getidentity(m->dkim, sig, ident, sizeof(ident)) == DKIM_STAT_OK && ident[0])
		out->identity = xstrdup((char *)ident);
	buf_init(&why);
	judge(m->dkim, sig, m->settings, out, &why);
	overrule(m, f, out, &why);
	out->reason = buf_steal(&why);
}

/* not_evaluated - a field libopendkim gave no result for */
static void
not_evaluated(const struct dkimv_msg *m, const struct dkimv_field *f, struct dkimv_sig *out)
{
	struct buf why;

	from_field(f, out);
	buf_init(&why);
	if (f->refused) {
		out->result = DKIMV_PERMERROR;
		buf_adds(&why, f->refused);
	} else {
		/* syntax is the message's fault; anything else is ours or the library's */
		bool syntax = m->failed_status == DKIM_STAT_SYNTAX
			   || m->failed_status == DKIM_STAT_CANTVRFY;
		out->result = syntax ? DKIMV_PERMERROR : DKIMV_TEMPERROR;
		buf_printf(&why, "verifier error in %s: %s", m->failed_call,
			   status_name(m->failed_status));
	}
	out->reason = buf_steal(&why);
}

/* lib_error - one line for the log: which libopendkim call failed and why */
static char *
lib_error(const struct dkimv_msg *m)
{
	struct buf b;

	if (m->failed_call == NULL && m->n_refused_headers == 0)
		return NULL;
	buf_init(&b);
	if (m->failed_call) {
		buf_printf(&b, "libopendkim %s: %s", m->failed_call,
			   status_name(m->failed_status));
		if (m->failed_detail)
			buf_printf(&b, " (%s)", m->failed_detail);
	}
	if (m->n_refused_headers)
		buf_printf(&b, "%slibopendkim refused %zu header field(s) as malformed",
			   b.len ? "; " : "", m->n_refused_headers);
	return buf_steal(&b);
}

/* finish - dkim_eom and the signature list, or the reason they failed */
static void
finish(struct dkimv_msg *m, DKIM_SIGINFO ***sigs, size_t fed)
{
	DKIM_STAT st;
	int nsigs = 0;

	if (m->failed_call || fed == 0)
		return;
	dkimv_dns_use(m->settings->dns);
	st = dkim_eom(m->dkim, NULL);
	dkimv_dns_use(NULL);
	/* these name the outcome of the signature libopendkim picked; each
	 * signature still has its own state, read in describe */
	if (st != DKIM_STAT_OK && st != DKIM_STAT_BADSIG && st != DKIM_STAT_NOKEY
	    && st != DKIM_STAT_KEYFAIL && st != DKIM_STAT_REVOKED && st != DKIM_STAT_CANTVRFY) {
		lib_failed(m, "dkim_eom", st);
		return;
	}
	st = dkim_getsiglist(m->dkim, sigs, &nsigs);
	if (st == DKIM_STAT_OK && (nsigs < 0 || (size_t)nsigs != fed))
		st = DKIM_STAT_INTERNAL;	/* we could not tell which is which */
	if (st != DKIM_STAT_OK)
		lib_failed(m, "dkim_getsiglist", st);
}

/* dkimv_end - one result per evaluated DKIM-Signature field, in header order */
void
dkimv_end(struct dkimv_msg *m, struct dkimv_outcome *out)
{
	DKIM_SIGINFO **sigs = NULL;
	size_t fed = 0, next = 0;

	memset(out, 0, sizeof(*out));
	if (!m->eoh_done)
		dkimv_eoh(m);
	if (m->n_fields == 0 && m->n_excess == 0) {
		out->lib_error = lib_error(m);
		return;
	}
	for (size_t i = 0; i < m->n_fields; i++)
		fed += m->fields[i].refused == NULL;
	finish(m, &sigs, fed);
	out->signed_message = true;
	out->n_not_evaluated = m->n_excess;
	out->sigs = xcalloc(m->n_fields, sizeof(*out->sigs));
	for (size_t i = 0; i < m->n_fields; i++) {
		const struct dkimv_field *f = &m->fields[i];
		if (f->refused || m->failed_call)
			not_evaluated(m, f, &out->sigs[i]);
		else
			describe(m, sigs[next], f, &out->sigs[i]);
		next += f->refused == NULL;
	}
	out->n_sigs = m->n_fields;
	out->lib_error = lib_error(m);
	dkimv_b_prefixes(out);
}

/* dkimv_free - release the verifier */
void
dkimv_free(struct dkimv_msg *m)
{
	if (m == NULL)
		return;
	if (m->dkim)
		(void)dkim_free(m->dkim);	/* only fails for a NULL handle */
	for (size_t i = 0; i < m->n_fields; i++)
		dkimv_field_free(&m->fields[i]);
	free(m->fields);
	for (size_t i = 0; i < m->n_cut && i < DKIMV_MAX_CUT_NAMES; i++)
		free(m->cut_names[i]);
	free(m->failed_detail);
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
	free(out->lib_error);
	memset(out, 0, sizeof(*out));
}

static int
cmp_b(const void *x, const void *y)
{
	const struct dkimv_sig *a = *(const struct dkimv_sig *const *)x;
	const struct dkimv_sig *b = *(const struct dkimv_sig *const *)y;

	return strcmp(a->b ? a->b : "", b->b ? b->b : "");
}

static size_t
common_prefix(const char *a, const char *b)
{
	size_t n = 0;

	while (a[n] && a[n] == b[n])
		n++;
	return n;
}

/* dkimv_b_prefixes - RFC 6008 style: for each b=, the shortest prefix (at
 * least 8 characters) no other signature shares. Sorted, the closest b= are
 * neighbours, so n log n instead of comparing every pair. */
static void
dkimv_b_prefixes(struct dkimv_outcome *out)
{
	struct dkimv_sig **order = xcalloc(out->n_sigs ? out->n_sigs : 1, sizeof(*order));
	size_t n = 0;

	for (size_t i = 0; i < out->n_sigs; i++) {
		const char *b = out->sigs[i].b ? out->sigs[i].b : "";
		size_t len = strlen(b);
		out->sigs[i].b_prefix = len < 8 ? len : 8;
		if (out->sigs[i].b)
			order[n++] = &out->sigs[i];
	}
	qsort(order, n, sizeof(*order), cmp_b);
	for (size_t i = 1; i < n; i++) {
		size_t common = common_prefix(order[i - 1]->b, order[i]->b);
		for (size_t k = i - 1; k <= i; k++) {
			size_t len = strlen(order[k]->b);
			size_t need = common + 1 > len ? len : common + 1;
			if (need > order[k]->b_prefix)
				order[k]->b_prefix = need;
		}
	}
	free(order);
}

/* dkimv_b_prefix_len - how much of sig i's b= to show (see dkimv_b_prefixes) */
size_t
dkimv_b_prefix_len(const struct dkimv_outcome *out, size_t i)
{
	return out->sigs[i].b_prefix;
}
