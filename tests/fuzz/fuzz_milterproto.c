/*
 * fuzz_milterproto - the milter packet codec (milter/proto.c) and the
 * connection state machine (milter/proto_conn.c) fed arbitrary bytes, with
 * stub steps whose answers and end-of-message actions come from the input.
 * Input: one byte of stub behaviour, one of read sizes, then the bytes the
 * "MTA" sends. Checks: every reply is a well-formed packet of a reply
 * command, nothing is buffered (or allocated) beyond one packet plus one
 * read, no buffer is kept once all is decoded, and no step runs after the
 * state machine said close.
 */
#include "../../milter/proto.c"
#include "../../milter/proto_conn.c"

#include <stdint.h>
#include <stdlib.h>

/* the stub steps' state, in place of steps.c's */
struct step_conn {
	unsigned seed;
	bool closed;
};

/* next - a cheap generator for stub answers */
static unsigned
next(struct step_conn *s)
{
	s->seed = s->seed * 1103515245u + 12345u;
	return s->seed >> 16;
}

static enum step_rc
answer(struct step_conn *s)
{
	if (s->closed)
		abort();
	return (enum step_rc)(next(s) % 5);
}

static void
st_negotiate(struct step_conn *u, unsigned long a, unsigned long p, unsigned long *ra, unsigned long *rp)
{
	(void)u;
	*ra = a & (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE | SMFIF_SETSYMLIST);
	*rp = p & (SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_SKIP
		   | SMFIP_HDR_LEADSPC | SMFIP_NOUNKNOWN);
}

static enum step_rc
st_connect(struct step_conn *u, const struct mta *m, const char *host, const char *ip)
{
	(void)m, (void)host, (void)ip;
	return answer(u);
}

static enum step_rc
st_helo(struct step_conn *u, const char *helo)
{
	(void)helo;
	return answer(u);
}

static enum step_rc
st_mail(struct step_conn *u, const struct mta *m, const char *from)
{
	(void)from;
	(void)m->symval(m->ctx, "{auth_authen}");
	if (next(u) % 3 == 0)
		(void)m->setreply(m->ctx, "451", "4.3.2", "shutting down");
	return answer(u);
}

static enum step_rc
st_header(struct step_conn *u, const char *name, const char *value)
{
	(void)name, (void)value;
	return answer(u);
}

static enum step_rc
st_eoh(struct step_conn *u)
{
	return answer(u);
}

static enum step_rc
st_body(struct step_conn *u, const void *data, size_t len)
{
	(void)data, (void)len;
	return answer(u);
}

static enum step_rc
st_eom(struct step_conn *u, const struct mta *m)
{
	unsigned r = next(u);

	(void)m->symval(m->ctx, "i");
	if (r & 1)
		(void)m->chgheader(m->ctx, "Authentication-Results", (int)(r % 4), NULL);
	if (r & 2)
		(void)m->insheader(m->ctx, 0, "Authentication-Results", " mx; spf=pass");
	if (r & 4)
		(void)m->setreply(m->ctx, r & 8 ? "550" : "451", "5.7.1", "100% rejected");
	if (r & 16)
		(void)m->quarantine(m->ctx, "policy");
	return answer(u);
}

static void
st_abort(struct step_conn *u)
{
	(void)answer(u);
}

static void
st_reset(struct step_conn *u)
{
	(void)answer(u);
}

static const char *const lists[PROTO_STAGES] = { "", "", "{auth_authen}", "", "", "i", "" };
static const struct pconn_ops stub_ops = {
	st_negotiate, st_connect, st_helo, st_mail, st_header, st_eoh, st_body, st_eom,
	st_abort, st_reset, lists,
};

/* check_out - every reply a whole packet with a reply command */
static void
check_out(const struct buf *out)
{
	struct proto_packet p;
	size_t off = 0, used;

	while (off < out->len) {
		if (proto_next(out->data + off, out->len - off, &p, &used) != PROTO_OK)
			abort();
		if (!strchr("Oacrtsyimqp", p.cmd))
			abort();
		off += used;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct step_conn s = { 0, false };
	struct pconn c;
	size_t off = 2, chunk;

	if (size < 2)
		return 0;
	s.seed = data[0];
	chunk = (size_t)data[1] % 64 + 1;
	pconn_init(&c, &stub_ops, &s);
	while (off < size) {
		size_t n = size - off < chunk ? size - off : chunk;
		enum pconn_state st;
		pconn_in(&c, data + off, n);
		off += n;
		while ((st = pconn_run(&c, false)) == PCONN_PARK)
			if ((st = pconn_run(&c, true)) != PCONN_PARK)
				break;
		check_out(&c.out);
		buf_reset(&c.out);
		if (st == PCONN_CLOSE) {
			s.closed = true;
			break;
		}
		if (c.in.len > MILTER_LEN_BYTES + 1 + PROTO_MAX_DATA + chunk)
			abort();
		/* nor allocated beyond that, and nothing kept once all is decoded */
		if (c.in.cap > MILTER_LEN_BYTES + 1 + PROTO_MAX_DATA + chunk + 1
		    || (c.in.len == 0 && c.in.data != NULL))
			abort();
	}
	pconn_free(&c);
	return 0;
}
