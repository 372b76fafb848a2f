/*
 * t_proto - the milter packet codec and connection state machine
 * (milter/proto.c, milter/proto_conn.c) against byte-exact conversations:
 * negotiation, no-reply flags, batches, parking, reply codes, end of
 * message modifications, connection reuse and malformed input.
 */
#include "testutil.h"
#include "../../milter/proto_conn.h"

/* stub - what the steps saw and what they answer */
static struct {
	enum step_rc mail_rc, eom_rc;
	const char *mail_reply;		/* setreply at MAIL */
	char auth[64], queue_id[64];
	int resets, mails, eoms;
} st;

static void
s_negotiate(struct step_conn *u, unsigned long a, unsigned long p, unsigned long *ra, unsigned long *rp)
{
	(void)u;
	*ra = a & (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE | SMFIF_SETSYMLIST);
	*rp = p & (SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_SKIP
		   | SMFIP_HDR_LEADSPC | SMFIP_NOUNKNOWN);
}

static enum step_rc
s_connect(struct step_conn *u, const struct mta *m, const char *host, const char *ip)
{
	(void)u, (void)m, (void)host, (void)ip;
	return STEP_CONTINUE;
}

static enum step_rc
s_helo(struct step_conn *u, const char *helo)
{
	(void)u, (void)helo;
	return STEP_CONTINUE;
}

static enum step_rc
s_mail(struct step_conn *u, const struct mta *m, const char *from)
{
	const char *a = m->symval(m->ctx, "{auth_authen}");

	(void)u, (void)from;
	st.mails++;
	snprintf(st.auth, sizeof(st.auth), "%s", a ? a : "(none)");
	if (st.mail_reply)
		ck_assert(m->setreply(m->ctx, st.mail_reply, "4.3.2", "try later"));
	return st.mail_rc;
}

static enum step_rc
s_header(struct step_conn *u, const char *name, const char *value)
{
	(void)u, (void)name, (void)value;
	return STEP_CONTINUE;
}

static enum step_rc
s_eoh(struct step_conn *u)
{
	(void)u;
	return STEP_CONTINUE;
}

static enum step_rc
s_body(struct step_conn *u, const void *data, size_t len)
{
	(void)u, (void)data, (void)len;
	return STEP_CONTINUE;
}

static enum step_rc
s_eom(struct step_conn *u, const struct mta *m)
{
	const char *i = m->symval(m->ctx, "i");

	(void)u;
	st.eoms++;
	snprintf(st.queue_id, sizeof(st.queue_id), "%s", i ? i : "(none)");
	ck_assert(m->chgheader(m->ctx, "Authentication-Results", 2, NULL));
	ck_assert(m->insheader(m->ctx, 0, "Authentication-Results", " mx; spf=pass"));
	ck_assert(m->quarantine(m->ctx, "policy"));
	return st.eom_rc;
}

static void
s_abort(struct step_conn *u)
{
	(void)u;
}

static void
s_reset(struct step_conn *u)
{
	(void)u;
	st.resets++;
}

static const char *const lists[PROTO_STAGES] = { "", "", "{auth_authen}", "", "", "i", "" };
static const struct pconn_ops ops = {
	s_negotiate, s_connect, s_helo, s_mail, s_header, s_eoh, s_body, s_eom, s_abort, s_reset,
	lists,
};

/* pk - append one packet: cmd, then len bytes of data */
static void
pk(struct buf *b, char cmd, const char *data, size_t len)
{
	proto_put(b, cmd, data, len);
}

/* start - a negotiated, connected connection; the replies so far dropped */
static void
start(struct pconn *c, uint32_t protocol)
{
	struct buf in;
	char opt[12] = { 0, 0, 0, 6, 0, 0, 1, (char)0xff };

	memset(&st, 0, sizeof(st));
	opt[8] = (char)(protocol >> 24), opt[9] = (char)(protocol >> 16);
	opt[10] = (char)(protocol >> 8), opt[11] = (char)protocol;
	pconn_init(c, &ops, NULL);
	buf_init(&in);
	pk(&in, SMFIC_OPTNEG, opt, sizeof(opt));
	pk(&in, SMFIC_CONNECT, "client\0" "4\0\031" "192.0.2.1", 20);
	pk(&in, SMFIC_HELO, "helo.example", 13);
	pconn_in(c, in.data, in.len);
	buf_free(&in);
	ck_assert_int_eq(pconn_run(c, false), PCONN_INPUT);
}

