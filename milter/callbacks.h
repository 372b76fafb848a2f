/*
 * callbacks - libmilter callbacks: translate between the MTA and lib/session.
 */
#ifndef AUTHMILTER_CALLBACKS_H
#define AUTHMILTER_CALLBACKS_H

#include <libmilter/mfapi.h>
#include "../lib/config.h"
#include "../lib/dns.h"

struct runtime_slot;
void callbacks_init(struct runtime_slot *slot);
/* shutdown: new messages get a tempfail; those in flight finish */
void callbacks_stop(void);
int callbacks_in_flight(void);
extern struct smfiDesc callbacks_desc;

#endif
