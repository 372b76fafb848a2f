/*
 * proto_conn - decode packets, run their steps in order, queue the replies
 * the negotiation allows. Anything malformed or out of place closes the
 * connection: the MTA then applies its own milter failure policy.
 */
#include "proto_conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* pconn_init - a fresh connection, before its negotiation */
void
pconn_init(struct pconn *c, const struct pconn_ops *ops, struct step_conn *u)
{
	memset(c, 0, sizeof(*c));
	c->ops = ops;
	c->u = u;
	buf_init(&c->in);
	buf_init(&c->out);
}

/* set_str - replace an owned string */
static void
set_str(char **slot, const char *value)
{
	free(*slot);
	*slot = value ? xstrdup(value) : NULL;
}

/* forget_macros - the macros of stage `from` and of every stage after it */
static void
forget_macros(struct pconn *c, int from)
{
	for (int i = from; i < PROTO_STAGES; i++)
		buf_free(&c->macros[i]);
}

/* pconn_free - everything the connection owns; its step state is the caller's */
void
pconn_free(struct pconn *c)
{
	buf_free(&c->in);
	buf_free(&c->out);
	forget_macros(c, SMFIM_CONNECT);
	set_str(&c->reply, NULL);
}

/* the largest packet, and the NUL a buf keeps after it */
#define PCONN_PACKET (MILTER_LEN_BYTES + 1 + PROTO_MAX_DATA + 1)

/*
 * pconn_in - bytes read from the MTA. The buffer holds only what is not yet
 * decoded (pconn_run lets it go once that is nothing, so an idle connection
 * holds none). It grows to fit, doubling up to one whole packet: a packet
 * that arrives a few bytes at a time is not copied again at every read.
 */
void
pconn_in(struct pconn *c, const void *data, size_t len)
{
	struct buf *in = &c->in;
	size_t need = in->len + len + 1;

	if (need > in->cap) {
		size_t cap = in->cap < PCONN_PACKET / 2 ? in->cap * 2 : PCONN_PACKET;
		in->cap = need > cap ? need : cap;
		in->data = xrealloc(in->data, in->cap);
	}
	buf_add(in, data, len);
}

/* bare - a macro name without its braces: "{i}" and "i" name one macro */
static size_t
bare(const char *name, const char **s)
{
	size_t n = strlen(name);

	if (n >= 2 && name[0] == '{' && name[n - 1] == '}') {
		*s = name + 1;
		return n - 2;
	}
	*s = name;
	return n;
}

/* the MTA as the steps see it: macros, and the actions valid at end of message */
static const char *
pc_symval(void *ctx, const char *name)
{
	/* the stages in the order they come, latest first: the newest value wins */
	static const int latest[PROTO_STAGES] = {
		SMFIM_EOM, SMFIM_EOH, SMFIM_DATA, SMFIM_ENVRCPT, SMFIM_ENVFROM, SMFIM_HELO,
		SMFIM_CONNECT,
	};
	struct pconn *c = ctx;
	const char *want, *have;
	size_t wn = bare(name, &want);

	for (int i = 0; i < PROTO_STAGES; i++) {
		const struct buf *m = &c->macros[latest[i]];
		/* pairs of NUL-terminated strings, as macros() checked them */
		for (const char *n = m->data; n && n < m->data + m->len;) {
			const char *v = n + strlen(n) + 1;
			if (bare(n, &have) == wn && memcmp(have, want, wn) == 0)
				return v;
			n = v + strlen(v) + 1;
		}
	}
	return NULL;
}

static bool
pc_setreply(void *ctx, const char *code, const char *xcode, const char *text)
{
	struct pconn *c = ctx;
	struct buf b;

	/* as smfi_setreply: a 4xx or 5xx code of three digits, one line */
	if (strlen(code) != 3 || (code[0] != '4' && code[0] != '5') || strpbrk(text, "\r\n"))
		return false;
	buf_init(&b);
	buf_adds(&b, code);
	if (xcode && *xcode) {
		buf_addc(&b, ' ');
		buf_adds(&b, xcode);
	}
	buf_addc(&b, ' ');
	buf_adds(&b, text);
	free(c->reply);
	c->reply = buf_steal(&b);
	return true;
}