/* replies - the reply commands in c->out, in order, then emptied */
static void
replies(struct pconn *c, char *cmds, size_t size)
{
	struct proto_packet p;
	size_t off = 0, used, n = 0;

	while (off < c->out.len && n + 1 < size) {
		ck_assert_int_eq(proto_next(c->out.data + off, c->out.len - off, &p, &used), PROTO_OK);
		cmds[n++] = p.cmd;
		off += used;
	}
	cmds[n] = '\0';
	buf_reset(&c->out);
}

START_TEST(test_optneg)
{
	struct pconn c;
	struct proto_packet p;
	size_t used;

	start(&c, 0x1fffff);
	ck_assert_int_eq(proto_next(c.out.data, c.out.len, &p, &used), PROTO_OK);
	ck_assert_int_eq(p.cmd, SMFIC_OPTNEG);
	/* version 6, actions 0x131, protocol 0x143580, then 7 macro lists */
	ck_assert_mem_eq(p.data, "\0\0\0\6\0\0\1\x31\0\x14\x35\x80", 12);
	ck_assert_mem_eq(p.data + 12, "\0\0\0\0\0", 5);
	ck_assert_mem_eq(p.data + 12 + 2 * 5, "\0\0\0\2{auth_authen}", 17);
	/* connect and HELO: no reply, NR_CONN and NR_HELO were taken */
	ck_assert_uint_eq(used, c.out.len);
	pconn_free(&c);
}
END_TEST

START_TEST(test_batch_and_park)
{
	struct pconn c;
	struct buf in;
	char cmds[16];

	start(&c, 0x1fffff);
	buf_reset(&c.out);
	buf_init(&in);
	pk(&in, SMFIC_MACRO, "M{auth_authen}\0alice", 21);
	pk(&in, SMFIC_MAIL, "<a@example.com>", 16);
	pk(&in, SMFIC_RCPT, "<b@example.net>", 16);
	pconn_in(&c, in.data, in.len);
	/* MAIL waits on nothing now (SPF runs at end of message): run on the loop */
	ck_assert_int_eq(pconn_run(&c, false), PCONN_INPUT);
	ck_assert_int_eq(st.mails, 1);
	ck_assert_str_eq(st.auth, "alice");
	replies(&c, cmds, sizeof(cmds));
	ck_assert_str_eq(cmds, "cc");	/* MAIL and RCPT, one batch */
	/* end of headers may block (the DKIM keys) and so may the end of message:
	 * neither is run there, and what follows them waits for them */
	buf_reset(&c.out);
	buf_reset(&in);
	pk(&in, SMFIC_DATA, NULL, 0);
	pk(&in, SMFIC_HEADER, "From\0a@example.com", 19);
	pk(&in, SMFIC_EOH, NULL, 0);
	pk(&in, SMFIC_BODY, "hi\r\n", 4);
	pk(&in, SMFIC_BODYEOB, NULL, 0);
	pk(&in, SMFIC_ABORT, NULL, 0);
	pconn_in(&c, in.data, in.len);
	ck_assert_int_eq(pconn_run(&c, false), PCONN_PARK);
	ck_assert_int_eq(st.eoms, 0);
	ck_assert_int_eq(pconn_run(&c, true), PCONN_INPUT);
	ck_assert_int_eq(st.eoms, 1);
	/* a later MAIL stage without the macro forgets it */
	buf_reset(&in);
	pk(&in, SMFIC_ABORT, NULL, 0);
	pk(&in, SMFIC_MACRO, "M", 1);
	pk(&in, SMFIC_MAIL, "<>", 3);
	pconn_in(&c, in.data, in.len);
	ck_assert_int_eq(pconn_run(&c, true), PCONN_INPUT);
	ck_assert_str_eq(st.auth, "(none)");
	buf_free(&in);
	pconn_free(&c);
}
END_TEST

