/*
 * proto_conn - one milter connection's protocol state machine, without I/O:
 * bytes in (pconn_in), packets decoded and dispatched to the step
 * functions, replies out (pconn->out). The engine does the reading and
 * writing; the fuzzer feeds arbitrary bytes with stub steps.
 *
 * Commands run strictly in order. A DNS-bound command (end of
 * headers, end of message) is not run unless the caller says it may block:
 * pconn_run returns PCONN_PARK and the engine hands the connection to its
 * worker pool, which runs it again with may_block set.
 */
#ifndef AUTHMILTER_PROTO_CONN_H
#define AUTHMILTER_PROTO_CONN_H

#include "proto.h"
#include "steps.h"

/*
 * the steps, as steps.h has them (the daemon's are steps_*; tests and the
 * fuzzer define their own struct step_conn); u is the connection's state
 */
struct pconn_ops {
	void (*negotiate)(struct step_conn *u, unsigned long actions, unsigned long protocol,
			  unsigned long *our_actions, unsigned long *our_protocol);
	enum step_rc (*connect)(struct step_conn *u, const struct mta *m, const char *host,
				const char *ip);
	enum step_rc (*helo)(struct step_conn *u, const char *helo);
	enum step_rc (*mail)(struct step_conn *u, const struct mta *m, const char *from);
	enum step_rc (*header)(struct step_conn *u, const char *name, const char *value);
	enum step_rc (*eoh)(struct step_conn *u);
	enum step_rc (*body)(struct step_conn *u, const void *data, size_t len);
	enum step_rc (*eom)(struct step_conn *u, const struct mta *m);
	void (*abort)(struct step_conn *u);
	void (*reset)(struct step_conn *u);	/* the SMTP connection ended (QUIT_NC, QUIT, close) */
	const char *const *macro_lists;		/* PROTO_STAGES entries */
};

struct pconn {
	const struct pconn_ops *ops;
	struct step_conn *u;
	struct buf in;		/* bytes read, from in_off on not yet decoded */
	size_t in_off;
	struct buf out;		/* replies not yet written */
	bool negotiated, connected, in_message, in_eom;
	unsigned long actions, protocol;	/* as negotiated */
	/* per SMFIM_* stage: the name/value strings of its last SMFIC_MACRO */
	struct buf macros[PROTO_STAGES];
	char *reply;		/* smfi_setreply's text, for the next reject/tempfail */
	char why[80];		/* after PCONN_CLOSE: the bad packet, "" for QUIT */
};

/* PCONN_CLOSE: on QUIT, or a bad packet that c->why describes */
enum pconn_state { PCONN_INPUT, PCONN_PARK, PCONN_CLOSE };

void pconn_init(struct pconn *c, const struct pconn_ops *ops, struct step_conn *u);
void pconn_free(struct pconn *c);
void pconn_in(struct pconn *c, const void *data, size_t len);
enum pconn_state pconn_run(struct pconn *c, bool may_block);

#endif
