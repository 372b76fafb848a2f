/*
 * callbacks - thin: fetch the session with smfi_getpriv, call lib/, map
 * the result to an sfsistat. eom applies the verdict; it computes nothing.
 */
#include "callbacks.h"
#include "log.h"
#include "../lib/authres.h"
#include "../lib/session.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static struct runtime_slot *milter_slot;

/* conn - what the milter layer knows of a connection besides the session */
struct conn {
	struct session *session;
	bool leading_space;	/* SMFIP_HDR_LEADSPC: header values arrive untouched */
	bool can_skip;		/* SMFIP_SKIP: the MTA accepts SMFIS_SKIP from body */
};

/* callbacks_init - the shared, read-only state every connection uses */
void
callbacks_init(struct runtime_slot *slot)
{
	milter_slot = slot;
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

static struct session *
get_session(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);

	return c ? c->session : NULL;
}

static sfsistat
mlfi_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
	       unsigned long f3, unsigned long *pf0, unsigned long *pf1, unsigned long *pf2,
	       unsigned long *pf3)
{
	const unsigned long actions = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE;
	/*
	 * DKIM wants header bytes as sent. RCPT and DATA are *not* skipped
	 * although no check needs them: Postfix still sends their macros,
	 * which get no reply, so its next packet waits on Nagle for our
	 * delayed ACK - 40 ms per message, measured with tests/bench. A
	 * CONTINUE reply to each costs a round trip of microseconds.
	 */
	const unsigned long steps = SMFIP_NOUNKNOWN | SMFIP_HDR_LEADSPC | SMFIP_SKIP;
	struct conn *c = get_conn(ctx);

	(void)f2, (void)f3;
	*pf0 = f0 & actions;
	*pf1 = f1 & steps;
	*pf2 = 0;
	*pf3 = 0;
	if (c) {
		c->leading_space = (*pf1 & SMFIP_HDR_LEADSPC) != 0;
		c->can_skip = (*pf1 & SMFIP_SKIP) != 0;
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
		log_error("cannot attach session state; accepting unchecked");
		return SMFIS_ACCEPT;
	}
	if (c->session == NULL)
		c->session = session_new(milter_slot);
	addr_text(hostaddr, ip, sizeof(ip));
	session_connect(c->session, ip[0] ? ip : NULL, hostname);
	log_debug("connect from %s [%s]", hostname ? hostname : "unknown", ip);
	return SMFIS_CONTINUE;
}

static sfsistat
mlfi_helo(SMFICTX *ctx, char *helo)
{
	struct session *s = get_session(ctx);

	if (s)
		session_helo(s, helo);
	return SMFIS_CONTINUE;
}

static sfsistat
mlfi_envfrom(SMFICTX *ctx, char **argv)
{
	struct session *s = get_session(ctx);

	if (s == NULL)
		return SMFIS_ACCEPT;
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
		return SMFIS_CONTINUE;
	if (c->leading_space) {
		session_header(c->session, name, value);
		return SMFIS_CONTINUE;
	}
	/* Without HDR_LEADSPC the MTA dropped the usual single space. */
	buf_init(&spaced);
	buf_addc(&spaced, ' ');
	buf_adds(&spaced, value);
	session_header(c->session, name, spaced.data);
	buf_free(&spaced);
	return SMFIS_CONTINUE;
}

static sfsistat
mlfi_eoh(SMFICTX *ctx)
{
	struct session *s = get_session(ctx);

	if (s)
		session_eoh(s);
	return SMFIS_CONTINUE;
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

static sfsistat
apply_verdict(SMFICTX *ctx, const struct conn *c, const struct verdict *v)
{
	/* Highest index first, so earlier deletions do not renumber later ones. */
	for (size_t i = v->n_delete; i > 0; i--)
		if (smfi_chgheader(ctx, "Authentication-Results", (int)v->delete_ar[i - 1], NULL)
		    != MI_SUCCESS)
			log_warning("cannot delete forged Authentication-Results #%zu",
				    v->delete_ar[i - 1]);
	char *folded = authres_fold("Authentication-Results", v->auth_results);
	struct buf value;
	buf_init(&value);
	/* With HDR_LEADSPC the MTA writes our value verbatim, so we add the space. */
	if (c->leading_space)
		buf_addc(&value, ' ');
	buf_adds(&value, folded);
	if (smfi_insheader(ctx, 0, "Authentication-Results", value.data) != MI_SUCCESS)
		log_warning("cannot add Authentication-Results");
	buf_free(&value);
	free(folded);
	if (v->action == ACTION_REJECT || v->action == ACTION_TEMPFAIL) {
		char *text = reply_escape(v->reply_text ? v->reply_text : "");
		smfi_setreply(ctx, (char *)v->smtp_code, (char *)v->smtp_xcode, text);
		free(text);
		return v->action == ACTION_REJECT ? SMFIS_REJECT : SMFIS_TEMPFAIL;
	}
	if (v->action == ACTION_QUARANTINE)
		smfi_quarantine(ctx, v->reply_text ? v->reply_text : "authmilter policy");
	return SMFIS_ACCEPT;
}

static sfsistat
mlfi_eom(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);
	struct verdict v;
	sfsistat rc;

	if (c == NULL || c->session == NULL)
		return SMFIS_ACCEPT;
	session_set_queue_id(c->session, smfi_getsymval(ctx, "i"));
	session_eom(c->session, &v);
	rc = apply_verdict(ctx, c, &v);
	if (v.action == ACTION_ACCEPT)
		log_info("%s", v.summary);
	else
		log_warning("%s", v.summary);
	verdict_free(&v);
	return rc;
}

static sfsistat
mlfi_abort(SMFICTX *ctx)
{
	struct session *s = get_session(ctx);

	if (s)
		session_abort(s);
	return SMFIS_CONTINUE;
}

static sfsistat
mlfi_close(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);

	if (c) {
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