static bool
pc_chgheader(void *ctx, const char *name, int index, const char *value)
{
	struct pconn *c = ctx;

	if (!c->in_eom || !(c->actions & SMFIF_CHGHDRS) || index < 0)
		return false;
	proto_put_header(&c->out, SMFIR_CHGHEADER, (uint32_t)index, name, value ? value : "");
	return true;
}

static bool
pc_insheader(void *ctx, int index, const char *name, const char *value)
{
	struct pconn *c = ctx;

	if (!c->in_eom || !(c->actions & SMFIF_ADDHDRS) || index < 0)
		return false;
	proto_put_header(&c->out, SMFIR_INSHEADER, (uint32_t)index, name, value);
	return true;
}

static bool
pc_quarantine(void *ctx, const char *reason)
{
	struct pconn *c = ctx;

	if (!c->in_eom || !(c->actions & SMFIF_QUARANTINE) || *reason == '\0')
		return false;
	proto_put_string(&c->out, SMFIR_QUARANTINE, reason);
	return true;
}

/* mta_of - the struct mta over this connection */
static struct mta
mta_of(struct pconn *c)
{
	struct mta m = { c, pc_symval, pc_setreply, pc_chgheader, pc_insheader, pc_quarantine };

	return m;
}

/* noreply_flag - the SMFIP_NR_* flag of a command, 0 if it has none */
static unsigned long
noreply_flag(char cmd)
{
	switch (cmd) {
	case SMFIC_CONNECT: return SMFIP_NR_CONN;
	case SMFIC_HELO: return SMFIP_NR_HELO;
	case SMFIC_MAIL: return SMFIP_NR_MAIL;
	case SMFIC_RCPT: return SMFIP_NR_RCPT;
	case SMFIC_DATA: return SMFIP_NR_DATA;
	case SMFIC_UNKNOWN: return SMFIP_NR_UNKN;
	case SMFIC_EOH: return SMFIP_NR_EOH;
	case SMFIC_HEADER: return SMFIP_NR_HDR;
	case SMFIC_BODY: return SMFIP_NR_BODY;
	}
	return 0;
}

/*
 * reply - the answer to cmd, unless the MTA was told not to expect one. A
 * reject or tempfail carries the reply text set for it when its code class
 * matches, as libmilter sends it.
 */
static void
reply(struct pconn *c, char cmd, enum step_rc rc)
{
	char r = SMFIR_CONTINUE;

	if (c->protocol & noreply_flag(cmd))
		goto done;
	switch (rc) {
	case STEP_ACCEPT: r = SMFIR_ACCEPT; break;
	case STEP_REJECT: r = SMFIR_REJECT; break;
	case STEP_TEMPFAIL: r = SMFIR_TEMPFAIL; break;
	case STEP_SKIP: r = c->protocol & SMFIP_SKIP ? SMFIR_SKIP : SMFIR_CONTINUE; break;
	default: break;
	}
	if (c->reply && ((r == SMFIR_REJECT && c->reply[0] == '5')
			 || (r == SMFIR_TEMPFAIL && c->reply[0] == '4')))
		proto_put_string(&c->out, SMFIR_REPLYCODE, c->reply);
	else
		proto_put(&c->out, r, NULL, 0);
done:
	set_str(&c->reply, NULL);
}

/* negotiate - OPTNEG: what we take of the MTA's offer, and our macro lists */
static bool
negotiate(struct pconn *c, const struct proto_packet *p)
{
	uint32_t version, actions, protocol;
	unsigned long our_actions, our_protocol;

	if (!proto_optneg(p, &version, &actions, &protocol) || version < 2)
		return false;
	c->ops->negotiate(c->u, actions, protocol, &our_actions, &our_protocol);
	c->actions = our_actions;
	c->protocol = our_protocol;
	c->negotiated = true;
	proto_put_optneg(&c->out, version < SMFI_PROT_VERSION ? version : SMFI_PROT_VERSION,
			 (uint32_t)our_actions, (uint32_t)our_protocol,
			 our_actions & SMFIF_SETSYMLIST ? c->ops->macro_lists : NULL);
	return true;
}