START_TEST(test_replycode)
{
	struct pconn c;
	struct buf in;
	struct proto_packet p;
	size_t used;

	start(&c, 0x1fffff);
	buf_reset(&c.out);
	st.mail_rc = STEP_TEMPFAIL;
	st.mail_reply = "451";
	buf_init(&in);
	pk(&in, SMFIC_MAIL, "<a@example.com>", 16);
	pconn_in(&c, in.data, in.len);
	ck_assert_int_eq(pconn_run(&c, true), PCONN_INPUT);
	ck_assert_int_eq(proto_next(c.out.data, c.out.len, &p, &used), PROTO_OK);
	ck_assert_int_eq(p.cmd, SMFIR_REPLYCODE);
	ck_assert_str_eq(p.data, "451 4.3.2 try later");
	/* a 4xx text never goes with a reject: plain reject */
	buf_reset(&c.out);
	st.mail_rc = STEP_REJECT;
	pconn_in(&c, in.data, in.len);
	ck_assert_int_eq(pconn_run(&c, true), PCONN_INPUT);
	ck_assert_int_eq(proto_next(c.out.data, c.out.len, &p, &used), PROTO_OK);
	ck_assert_int_eq(p.cmd, SMFIR_REJECT);
	buf_free(&in);
	pconn_free(&c);
}
END_TEST

START_TEST(test_eom_mods)
{
	struct pconn c;
	struct buf in;
	struct proto_packet p;
	size_t used, off = 0;
	char cmds[16];

	start(&c, 0x1fffff);
	st.eom_rc = STEP_ACCEPT;
	buf_init(&in);
	pk(&in, SMFIC_MAIL, "<a@example.com>", 16);
	pk(&in, SMFIC_HEADER, "From\0 a@example.com", 20);
	pk(&in, SMFIC_EOH, NULL, 0);
	pk(&in, SMFIC_BODY, "hi\r\n", 4);
	pk(&in, SMFIC_MACRO, "Ei\0Q1", 6);
	pk(&in, SMFIC_BODYEOB, NULL, 0);
	pconn_in(&c, in.data, in.len);
	buf_reset(&c.out);
	while (pconn_run(&c, true) == PCONN_PARK)
		;
	ck_assert_int_eq(st.eoms, 1);
	ck_assert_int_eq(proto_next(c.out.data, c.out.len, &p, &used), PROTO_OK);
	off += used;	/* MAIL's continue */
	ck_assert_int_eq(proto_next(c.out.data + off, c.out.len - off, &p, &used), PROTO_OK);
	off += used;	/* body's continue (header and EOH: no reply) */
	ck_assert_int_eq(p.cmd, SMFIR_CONTINUE);
	ck_assert_int_eq(proto_next(c.out.data + off, c.out.len - off, &p, &used), PROTO_OK);
	ck_assert_int_eq(p.cmd, SMFIR_CHGHEADER);
	ck_assert_uint_eq(p.len, 4 + 23 + 1);
	ck_assert_mem_eq(p.data, "\0\0\0\2Authentication-Results\0\0", 28);
	off += used;
	ck_assert_int_eq(proto_next(c.out.data + off, c.out.len - off, &p, &used), PROTO_OK);
	ck_assert_int_eq(p.cmd, SMFIR_INSHEADER);
	ck_assert_mem_eq(p.data, "\0\0\0\0Authentication-Results\0 mx; spf=pass\0", 42);
	replies(&c, cmds, sizeof(cmds));
	ck_assert_str_eq(cmds, "ccmiqa");
	/* connection reuse: QUIT_NC ends the SMTP connection, CONNECT starts one */
	buf_reset(&in);
	pk(&in, SMFIC_QUIT_NC, NULL, 0);
	pk(&in, SMFIC_CONNECT, "c2\0U", 4);
	pk(&in, SMFIC_QUIT, NULL, 0);
	pconn_in(&c, in.data, in.len);
	ck_assert_int_eq(pconn_run(&c, false), PCONN_CLOSE);
	ck_assert_int_eq(st.resets, 1);
	replies(&c, cmds, sizeof(cmds));
	ck_assert_str_eq(cmds, "");
	buf_free(&in);
	pconn_free(&c);
}
END_TEST

