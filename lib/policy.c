/*
 * policy - the decision table, in order of precedence:
 *   DMARC reject (after local overrides) > SPF reject > DNS tempfail >
 *   DMARC quarantine > accept.
 */
#include "policy.h"
#include "arc_trust.h"
#include "authres.h"

#include <stdlib.h>
#include <string.h>

static void
set_reply(struct verdict *v, enum verdict_action action, const char *code, const char *xcode,
	  const char *head, const char *detail)
{
	struct buf b;

	buf_init(&b);
	authres_sanitize(&b, head, 300);
	if (detail && *detail) {
		buf_adds(&b, ": ");
		authres_sanitize(&b, detail, 300);
	}
	free(v->reply_text);
	v->action = action;
	v->smtp_code = code;
	v->smtp_xcode = xcode;
	v->reply_text = buf_steal(&b);
}

static void
note(struct verdict *v, const char *text)
{
	if (v->dmarc_notes.len)
		buf_adds(&v->dmarc_notes, "; ");
	buf_adds(&v->dmarc_notes, text);
}

/* arc_override - true when a trusted ARC sealer's results rescue this
 * DMARC failure (ARCTrustedSealers); the verdict names the sealer */
static bool
arc_override(const struct policy_input *in, struct verdict *v)
{
	const struct dmarc_eval *ev = in->dmarc;
	struct arc_trust_request req = {
		.from_domain = ev->from_domain,
		.org_domain = ev->out.org_domain,
		.dmarc = ev->out.result,
		.adkim_strict = ev->out.rec.adkim_strict,
		.aspf_strict = ev->out.rec.aspf_strict,
		.chain = in->arc,
		.sealers = in->cfg->arc_trusted_sealers,
		.n_sealers = in->cfg->n_arc_trusted_sealers,
	};
	struct arc_trust t;
	struct buf b;

	arc_trust_decide(&req, &t);
	if (!t.override)
		return false;
	buf_init(&b);
	buf_adds(&b, "ARC from ");
	authres_sanitize(&b, t.sealer, 253);
	note(v, b.data);
	buf_reset(&b);
	buf_printf(&b, "arc=pass i=%u ", t.instance);
	authres_sanitize(&b, t.sealer, 253);
	buf_printf(&b, " %s=pass", t.via);
	free(v->dmarc_override_comment);
	v->dmarc_override = "trusted_forwarder";
	v->dmarc_override_comment = buf_steal(&b);
	return true;
}

/* dmarc_applied - the disposition after local policy, with a note for each change */
static enum dmarc_policy
dmarc_applied(const struct policy_input *in, struct verdict *v)
{
	const struct dmarc_eval *ev = in->dmarc;
	const struct config *cfg = in->cfg;
	enum dmarc_policy p = ev->out.disposition;
	const struct dmarc_override *ov = ev->from_domain ? config_find_override(cfg, ev->from_domain) : NULL;

	if (ov && ov->action == OVERRIDE_FORCE_REJECT) {
		note(v, "local override force-reject");
		return DMARC_POLICY_REJECT;
	}
	if (p == DMARC_POLICY_NONE)
		return p;
	if (ov && ov->action == OVERRIDE_ALWAYS_PASS) {
		note(v, "local override always-pass");
		return DMARC_POLICY_NONE;
	}
	if (ov && ov->action == OVERRIDE_NEVER_REJECT && p == DMARC_POLICY_REJECT) {
		note(v, "local override never-reject");
		p = DMARC_POLICY_QUARANTINE;
	}
	if (in->exempt) {
		note(v, in->exempt);
		return DMARC_POLICY_NONE;
	}
	if (!cfg->dmarc_enforce) {
		note(v, "monitor mode");
		return DMARC_POLICY_NONE;
	}
	/* Before the mailing-list rule: a list that seals is named, not guessed. */
	if (arc_override(in, v))
		return DMARC_POLICY_NONE;
	if (in->mailing_list && p == DMARC_POLICY_REJECT && cfg->dmarc_list_action != LIST_REJECT) {
		note(v, cfg->dmarc_list_action == LIST_QUARANTINE ? "mailing list: quarantine"
								   : "mailing list: accept");
		p = cfg->dmarc_list_action == LIST_QUARANTINE ? DMARC_POLICY_QUARANTINE
							      : DMARC_POLICY_NONE;
	}
	return p;
}

/* reject_text - DMARCRejectText with %d replaced by the From domain */
static char *
reject_text(const char *tmpl, const char *domain)
{
	struct buf b;

	buf_init(&b);
	for (const char *p = tmpl; *p; p++) {
		if (p[0] == '%' && p[1] == 'd') {
			buf_adds(&b, domain ? domain : "");
			p++;
		} else {
			buf_addc(&b, *p);
		}
	}
	return buf_steal(&b);
}

