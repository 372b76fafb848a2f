/*
 * proto - the milter protocol's packets (version 6, as Postfix and Sendmail
 * speak it): a pure codec with no I/O, so the fuzzer can drive it. A packet
 * is a 32-bit big-endian length (command byte included), the command byte
 * and its data. Constants come from libmilter's mfdef.h (header only).
 */
#ifndef AUTHMILTER_PROTO_H
#define AUTHMILTER_PROTO_H

#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../lib/buf.h"

/* the largest data a packet may carry, as libmilter's default */
#define PROTO_MAX_DATA MILTER_MAX_DATA_SIZE
#define PROTO_MAX_ARGS 64	/* NUL-separated strings in one packet */
#define PROTO_STAGES 7		/* macro stages, SMFIM_CONNECT .. SMFIM_EOH */

struct proto_packet {
	char cmd;
	const char *data;	/* into the caller's buffer */
	size_t len;
};

enum proto_status { PROTO_OK, PROTO_MORE, PROTO_BAD };

enum proto_status proto_next(const char *buf, size_t n, struct proto_packet *p, size_t *used);
size_t proto_strings(const struct proto_packet *p, const char **argv, size_t max);
bool proto_optneg(const struct proto_packet *p, uint32_t *version, uint32_t *actions,
		  uint32_t *protocol);
bool proto_connect(const struct proto_packet *p, const char **host, const char **addr);

void proto_put(struct buf *out, char cmd, const void *data, size_t len);
void proto_put_optneg(struct buf *out, uint32_t version, uint32_t actions, uint32_t protocol,
		      const char *const lists[PROTO_STAGES]);
void proto_put_header(struct buf *out, char cmd, uint32_t index, const char *name,
		      const char *value);
void proto_put_string(struct buf *out, char cmd, const char *s);

#endif