START_TEST(test_malformed)
{
	struct pconn c;
	static const char oversize[] = { 0, 1, 0, 1, 'B' };	/* 65537: over 65535 + 1 */
	static const char zero[] = { 0, 0, 0, 0 };
	static const char partial[] = { 0, 0, 0, 9, 'M', '<' };

	start(&c, 0x1fffff);
	pconn_in(&c, partial, sizeof(partial));
	ck_assert_int_eq(pconn_run(&c, false), PCONN_INPUT);
	pconn_free(&c);
	start(&c, 0x1fffff);
	pconn_in(&c, oversize, sizeof(oversize));
	ck_assert_int_eq(pconn_run(&c, false), PCONN_CLOSE);
	pconn_free(&c);
	start(&c, 0x1fffff);
	pconn_in(&c, zero, sizeof(zero));
	ck_assert_int_eq(pconn_run(&c, false), PCONN_CLOSE);
	pconn_free(&c);
	/* a header without its value's NUL, and a second OPTNEG */
	start(&c, 0x1fffff);
	pconn_in(&c, "\0\0\0\4LA\0b", 8);
	ck_assert_int_eq(pconn_run(&c, false), PCONN_CLOSE);
	pconn_free(&c);
	start(&c, 0x1fffff);
	pconn_in(&c, "\0\0\0\1O", 5);
	ck_assert_int_eq(pconn_run(&c, false), PCONN_CLOSE);
	pconn_free(&c);
}
END_TEST

START_TEST(test_no_nr_flags)
{
	struct pconn c;
	char cmds[16];

	/* an MTA without NR_* flags gets a reply to every step */
	start(&c, SMFIP_HDR_LEADSPC | SMFIP_SKIP);
	replies(&c, cmds, sizeof(cmds));
	ck_assert_str_eq(cmds, "Occ");
	pconn_free(&c);
}
END_TEST

START_TEST(test_limits)
{
	struct pconn c;
	struct buf in;
	char *big = xmalloc(PROTO_MAX_DATA + 1);
	char cmds[16];

	memset(big, 'x', PROTO_MAX_DATA + 1);
	/* a body packet of exactly the limit is a body packet */
	start(&c, 0x1fffff);
	buf_reset(&c.out);
	buf_init(&in);
	pk(&in, SMFIC_MAIL, "<a@example.com>", 16);
	pk(&in, SMFIC_BODY, big, PROTO_MAX_DATA);
	pconn_in(&c, in.data, in.len);
	ck_assert_int_eq(pconn_run(&c, true), PCONN_INPUT);
	replies(&c, cmds, sizeof(cmds));
	ck_assert_str_eq(cmds, "cc");
	/* one byte more closes, before any of it is waited for */
	buf_reset(&in);
	pk(&in, SMFIC_BODY, big, PROTO_MAX_DATA + 1);
	pconn_in(&c, in.data, 5);
	ck_assert_int_eq(pconn_run(&c, true), PCONN_CLOSE);
	ck_assert_str_eq(c.why, "a packet length of 65537 (0, or over 65536)");
	pconn_free(&c);
	/* a NUL inside a header value: three strings, not a shorter value */
	start(&c, 0x1fffff);
	pconn_in(&c, "\0\0\0\14LFrom\0 a\0b\0", 16);
	ck_assert_int_eq(pconn_run(&c, false), PCONN_CLOSE);
	ck_assert_str_eq(c.why, "malformed or out-of-place command 'L' (0x4c), 11 bytes");
	pconn_free(&c);
	/* a macro name without its value */
	start(&c, 0x1fffff);
	pconn_in(&c, "\0\0\0\20DM{auth_authen}\0", 20);
	ck_assert_int_eq(pconn_run(&c, false), PCONN_CLOSE);
	pconn_free(&c);
	/* QUIT closes with nothing to say */
	start(&c, 0x1fffff);
	pconn_in(&c, "\0\0\0\1Q", 5);
	ck_assert_int_eq(pconn_run(&c, false), PCONN_CLOSE);
	ck_assert_str_eq(c.why, "");
	pconn_free(&c);
	buf_free(&in);
	free(big);
}
END_TEST

/* conversation - a whole message, as Postfix sends it */
static void
conversation(struct buf *in)
{
	char opt[12] = { 0, 0, 0, 6, 0, 0, 1, (char)0xff, 0, 0x1f, (char)0xff, (char)0xff };

	pk(in, SMFIC_OPTNEG, opt, sizeof(opt));
	pk(in, SMFIC_CONNECT, "client\0" "4\0\031" "192.0.2.1", 20);
	pk(in, SMFIC_HELO, "helo.example", 13);
	pk(in, SMFIC_MACRO, "M{auth_authen}\0alice", 21);
	pk(in, SMFIC_MAIL, "<a@example.com>", 16);
	pk(in, SMFIC_RCPT, "<b@example.net>", 16);
	pk(in, SMFIC_DATA, NULL, 0);
	pk(in, SMFIC_HEADER, "From\0 a@example.com", 20);
	pk(in, SMFIC_EOH, NULL, 0);
	pk(in, SMFIC_BODY, "hi\r\n", 4);
	pk(in, SMFIC_BODYEOB, NULL, 0);
}

