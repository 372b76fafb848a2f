/*
 * steps - the decisions of each milter step, whoever speaks the protocol:
 * call lib/, say what to reply. eom applies the verdict; it computes nothing.
 */
#include "steps.h"
#include "log.h"
#include "../lib/authres.h"
#include "../lib/metrics.h"
#include "../lib/session.h"

#include <libmilter/mfapi.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static struct runtime_slot *milter_slot;
static atomic_int messages_in_flight;	/* MAIL FROM seen, verdict not yet given */
static atomic_bool stopping;

/* step_conn - what the milter layer knows of a connection besides the session */
struct step_conn {
	struct session *session;
	bool leading_space;	/* SMFIP_HDR_LEADSPC: header values arrive untouched */
	bool in_message;	/* counted in messages_in_flight */
};

/*
 * Steps whose reply could never change the verdict: connect and HELO only
 * record, headers and end of headers only feed DKIM. MAIL keeps its reply
 * (shutdown temp-fails there), and so do RCPT and DATA although no check
 * needs them: they are the last packets Postfix's smtpd writes before its
 * cleanup process takes the socket over, and an unanswered one waits for
 * our delayed ACK while Nagle holds cleanup's next write - 40 ms per
 * message, measured with tests/bench. Body keeps its reply for SKIP.
 */
#define NOREPLY_STEPS (SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_HDR | SMFIP_NR_EOH)

/* only the macros a check reads, by stage (SMFIM_*); "" asks for none */
const char *const steps_macro_lists[7] = {
	[SMFIM_CONNECT] = "", [SMFIM_HELO] = "", [SMFIM_ENVFROM] = "{auth_authen}",
	[SMFIM_ENVRCPT] = "", [SMFIM_DATA] = "", [SMFIM_EOM] = "i", [SMFIM_EOH] = "",
};

/* steps_init - the shared, read-only state every connection uses */
void
steps_init(struct runtime_slot *slot)
{
	milter_slot = slot;
}

/* steps_stop - from the signal loop on SIGTERM */
void
steps_stop(void)
{
	atomic_store(&stopping, true);
}

/* steps_in_flight - messages the daemon waits for before it exits */
int
steps_in_flight(void)
{
	return atomic_load(&messages_in_flight);
}

/* message_begin, message_end - keep the count of messages in flight */
static void
message_begin(struct step_conn *c)
{
	if (!c->in_message)
		atomic_fetch_add(&messages_in_flight, 1);
	c->in_message = true;
}

static void
message_end(struct step_conn *c)
{
	if (c->in_message)
		atomic_fetch_sub(&messages_in_flight, 1);
	c->in_message = false;
}

/* steps_conn_new - a connection's state, before its negotiation */
struct step_conn *
steps_conn_new(void)
{
	return xcalloc(1, sizeof(struct step_conn));
}

/* steps_conn_reset - the SMTP connection ended; the negotiation stays */
void
steps_conn_reset(struct step_conn *c)
{
	message_end(c);
	session_free(c->session);
	c->session = NULL;
}

/* steps_conn_free - the milter connection ended */
void
steps_conn_free(struct step_conn *c)
{
	if (c == NULL)
		return;
	steps_conn_reset(c);
	free(c);
}

/* shutting_down - no new message once SIGTERM came: the sender retries later */
static enum step_rc
shutting_down(const struct mta *m)
{
	(void)m->setreply(m->ctx, "451", "4.3.2", "authmilter is shutting down, try again later");
	return STEP_TEMPFAIL;
}

/* steps_negotiate - the actions and steps we ask the MTA for */
void
steps_negotiate(struct step_conn *c, unsigned long actions, unsigned long protocol,
		unsigned long *our_actions, unsigned long *our_protocol)
{
	const unsigned long want = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE
				   | SMFIF_SETSYMLIST;
	/* DKIM wants header bytes as sent; we have no use for unknown commands. */
	const unsigned long steps = SMFIP_NOUNKNOWN | SMFIP_HDR_LEADSPC | SMFIP_SKIP
				    | NOREPLY_STEPS;

	*our_actions = actions & want;
	*our_protocol = protocol & steps;
	c->leading_space = (*our_protocol & SMFIP_HDR_LEADSPC) != 0;
}