/* stage_of - the SMFIM_* stage a macro packet names by its command, -1 if none */
static int
stage_of(char cmd)
{
	switch (cmd) {
	case SMFIC_CONNECT: return SMFIM_CONNECT;
	case SMFIC_HELO: return SMFIM_HELO;
	case SMFIC_MAIL: return SMFIM_ENVFROM;
	case SMFIC_RCPT: return SMFIM_ENVRCPT;
	case SMFIC_DATA: return SMFIM_DATA;
	case SMFIC_EOH: return SMFIM_EOH;
	case SMFIC_BODYEOB: return SMFIM_EOM;
	}
	return -1;
}

/*
 * macros - SMFIC_MACRO: a stage command, then name/value pairs of
 * NUL-terminated strings, which replace that stage's earlier ones. A stage
 * we have no macros for is checked, then ignored.
 */
static bool
macros(struct pconn *c, const struct proto_packet *p)
{
	const char *d = p->data + 1, *end = p->data + p->len;
	size_t strings = 0;
	int stage;

	if (p->len < 1 || (end > d && end[-1] != '\0'))
		return false;
	for (const char *q = d; q < end; q++)
		strings += *q == '\0';
	if (strings % 2)
		return false;
	if ((stage = stage_of(p->data[0])) < 0)
		return true;
	buf_free(&c->macros[stage]);
	if (end > d)
		buf_add(&c->macros[stage], d, (size_t)(end - d));
	return true;
}

/* end_message - the message is over (verdict, abort or connection end) */
static void
end_message(struct pconn *c)
{
	c->in_message = false;
	forget_macros(c, SMFIM_ENVFROM);	/* ENVFROM and after: the message's stages */
}

/* connect - SMFIC_CONNECT; a second one (connection reuse) starts afresh */
static bool
connect_step(struct pconn *c, const struct proto_packet *p)
{
	const char *host, *addr;
	struct mta m = mta_of(c);

	if (!proto_connect(p, &host, &addr))
		return false;
	if (c->connected) {
		c->ops->reset(c->u);
		end_message(c);
		forget_macros(c, SMFIM_HELO);	/* CONNECT's came just now */
	}
	c->connected = true;
	reply(c, p->cmd, c->ops->connect(c->u, &m, host, addr));
	return true;
}

/* mail - SMFIC_MAIL: argv[0] is the reverse path */
static bool
mail_step(struct pconn *c, const struct proto_packet *p)
{
	const char *argv[PROTO_MAX_ARGS];
	struct mta m = mta_of(c);
	enum step_rc rc;

	if (proto_strings(p, argv, PROTO_MAX_ARGS) == 0)
		return false;
	if (c->in_message)
		c->ops->abort(c->u);
	rc = c->ops->mail(c->u, &m, argv[0]);
	c->in_message = rc == STEP_CONTINUE;
	reply(c, p->cmd, rc);
	return true;
}

/* header - SMFIC_HEADER: name and value */
static bool
header_step(struct pconn *c, const struct proto_packet *p)
{
	const char *argv[3];

	if (proto_strings(p, argv, 3) != 2)
		return false;
	reply(c, p->cmd, c->in_message ? c->ops->header(c->u, argv[0], argv[1]) : STEP_CONTINUE);
	return true;
}

/* eom - SMFIC_BODYEOB: a last chunk, then the verdict's actions and reply */
static void
eom_step(struct pconn *c, const struct proto_packet *p)
{
	struct mta m = mta_of(c);
	enum step_rc rc = STEP_TEMPFAIL;

	if (c->in_message) {
		if (p->len)
			(void)c->ops->body(c->u, p->data, p->len);
		c->in_eom = true;
		rc = c->ops->eom(c->u, &m);
		c->in_eom = false;
	}
	if (rc == STEP_CONTINUE || rc == STEP_SKIP)
		rc = STEP_ACCEPT;	/* end of message always answers */
	reply(c, p->cmd, rc);
	end_message(c);
}

/* blocking - may this command wait on DNS? End of headers (libopendkim
 * fetches the keys) and end of message (SPF, ARC, DMARC): lib/session */
