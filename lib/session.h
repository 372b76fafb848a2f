/*
 * session - one SMTP connection's verification state, and the verdict.
 *
 * The milter callbacks and test mode drive this same object in the same
 * order: connect, helo, mail_from, header*, eoh, body*, eom. Nothing here
 * knows about libmilter; the verdict says what to add, delete and reply.
 */
#ifndef AUTHMILTER_SESSION_H
#define AUTHMILTER_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>
#include "buf.h"
#include "config.h"
#include "dns.h"
#include "spf.h"
#include "verdict.h"

struct session;
struct runtime_slot;

struct session *session_new(struct runtime_slot *slot);
void session_free(struct session *s);

void session_connect(struct session *s, const char *client_ip, const char *client_name);
void session_helo(struct session *s, const char *helo);
void session_mail_from(struct session *s, const char *address);
void session_set_auth(struct session *s, const char *user);
void session_header(struct session *s, const char *name, const char *value);
void session_header_bytes(struct session *s, const char *name, const char *value, size_t len);
void session_eoh(struct session *s);
bool session_wants_body(const struct session *s);
void session_body(struct session *s, const void *data, size_t len);
void session_eom(struct session *s, struct verdict *v);
void session_abort(struct session *s);
void session_set_queue_id(struct session *s, const char *queue_id);

/* the message in fp (LF or CRLF lines) as header fields, eoh and body */
void session_feed_file(struct session *s, FILE *fp);

/* strip <> and surrounding space from an SMTP path argument */
char *session_unbracket(const char *path);

#endif