/* steps_connect - a new SMTP client (ip NULL when not over IP) */
enum step_rc
steps_connect(struct step_conn *c, const struct mta *m, const char *host, const char *ip)
{
	/* Where connect has no reply (SMFIP_NR_CONN), MAIL FROM temp-fails instead. */
	if (atomic_load(&stopping))
		return shutting_down(m);
	if (c->session == NULL)
		c->session = session_new(milter_slot);
	session_connect(c->session, ip, host);
	log_debug("connect from %s [%s]", host ? host : "unknown", ip ? ip : "");
	return STEP_CONTINUE;
}

/* steps_helo - recorded for SPF's HELO identity */
enum step_rc
steps_helo(struct step_conn *c, const char *helo)
{
	if (c->session)
		session_helo(c->session, helo);
	return STEP_CONTINUE;
}

/* steps_mail - a message begins (its SPF check waits for the end of message) */
enum step_rc
steps_mail(struct step_conn *c, const struct mta *m, const char *from)
{
	if (atomic_load(&stopping))
		return shutting_down(m);
	if (c->session == NULL) {
		log_error("MAIL FROM without session state: temp-failing it");
		return STEP_TEMPFAIL;
	}
	message_begin(c);
	session_mail_from(c->session, from);
	session_set_auth(c->session, m->symval(m->ctx, "{auth_authen}"));
	return STEP_CONTINUE;
}

/* steps_header - one header field, fed to DKIM */
enum step_rc
steps_header(struct step_conn *c, const char *name, const char *value)
{
	struct buf spaced;

	if (c->session == NULL)
		return STEP_CONTINUE;
	if (c->leading_space) {
		session_header(c->session, name, value);
		return STEP_CONTINUE;
	}
	/* Without HDR_LEADSPC the MTA dropped the usual single space. */
	buf_init(&spaced);
	buf_addc(&spaced, ' ');
	buf_adds(&spaced, value);
	session_header(c->session, name, spaced.data);
	buf_free(&spaced);
	return STEP_CONTINUE;
}

/* steps_eoh - end of headers: DKIM keys are fetched (DNS-bound) */
enum step_rc
steps_eoh(struct step_conn *c)
{
	if (c->session)
		session_eoh(c->session);
	return STEP_CONTINUE;
}

/* steps_body - a body chunk; skip the rest once no check needs it */
enum step_rc
steps_body(struct step_conn *c, const void *data, size_t len)
{
	if (c->session == NULL)
		return STEP_CONTINUE;
	session_body(c->session, data, len);
	if (!session_wants_body(c->session))
		return STEP_SKIP;
	return STEP_CONTINUE;
}

/* reply_escape - '%' in reply text is a format character to the MTA's reply code */
static char *
reply_escape(const char *text)
{
	struct buf b;

	buf_init(&b);
	for (; *text; text++) {
		if (*text == '%')
			buf_addc(&b, '%');
		buf_addc(&b, *text);
	}
	return buf_steal(&b);
}

/* delete_forged - remove the forged Authentication-Results fields; false if one stays */
static bool
delete_forged(const struct mta *m, const struct verdict *v)
{
	/* Highest index first, so earlier deletions do not renumber later ones. */
	for (size_t i = v->n_delete; i > 0; i--)
		if (!m->chgheader(m->ctx, "Authentication-Results", (int)v->delete_ar[i - 1], NULL))
			return false;
	return true;
}

/* insert_field - one field at the top of the message, folded */
static bool
insert_field(const struct mta *m, const struct step_conn *c, const char *name,
	     const char *unfolded)
{
	char *folded = authres_fold(name, unfolded);
	struct buf value;
	bool ok;

	buf_init(&value);
	/* With HDR_LEADSPC the MTA writes our value verbatim, so we add the space. */
	if (c->leading_space)
		buf_addc(&value, ' ');
	buf_adds(&value, folded);
	ok = m->insheader(m->ctx, 0, name, value.data);
	buf_free(&value);
	free(folded);
	return ok;
}