static bool
blocking(char cmd)
{
	return cmd == SMFIC_EOH || cmd == SMFIC_BODYEOB;
}

/* dispatch - one packet; false: close the connection */
static bool
dispatch(struct pconn *c, const struct proto_packet *p)
{
	const char *argv[2];

	if (!c->negotiated)
		return p->cmd == SMFIC_OPTNEG && negotiate(c, p);
	if (p->cmd != SMFIC_CONNECT && p->cmd != SMFIC_MACRO && p->cmd != SMFIC_QUIT_NC
	    && p->cmd != SMFIC_ABORT && !c->connected)
		return false;
	switch (p->cmd) {
	case SMFIC_MACRO: return macros(c, p);
	case SMFIC_CONNECT: return connect_step(c, p);
	case SMFIC_HELO:
		if (proto_strings(p, argv, 2) != 1)
			return false;
		reply(c, p->cmd, c->ops->helo(c->u, argv[0]));
		return true;
	case SMFIC_MAIL: return mail_step(c, p);
	case SMFIC_RCPT: case SMFIC_DATA: case SMFIC_UNKNOWN:
		reply(c, p->cmd, STEP_CONTINUE);
		return true;
	case SMFIC_HEADER: return header_step(c, p);
	case SMFIC_EOH:
		reply(c, p->cmd, c->in_message ? c->ops->eoh(c->u) : STEP_CONTINUE);
		return true;
	case SMFIC_BODY:
		reply(c, p->cmd, c->in_message ? c->ops->body(c->u, p->data, p->len) : STEP_CONTINUE);
		return true;
	case SMFIC_BODYEOB: eom_step(c, p); return true;
	case SMFIC_ABORT:
		if (c->in_message)
			c->ops->abort(c->u);
		end_message(c);
		return true;
	case SMFIC_QUIT_NC:
		c->ops->reset(c->u);
		end_message(c);
		forget_macros(c, SMFIM_CONNECT);
		c->connected = false;
		return true;
	}
	return false;	/* a second OPTNEG, or no command we know */
}

/* bad - PCONN_CLOSE for a packet the MTA should not have sent, and why */
static enum pconn_state
bad(struct pconn *c, const struct proto_packet *p)
{
	unsigned char cmd = (unsigned char)p->cmd;

	snprintf(c->why, sizeof(c->why), "malformed or out-of-place command '%c' (0x%02x), %zu bytes",
		 cmd > ' ' && cmd < 0x7f ? cmd : '?', cmd, p->len);
	return PCONN_CLOSE;
}

/*
 * pconn_run - run every whole packet read so far. PCONN_INPUT: read more;
 * PCONN_PARK: the next packet may block, run again with may_block;
 * PCONN_CLOSE: quit, or a bad packet. c->out holds the replies either way.
 */
enum pconn_state
pconn_run(struct pconn *c, bool may_block)
{
	struct proto_packet p;
	size_t used;
	enum proto_status st;

	if (c->in.data == NULL)
		return PCONN_INPUT;
	while ((st = proto_next(c->in.data + c->in_off, c->in.len - c->in_off, &p, &used))
	       == PROTO_OK) {
		if (blocking(p.cmd) && !may_block && c->connected)
			return PCONN_PARK;
		c->in_off += used;
		if (p.cmd == SMFIC_QUIT)
			return PCONN_CLOSE;
		if (!dispatch(c, &p))
			return bad(c, &p);
	}
	if (st == PROTO_BAD) {
		snprintf(c->why, sizeof(c->why), "a packet length of %zu (0, or over %d)",
			 p.len, PROTO_MAX_DATA + 1);
		return PCONN_CLOSE;
	}
	/* keep only the partial packet, and no buffer when there is none */
	if (c->in_off == c->in.len) {
		buf_free(&c->in);
		c->in_off = 0;
	} else if (c->in_off) {
		memmove(c->in.data, c->in.data + c->in_off, c->in.len - c->in_off);
		c->in.len -= c->in_off;
		c->in.data[c->in.len] = '\0';
		c->in_off = 0;
	}
	return PCONN_INPUT;
}
