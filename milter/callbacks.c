/*
 * callbacks - thin: fetch the session with smfi_getpriv, call lib/, map
 * the result to an sfsistat. eom applies the verdict; it computes nothing.
 */
#include "callbacks.h"
#include "log.h"
#include "../lib/authres.h"
#include "../lib/session.h"
#include "../lib/metrics.h"

#include <arpa/inet.h>
#include <stdatomic.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static struct runtime_slot *milter_slot;
static atomic_int messages_in_flight;	/* MAIL FROM seen, verdict not yet given */
static atomic_bool stopping;

/* conn - what the milter layer knows of a connection besides the session */
struct conn {
	struct session *session;
	bool leading_space;	/* SMFIP_HDR_LEADSPC: header values arrive untouched */
	bool can_skip;		/* SMFIP_SKIP: the MTA accepts SMFIS_SKIP from body */
	unsigned long noreply;	/* SMFIP_NR_* taken: those steps must return SMFIS_NOREPLY */
	bool in_message;	/* counted in messages_in_flight */
};

/* callbacks_init - the shared, read-only state every connection uses */
void
callbacks_init(struct runtime_slot *slot)
{
	milter_slot = slot;
}

/* callbacks_stop - from the signal loop on SIGTERM */
void
callbacks_stop(void)
{
	atomic_store(&stopping, true);
}

/* callbacks_in_flight - messages the daemon waits for before it exits */
int
callbacks_in_flight(void)
{
	return atomic_load(&messages_in_flight);
}

/* message_begin, message_end - keep the count of messages in flight */
static void
message_begin(struct conn *c)
{
	if (!c->in_message)
		atomic_fetch_add(&messages_in_flight, 1);
	c->in_message = true;
}

static void
message_end(struct conn *c)
{
	if (c->in_message)
		atomic_fetch_sub(&messages_in_flight, 1);
	c->in_message = false;
}

/* shutting_down - no new message once SIGTERM came: the sender retries later */
static sfsistat
shutting_down(SMFICTX *ctx)
{
	(void)smfi_setreply(ctx, "451", "4.3.2", "authmilter is shutting down, try again later");
	return SMFIS_TEMPFAIL;
}

static struct conn *
get_conn(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);

	if (c == NULL) {
		c = xcalloc(1, sizeof(*c));
		if (smfi_setpriv(ctx, c) != MI_SUCCESS) {
			free(c);
			return NULL;
		}
	}
	return c;
}

/*
 * Steps whose reply could never change the verdict: connect and HELO only
 * record, headers and end of headers only feed DKIM. MAIL keeps its reply
 * (shutdown temp-fails there), and so do RCPT and DATA although no check
 * needs them: they are the last packets Postfix's smtpd writes before its
 * cleanup process takes the socket over, and an unanswered one waits for
 * our delayed ACK while Nagle holds cleanup's next write - 40 ms per
 * message, measured with tests/bench. Body keeps its reply for SKIP.
 * libmilter offers every NR_* flag (it fakes the reply for an MTA without
 * them), so what we take here is what the callbacks must honour.
 */
#define NOREPLY_STEPS (SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_HDR | SMFIP_NR_EOH)

/* no_reply - SMFIS_NOREPLY where that step's reply was negotiated away */
static sfsistat
no_reply(const struct conn *c, unsigned long step)
{
	return c && (c->noreply & step) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

/* ask_macros - only the macros a check reads; an empty list asks for none */
static void
ask_macros(SMFICTX *ctx)
{
	(void)smfi_setsymlist(ctx, SMFIM_CONNECT, "");
	(void)smfi_setsymlist(ctx, SMFIM_HELO, "");
	(void)smfi_setsymlist(ctx, SMFIM_ENVFROM, "{auth_authen}");
	(void)smfi_setsymlist(ctx, SMFIM_ENVRCPT, "");
	(void)smfi_setsymlist(ctx, SMFIM_DATA, "");
	(void)smfi_setsymlist(ctx, SMFIM_EOH, "");
	(void)smfi_setsymlist(ctx, SMFIM_EOM, "i");
}

/* mlfi_negotiate - the actions, steps, replies and macros we ask the MTA for */
static sfsistat
mlfi_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
	       unsigned long f3, unsigned long *pf0, unsigned long *pf1, unsigned long *pf2,
	       unsigned long *pf3)
{
	const unsigned long actions = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE
				      | SMFIF_SETSYMLIST;
	/* DKIM wants header bytes as sent; we have no use for unknown commands. */
	unsigned long steps = SMFIP_NOUNKNOWN | SMFIP_HDR_LEADSPC | SMFIP_SKIP;
	struct conn *c = get_conn(ctx);

	(void)f2, (void)f3;
	/* Without somewhere to remember them, take no NR_* flag: every step replies. */
	if (c)
		steps |= NOREPLY_STEPS;
	*pf0 = f0 & actions;
	*pf1 = f1 & steps;
	*pf2 = 0;
	*pf3 = 0;
	if (*pf0 & SMFIF_SETSYMLIST)
		ask_macros(ctx);
	if (c) {
		c->leading_space = (*pf1 & SMFIP_HDR_LEADSPC) != 0;
		c->can_skip = (*pf1 & SMFIP_SKIP) != 0;
		c->noreply = *pf1 & NOREPLY_STEPS;
	}
	return SMFIS_CONTINUE;
}

