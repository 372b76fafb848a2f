/*
 * callbacks - thin libmilter glue: fetch the connection with smfi_getpriv,
 * call the protocol-neutral decisions (steps.c), map them to an sfsistat.
 */
#include "callbacks.h"
#include "log.h"
#include "steps.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* callbacks_init, callbacks_stop, callbacks_in_flight - see steps.h */
void
callbacks_init(struct runtime_slot *slot)
{
	steps_init(slot);
}

void
callbacks_stop(void)
{
	steps_stop();
}

int
callbacks_in_flight(void)
{
	return steps_in_flight();
}

/* the MTA through libmilter's calls */
static const char *
lm_symval(void *ctx, const char *name)
{
	return smfi_getsymval(ctx, (char *)name);
}

static bool
lm_setreply(void *ctx, const char *code, const char *xcode, const char *text)
{
	return smfi_setreply(ctx, (char *)code, (char *)xcode, (char *)text) == MI_SUCCESS;
}

static bool
lm_chgheader(void *ctx, const char *name, int index, const char *value)
{
	return smfi_chgheader(ctx, (char *)name, index, (char *)value) == MI_SUCCESS;
}

static bool
lm_insheader(void *ctx, int index, const char *name, const char *value)
{
	return smfi_insheader(ctx, index, (char *)name, (char *)value) == MI_SUCCESS;
}

static bool
lm_quarantine(void *ctx, const char *reason)
{
	return smfi_quarantine(ctx, (char *)reason) == MI_SUCCESS;
}

/* mta_of - the struct mta for one callback */
static struct mta
mta_of(SMFICTX *ctx)
{
	struct mta m = { ctx, lm_symval, lm_setreply, lm_chgheader, lm_insheader, lm_quarantine };

	return m;
}

/* sfsi - a decision as libmilter's return value */
static sfsistat
sfsi(enum step_rc rc)
{
	switch (rc) {
	case STEP_NOREPLY: return SMFIS_NOREPLY;
	case STEP_ACCEPT: return SMFIS_ACCEPT;
	case STEP_REJECT: return SMFIS_REJECT;
	case STEP_TEMPFAIL: return SMFIS_TEMPFAIL;
	case STEP_SKIP: return SMFIS_SKIP;
	case STEP_CONTINUE: break;
	}
	return SMFIS_CONTINUE;
}

static struct step_conn *
get_conn(SMFICTX *ctx)
{
	struct step_conn *c = smfi_getpriv(ctx);

	if (c == NULL) {
		c = steps_conn_new();
		if (smfi_setpriv(ctx, c) != MI_SUCCESS) {
			steps_conn_free(c);
			return NULL;
		}
	}
	return c;
}

/* mlfi_negotiate - the actions, steps, replies and macros we ask the MTA for */
static sfsistat
mlfi_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
	       unsigned long f3, unsigned long *pf0, unsigned long *pf1, unsigned long *pf2,
	       unsigned long *pf3)
{
	(void)f2, (void)f3;
	steps_negotiate(get_conn(ctx), f0, f1, pf0, pf1);
	*pf2 = 0;
	*pf3 = 0;
	if (*pf0 & SMFIF_SETSYMLIST)
		for (int i = SMFIM_FIRST; i <= SMFIM_LAST; i++)
			(void)smfi_setsymlist(ctx, i, (char *)steps_macro_lists[i]);
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
	struct step_conn *c = get_conn(ctx);
	struct mta m = mta_of(ctx);

	if (c == NULL) {
		log_error("cannot attach session state (smfi_setpriv): temp-failing the connection");
		return SMFIS_TEMPFAIL;
	}
	addr_text(hostaddr, ip, sizeof(ip));
	return sfsi(steps_connect(c, &m, hostname, ip[0] ? ip : NULL));
}

static sfsistat
mlfi_helo(SMFICTX *ctx, char *helo)
{
	struct step_conn *c = smfi_getpriv(ctx);

	return c ? sfsi(steps_helo(c, helo)) : SMFIS_CONTINUE;
}

static sfsistat
mlfi_envfrom(SMFICTX *ctx, char **argv)
{
	struct step_conn *c = smfi_getpriv(ctx);
	struct mta m = mta_of(ctx);

	if (c == NULL) {
		log_error("MAIL FROM without session state: temp-failing it");
		return SMFIS_TEMPFAIL;
	}
	return sfsi(steps_mail(c, &m, argv[0]));
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
	struct step_conn *c = smfi_getpriv(ctx);

	return c ? sfsi(steps_header(c, name, value)) : SMFIS_CONTINUE;
}

static sfsistat
mlfi_eoh(SMFICTX *ctx)
{
	struct step_conn *c = smfi_getpriv(ctx);

	return c ? sfsi(steps_eoh(c)) : SMFIS_CONTINUE;
}

static sfsistat
mlfi_body(SMFICTX *ctx, unsigned char *data, size_t len)
{
	struct step_conn *c = smfi_getpriv(ctx);

	return c ? sfsi(steps_body(c, data, len)) : SMFIS_CONTINUE;
}

static sfsistat
mlfi_eom(SMFICTX *ctx)
{
	struct step_conn *c = smfi_getpriv(ctx);
	struct mta m = mta_of(ctx);

	if (c == NULL) {
		log_error("end of message without session state: temp-failing it");
		(void)lm_setreply(ctx, "451", "4.3.0",
				  "authmilter could not apply its verdict, try again later");
		return SMFIS_TEMPFAIL;
	}
	return sfsi(steps_eom(c, &m));
}

static sfsistat
mlfi_abort(SMFICTX *ctx)
{
	struct step_conn *c = smfi_getpriv(ctx);

	if (c)
		steps_abort(c);
	return SMFIS_CONTINUE;
}

static sfsistat
mlfi_close(SMFICTX *ctx)
{
	steps_conn_free(smfi_getpriv(ctx));
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