/* decide_dmarc - true if DMARC settled the action (reject or quarantine) */
static bool
decide_dmarc(const struct policy_input *in, struct verdict *v)
{
	const struct dmarc_eval *ev = in->dmarc;

	if (ev == NULL || !ev->evaluated)
		return false;
	v->dmarc_applied = DMARC_POLICY_NONE;
	/* A missing From is reported, not rejected: there is no domain to spoof.
	 * One that cannot be read has no strictest outcome but a reject. */
	if (ev->from_problem && !ev->no_from && in->cfg->dmarc_multi_from != MULTI_FROM_IGNORE
	    && !in->exempt) {
		v->dmarc_applied = DMARC_POLICY_REJECT;
		set_reply(v, ACTION_REJECT, "550", "5.7.1", "Rejected: unusable From header field",
			  ev->from_problem);
		return true;
	}
	if (ev->out.result != DMARC_FAIL)
		return false;
	v->dmarc_applied = dmarc_applied(in, v);
	/* An aligned identifier we could not check might have passed: with
	 * TempFailOnDNSError the sender tries again instead of getting a 550. */
	if (v->dmarc_applied != DMARC_POLICY_NONE && ev->out.aligned_temperror
	    && in->cfg->tempfail_on_dns_error) {
		note(v, "aligned identifier had a DNS error");
		set_reply(v, ACTION_TEMPFAIL, "451", "4.7.24",
			  "Temporary DNS error during authentication checks, try again later", NULL);
		return true;
	}
	if (v->dmarc_applied == DMARC_POLICY_REJECT) {
		char *text = reject_text(in->cfg->dmarc_reject_text, ev->from_domain);
		set_reply(v, ACTION_REJECT, "550", "5.7.1", text, NULL);
		free(text);
		return true;
	}
	return false;
}

/* dkim_dns_trouble - a key lookup failed and no signature passed anyway */
static bool
dkim_dns_trouble(const struct dkimv_outcome *dk)
{
	bool temperror = false;

	for (size_t i = 0; dk && i < dk->n_sigs; i++) {
		if (dk->sigs[i].result == DKIMV_PASS)
			return false;
		temperror |= dk->sigs[i].result == DKIMV_TEMPERROR;
	}
	return temperror;
}

static bool
dns_trouble(const struct policy_input *in)
{
	return (in->spf && in->spf->result == SPF_TEMPERROR) || dkim_dns_trouble(in->dkim)
	    || (in->dmarc && in->dmarc->evaluated && in->dmarc->out.result == DMARC_TEMPERROR);
}

/* policy_decide - fill v's action, reply and DMARC decisions */
void
policy_decide(const struct policy_input *in, struct verdict *v)
{
	const struct spf_outcome *spf = in->spf;

	v->action = ACTION_ACCEPT;
	v->dmarc_applied = DMARC_POLICY_UNSET;
	buf_init(&v->dmarc_notes);
	if (decide_dmarc(in, v))
		return;
	if (spf && spf->result == SPF_FAIL && in->cfg->spf_reject_fail) {
		struct buf head;
		buf_init(&head);
		buf_adds(&head, "SPF check failed for ");
		buf_adds(&head, spf->domain ? spf->domain : "");
		set_reply(v, ACTION_REJECT, "550", "5.7.23", head.data, spf->explanation);
		buf_free(&head);
		return;
	}
	if (in->cfg->tempfail_on_dns_error && dns_trouble(in)) {
		set_reply(v, ACTION_TEMPFAIL, "451", "4.7.24",
			  "Temporary DNS error during authentication checks, try again later",
			  spf && spf->result == SPF_TEMPERROR ? spf->reason : NULL);
		return;
	}
	if (in->dmarc && v->dmarc_applied == DMARC_POLICY_QUARANTINE) {
		if (in->cfg->dmarc_quarantine == QUARANTINE_HOLD) {
			struct buf why;
			buf_init(&why);
			buf_adds(&why, "DMARC policy of ");
			buf_adds(&why, in->dmarc->from_domain ? in->dmarc->from_domain : "?");
			set_reply(v, ACTION_QUARANTINE, NULL, NULL, why.data, NULL);
			buf_free(&why);
		} else {
			note(v, "quarantine by header only");
		}
	}
}

/* verdict_free - release */
void
verdict_free(struct verdict *v)
{
	free(v->auth_results);
	free(v->reply_text);
	free(v->delete_ar);
	free(v->summary);
	free(v->dmarc_override_comment);
	buf_free(&v->dmarc_notes);
	for (size_t i = 0; i < v->n_add_fields; i++) {
		free(v->add_fields[i].name);
		free(v->add_fields[i].value);
	}
	free(v->add_fields);
	memset(v, 0, sizeof(*v));
}

/* verdict_action_name - accept, reject, quarantine or tempfail */
const char *
verdict_action_name(enum verdict_action a)
{
	static const char *const names[ACTION_N] = { "accept", "reject", "quarantine", "tempfail" };
	return names[a];
}