static void
addr_text(const struct sockaddr *sa, char *out, size_t size)
{
	out[0] = '\0';
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)size);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out,
			  (socklen_t)size);
}

static sfsistat
mlfi_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *hostaddr)
{
	char ip[INET6_ADDRSTRLEN] = "";
	struct conn *c = get_conn(ctx);

	if (c == NULL) {
		log_error("cannot attach session state (smfi_setpriv): temp-failing the connection");
		return SMFIS_TEMPFAIL;
	}
	/* Without a reply to connect, MAIL FROM temp-fails instead. */
	if (atomic_load(&stopping))
		return c->noreply & SMFIP_NR_CONN ? SMFIS_NOREPLY : shutting_down(ctx);
	if (c->session == NULL)
		c->session = session_new(milter_slot);
	addr_text(hostaddr, ip, sizeof(ip));
	session_connect(c->session, ip[0] ? ip : NULL, hostname);
	log_debug("connect from %s [%s]", hostname ? hostname : "unknown", ip);
	return no_reply(c, SMFIP_NR_CONN);
}

static sfsistat
mlfi_helo(SMFICTX *ctx, char *helo)
{
	struct conn *c = smfi_getpriv(ctx);

	if (c && c->session)
		session_helo(c->session, helo);
	return no_reply(c, SMFIP_NR_HELO);
}

static sfsistat
mlfi_envfrom(SMFICTX *ctx, char **argv)
{
	struct conn *c = smfi_getpriv(ctx);
	struct session *s = c ? c->session : NULL;

	if (atomic_load(&stopping))
		return shutting_down(ctx);
	if (s == NULL) {
		log_error("MAIL FROM without session state: temp-failing it");
		return SMFIS_TEMPFAIL;
	}
	message_begin(c);
	session_mail_from(s, argv[0]);
	session_set_auth(s, smfi_getsymval(ctx, "{auth_authen}"));
	return SMFIS_CONTINUE;
}

static sfsistat
mlfi_envrcpt(SMFICTX *ctx, char **argv)
{
	(void)ctx, (void)argv;
	return SMFIS_CONTINUE;
}

static sfsistat
mlfi_data(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

static sfsistat
mlfi_header(SMFICTX *ctx, char *name, char *value)
{
	struct conn *c = smfi_getpriv(ctx);
	struct buf spaced;

	if (c == NULL || c->session == NULL)
		return no_reply(c, SMFIP_NR_HDR);
	if (c->leading_space) {
		session_header(c->session, name, value);
		return no_reply(c, SMFIP_NR_HDR);
	}
	/* Without HDR_LEADSPC the MTA dropped the usual single space. */
	buf_init(&spaced);
	buf_addc(&spaced, ' ');
	buf_adds(&spaced, value);
	session_header(c->session, name, spaced.data);
	buf_free(&spaced);
	return no_reply(c, SMFIP_NR_HDR);
}

static sfsistat
mlfi_eoh(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);

	if (c && c->session)
		session_eoh(c->session);
	return no_reply(c, SMFIP_NR_EOH);
}

static sfsistat
mlfi_body(SMFICTX *ctx, unsigned char *data, size_t len)
{
	struct conn *c = smfi_getpriv(ctx);

	if (c == NULL || c->session == NULL)
		return SMFIS_CONTINUE;
	session_body(c->session, data, len);
	if (c->can_skip && !session_wants_body(c->session))
		return SMFIS_SKIP;
	return SMFIS_CONTINUE;
}

/* reply_escape - libmilter treats '%' in reply text as a format character */
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
delete_forged(SMFICTX *ctx, const struct verdict *v)
{
	/* Highest index first, so earlier deletions do not renumber later ones. */
	for (size_t i = v->n_delete; i > 0; i--)
		if (smfi_chgheader(ctx, "Authentication-Results", (int)v->delete_ar[i - 1], NULL)
		    != MI_SUCCESS)
			return false;
	return true;
}

/* insert_field - one field at the top of the message, folded */
static bool
insert_field(SMFICTX *ctx, const struct conn *c, const char *name, const char *unfolded)
{
	char *folded = authres_fold(name, unfolded);
	struct buf value;
	int rc;

	buf_init(&value);
	/* With HDR_LEADSPC the MTA writes our value verbatim, so we add the space. */
	if (c->leading_space)
		buf_addc(&value, ' ');
	buf_adds(&value, folded);
	rc = smfi_insheader(ctx, 0, (char *)name, value.data);
	buf_free(&value);
	free(folded);
	return rc == MI_SUCCESS;
}

