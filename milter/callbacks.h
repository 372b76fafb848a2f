/*
 * callbacks - libmilter callbacks: translate between the MTA and lib/session.
 */
#ifndef AUTHMILTER_CALLBACKS_H
#define AUTHMILTER_CALLBACKS_H

#include <libmilter/mfapi.h>
#include "../lib/config.h"
#include "../lib/dns.h"

struct dmarc_ctx;
void callbacks_init(const struct config *cfg, struct dns *dns, const struct dmarc_ctx *dmarc);
extern struct smfiDesc callbacks_desc;

#endif