/* insert_authres - our header first, then the verdict's other fields, each on top */
static bool
insert_authres(const struct mta *m, const struct step_conn *c, const struct verdict *v)
{
	if (!insert_field(m, c, "Authentication-Results", v->auth_results))
		return false;
	for (size_t i = 0; i < v->n_add_fields; i++)
		if (!insert_field(m, c, v->add_fields[i].name, v->add_fields[i].value))
			return false;
	return true;
}

/*
 * apply_verdict - the milter actions the verdict needs. When one of them
 * fails the message is temp-failed (the sender retries; nothing is delivered
 * without our header or with a forged one), and *failed names what failed.
 * A reject does not need the header changes: their failure is only logged.
 */
static enum step_rc
apply_verdict(const struct mta *m, const struct step_conn *c, const struct verdict *v,
	      const char **failed)
{
	bool delivered = v->action == ACTION_ACCEPT || v->action == ACTION_QUARANTINE;
	const char *hdr_failed = NULL;

	*failed = NULL;
	if (!delete_forged(m, v))
		hdr_failed = "deleting a forged Authentication-Results (smfi_chgheader)";
	else if (!insert_authres(m, c, v))
		hdr_failed = "adding Authentication-Results (smfi_insheader)";
	if (hdr_failed && delivered) {
		*failed = hdr_failed;
		return STEP_TEMPFAIL;
	}
	if (hdr_failed)
		log_warning("%s failed; the message is not delivered anyway", hdr_failed);
	if (v->action == ACTION_REJECT || v->action == ACTION_TEMPFAIL) {
		char *text = reply_escape(v->reply_text ? v->reply_text : "");
		bool ok = m->setreply(m->ctx, v->smtp_code, v->smtp_xcode, text);
		free(text);
		if (!ok) {
			*failed = "setting the SMTP reply (smfi_setreply)";
			return STEP_TEMPFAIL;
		}
		return v->action == ACTION_REJECT ? STEP_REJECT : STEP_TEMPFAIL;
	}
	if (v->action == ACTION_QUARANTINE
	    && !m->quarantine(m->ctx, v->reply_text ? v->reply_text : "authmilter policy")) {
		*failed = "quarantining (smfi_quarantine)";
		return STEP_TEMPFAIL;
	}
	return STEP_ACCEPT;
}

/* milter_failure - the failure action (tempfail) for a message we could not handle */
static enum step_rc
milter_failure(const struct mta *m)
{
	/* If even this fails the MTA sends its own 4xx for a milter tempfail. */
	(void)m->setreply(m->ctx, "451", "4.3.0",
			  "authmilter could not apply its verdict, try again later");
	return STEP_TEMPFAIL;
}

/* steps_eom - end of message: SPF, ARC and DMARC (DNS-bound), then the verdict applied */
enum step_rc
steps_eom(struct step_conn *c, const struct mta *m)
{
	struct verdict v;
	const char *failed;
	enum step_rc rc;

	if (c->session == NULL) {
		log_error("end of message without session state: temp-failing it");
		return milter_failure(m);
	}
	session_set_queue_id(c->session, m->symval(m->ctx, "i"));
	session_eom(c->session, &v);
	rc = apply_verdict(m, c, &v, &failed);
	/* Counted here, after the MTA was told: a failed action became a tempfail. */
	metrics_action((int)(failed ? ACTION_TEMPFAIL : v.action));
	if (failed) {
		/* The summary says what we decided; say that it did not happen. */
		log_error("%s; NOT APPLIED: %s failed, action=tempfail instead", v.summary, failed);
		rc = milter_failure(m);
	} else if (v.action == ACTION_ACCEPT) {
		log_info("%s", v.summary);
	} else {
		log_warning("%s", v.summary);
	}
	verdict_free(&v);
	message_end(c);
	return rc;
}

/* steps_abort - the message ends without a verdict; the connection stays */
void
steps_abort(struct step_conn *c)
{
	if (c->session)
		session_abort(c->session);
	message_end(c);
}