/* insert_authres - our header first, then the verdict's other fields, each on top */
static bool
insert_authres(SMFICTX *ctx, const struct conn *c, const struct verdict *v)
{
	if (!insert_field(ctx, c, "Authentication-Results", v->auth_results))
		return false;
	for (size_t i = 0; i < v->n_add_fields; i++)
		if (!insert_field(ctx, c, v->add_fields[i].name, v->add_fields[i].value))
			return false;
	return true;
}

/*
 * apply_verdict - the milter actions the verdict needs. When one of them
 * fails the message is temp-failed (the sender retries; nothing is delivered
 * without our header or with a forged one), and *failed names what failed.
 * A reject does not need the header changes: their failure is only logged.
 */
static sfsistat
apply_verdict(SMFICTX *ctx, const struct conn *c, const struct verdict *v, const char **failed)
{
	bool delivered = v->action == ACTION_ACCEPT || v->action == ACTION_QUARANTINE;
	const char *hdr_failed = NULL;

	*failed = NULL;
	if (!delete_forged(ctx, v))
		hdr_failed = "deleting a forged Authentication-Results (smfi_chgheader)";
	else if (!insert_authres(ctx, c, v))
		hdr_failed = "adding Authentication-Results (smfi_insheader)";
	if (hdr_failed && delivered) {
		*failed = hdr_failed;
		return SMFIS_TEMPFAIL;
	}
	if (hdr_failed)
		log_warning("%s failed; the message is not delivered anyway", hdr_failed);
	if (v->action == ACTION_REJECT || v->action == ACTION_TEMPFAIL) {
		char *text = reply_escape(v->reply_text ? v->reply_text : "");
		int rc = smfi_setreply(ctx, (char *)v->smtp_code, (char *)v->smtp_xcode, text);
		free(text);
		if (rc != MI_SUCCESS) {
			*failed = "setting the SMTP reply (smfi_setreply)";
			return SMFIS_TEMPFAIL;
		}
		return v->action == ACTION_REJECT ? SMFIS_REJECT : SMFIS_TEMPFAIL;
	}
	if (v->action == ACTION_QUARANTINE
	    && smfi_quarantine(ctx, v->reply_text ? v->reply_text : "authmilter policy")
	       != MI_SUCCESS) {
		*failed = "quarantining (smfi_quarantine)";
		return SMFIS_TEMPFAIL;
	}
	return SMFIS_ACCEPT;
}

/* milter_failure - the failure action (tempfail) for a message we could not handle */
static sfsistat
milter_failure(SMFICTX *ctx)
{
	/* If even this fails the MTA sends its own 4xx for a milter tempfail. */
	(void)smfi_setreply(ctx, "451", "4.3.0", "authmilter could not apply its verdict, try again later");
	return SMFIS_TEMPFAIL;
}

static sfsistat
mlfi_eom(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);
	struct verdict v;
	const char *failed;
	sfsistat rc;

	if (c == NULL || c->session == NULL) {
		log_error("end of message without session state: temp-failing it");
		return milter_failure(ctx);
	}
	session_set_queue_id(c->session, smfi_getsymval(ctx, "i"));
	session_eom(c->session, &v);
	rc = apply_verdict(ctx, c, &v, &failed);
	/* Counted here, after the MTA was told: a failed action became a tempfail. */
	metrics_action((int)(failed ? ACTION_TEMPFAIL : v.action));
	if (failed) {
		/* The summary says what we decided; say that it did not happen. */
		log_error("%s; NOT APPLIED: %s failed, action=tempfail instead", v.summary, failed);
		rc = milter_failure(ctx);
	} else if (v.action == ACTION_ACCEPT) {
		log_info("%s", v.summary);
	} else {
		log_warning("%s", v.summary);
	}
	verdict_free(&v);
	message_end(c);
	return rc;
}

static sfsistat
mlfi_abort(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);

	if (c && c->session)
		session_abort(c->session);
	if (c)
		message_end(c);
	return SMFIS_CONTINUE;
}

static sfsistat
mlfi_close(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);

	if (c) {
		message_end(c);
		session_free(c->session);
		free(c);
	}
	smfi_setpriv(ctx, NULL);
	return SMFIS_CONTINUE;
}

struct smfiDesc callbacks_desc = {
	.xxfi_name = "authmilter",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE,
	.xxfi_connect = mlfi_connect,
	.xxfi_helo = mlfi_helo,
	.xxfi_envfrom = mlfi_envfrom,
	.xxfi_envrcpt = mlfi_envrcpt,
	.xxfi_header = mlfi_header,
	.xxfi_eoh = mlfi_eoh,
	.xxfi_body = mlfi_body,
	.xxfi_eom = mlfi_eom,
	.xxfi_abort = mlfi_abort,
	.xxfi_close = mlfi_close,
	.xxfi_unknown = NULL,
	.xxfi_data = mlfi_data,
	.xxfi_negotiate = mlfi_negotiate,
};
