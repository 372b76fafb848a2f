/*
 * steps - what authmilter answers at each step of an SMTP transaction, and
 * which modifications end it: protocol-neutral decisions over lib/session,
 * called by the engine (engine.c through proto_conn.c). The MTA side is
 * reached through struct mta only, so the decisions know no packet.
 */
#ifndef AUTHMILTER_STEPS_H
#define AUTHMILTER_STEPS_H

#include <stdbool.h>
#include <stddef.h>

/*
 * What a step answers. Whether the MTA gets that answer is the protocol's
 * business: a step whose reply was negotiated away (SMFIP_NR_*) sends none,
 * and SKIP is a CONTINUE to an MTA that did not offer SMFIP_SKIP.
 */
enum step_rc { STEP_CONTINUE, STEP_ACCEPT, STEP_REJECT, STEP_TEMPFAIL, STEP_SKIP };

/* the MTA, as the decisions need it: each action returns false when it failed */
struct mta {
	void *ctx;
	const char *(*symval)(void *ctx, const char *name);
	bool (*setreply)(void *ctx, const char *code, const char *xcode, const char *text);
	bool (*chgheader)(void *ctx, const char *name, int index, const char *value);
	bool (*insheader)(void *ctx, int index, const char *name, const char *value);
	bool (*quarantine)(void *ctx, const char *reason);
};

struct runtime_slot;
struct step_conn;

void steps_init(struct runtime_slot *slot);
void steps_stop(void);
int steps_in_flight(void);

struct step_conn *steps_conn_new(void);
/* connection end (close, or QUIT_NC before the next one): frees the session */
void steps_conn_reset(struct step_conn *c);
void steps_conn_free(struct step_conn *c);

/* negotiation: offered actions and protocol in, ours out; lists: macros per stage */
void steps_negotiate(struct step_conn *c, unsigned long actions, unsigned long protocol,
		     unsigned long *our_actions, unsigned long *our_protocol);
extern const char *const steps_macro_lists[7];

enum step_rc steps_connect(struct step_conn *c, const struct mta *m, const char *host,
			   const char *ip);
enum step_rc steps_helo(struct step_conn *c, const char *helo);
enum step_rc steps_mail(struct step_conn *c, const struct mta *m, const char *from);
enum step_rc steps_header(struct step_conn *c, const char *name, const char *value);
enum step_rc steps_eoh(struct step_conn *c);
enum step_rc steps_body(struct step_conn *c, const void *data, size_t len);
enum step_rc steps_eom(struct step_conn *c, const struct mta *m);
void steps_abort(struct step_conn *c);

#endif