START_TEST(test_bytewise)
{
	struct pconn c;
	struct buf in, whole;

	/* the replies to the conversation in one piece */
	buf_init(&in);
	conversation(&in);
	memset(&st, 0, sizeof(st));
	st.eom_rc = STEP_ACCEPT;
	pconn_init(&c, &ops, NULL);
	pconn_in(&c, in.data, in.len);
	while (pconn_run(&c, false) == PCONN_PARK)
		ck_assert_int_eq(pconn_run(&c, true), PCONN_INPUT);
	ck_assert_ptr_null(c.in.data);	/* all decoded: no buffer kept */
	whole = c.out;
	buf_init(&c.out);
	pconn_free(&c);
	/* byte by byte: the same replies, never more than one packet buffered */
	memset(&st, 0, sizeof(st));
	st.eom_rc = STEP_ACCEPT;
	pconn_init(&c, &ops, NULL);
	for (size_t i = 0; i < in.len; i++) {
		pconn_in(&c, in.data + i, 1);
		while (pconn_run(&c, false) == PCONN_PARK)
			ck_assert_int_eq(pconn_run(&c, true), PCONN_INPUT);
		ck_assert_uint_le(c.in.cap, MILTER_LEN_BYTES + 1 + PROTO_MAX_DATA + 1);
		if (c.in.len == 0)
			ck_assert_ptr_null(c.in.data);
	}
	ck_assert_int_eq(st.eoms, 1);
	ck_assert_str_eq(st.auth, "alice");
	ck_assert_uint_eq(c.out.len, whole.len);
	ck_assert_mem_eq(c.out.data, whole.data, whole.len);
	buf_free(&whole);
	buf_free(&in);
	pconn_free(&c);
}
END_TEST

START_TEST(test_macros)
{
	struct pconn c;
	struct buf in, pairs;

	start(&c, 0x1fffff);
	st.eom_rc = STEP_ACCEPT;
	/* any number of pairs; braces or none, one macro; the newest stage wins */
	buf_init(&pairs);
	buf_addc(&pairs, 'M');
	for (int i = 0; i < 40; i++)
		buf_printf(&pairs, "{m%d}%cv%c", i, 0, 0);
	buf_add(&pairs, "auth_authen\0bob\0i\0Q1", 20);
	buf_init(&in);
	pk(&in, SMFIC_MACRO, pairs.data, pairs.len + 1);
	pk(&in, SMFIC_MAIL, "<a@example.com>", 16);
	pk(&in, SMFIC_MACRO, "Z{x}\0y", 7);	/* no stage of ours: ignored */
	pk(&in, SMFIC_MACRO, "E{i}\0Q2", 8);
	pk(&in, SMFIC_BODYEOB, NULL, 0);
	pconn_in(&c, in.data, in.len);
	while (pconn_run(&c, false) == PCONN_PARK)
		ck_assert_int_eq(pconn_run(&c, true), PCONN_INPUT);
	ck_assert_str_eq(st.auth, "bob");
	ck_assert_str_eq(st.queue_id, "Q2");
	/* the next message starts without the last one's */
	buf_reset(&in);
	pk(&in, SMFIC_MAIL, "<a@example.com>", 16);
	pk(&in, SMFIC_BODYEOB, NULL, 0);
	pconn_in(&c, in.data, in.len);
	while (pconn_run(&c, false) == PCONN_PARK)
		ck_assert_int_eq(pconn_run(&c, true), PCONN_INPUT);
	ck_assert_int_eq(st.eoms, 2);
	ck_assert_str_eq(st.auth, "(none)");
	ck_assert_str_eq(st.queue_id, "(none)");
	buf_free(&pairs);
	buf_free(&in);
	pconn_free(&c);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("proto");
	TCase *tc = tcase_create("proto");

	tcase_add_test(tc, test_optneg);
	tcase_add_test(tc, test_batch_and_park);
	tcase_add_test(tc, test_replycode);
	tcase_add_test(tc, test_eom_mods);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_no_nr_flags);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_bytewise);
	tcase_add_test(tc, test_macros);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
