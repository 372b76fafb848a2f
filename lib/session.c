/*
 * session - drive the checks for one connection and decide the verdict.
 *
 * SPF runs when MAIL FROM arrives (the identity is known then); headers are
 * scanned for forged Authentication-Results; eom turns results into the
 * header, the action and the SMTP reply. Per-message state is dropped at
 * the next MAIL FROM, at abort and after eom; per-connection state
 * (client, HELO) lives until session_free.
 */
#include "session.h"
#include "arc.h"
#include "authres.h"
#include "dkimv.h"
#include "dmarc.h"
#include "fromaddr.h"
#include "hdrname.h"
#include "history_service.h"
#include "policy.h"
#include "runtime.h"
#include "metrics.h"
#include "upstream.h"

#include <time.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


#define SESSION_MAX_FROM 8	/* From fields kept; more are counted, and are a problem */
/* What one header field costs in the MaxHeaderBytes budget besides its name
 * and value ("name: value\r\n"), so a flood of empty fields is bounded too. */
#define SESSION_FIELD_OVERHEAD 4

struct session {
	struct runtime_slot *slot;
	struct runtime *rt;		/* this message's snapshot; NULL between messages */
	/* connection */
	char *client_ip;
	struct ipaddr ip;
	bool ip_ok;
	char *client_name;
	char *helo;
	bool trusted_net;
	struct spf_outcome spf_helo;	/* the HELO identity: once per HELO, not per message */
	bool spf_helo_done;
	/* message */
	char *queue_id;
	char *mail_from;		/* NULL until MAIL FROM; "" for the null sender */
	struct spf_outcome spf_mailfrom;
	bool spf_mailfrom_done;
	bool report_helo;		/* this message's header carries spf= smtp.helo too */
	struct dkimv_msg *dkim;
	struct arc_msg *arc;		/* ARC chain and seal (lib/arc) */
	const char *arc_seal_note;	/* static, for the log line: sealed, or why not */
	struct dns stage_dns;		/* rt->dns with this stage's budget (DNSBudget) */
	struct dkimv_settings dkim_settings;	/* rt->dkim asking through stage_dns */
	char *auth_user;		/* SMTP AUTH name, NULL if none */
	char *from_values[SESSION_MAX_FROM];
	size_t n_from;			/* From fields seen (may exceed what we keep) */
	const char *from_unreadable;	/* a From field we could not read whole, and why */
	size_t header_bytes;		/* charged to MaxHeaderBytes so far */
	bool budget_spent;		/* a field did not fit: none after it is read */
	const char *headers_unread;	/* why a header field was not passed on to DKIM */
	size_t n_dkim_fields;		/* DKIM-Signature fields seen, read or not */
	bool has_list_id;
	struct timespec started;	/* MAIL FROM, for the latency histogram */
	size_t n_ar_seen;
	size_t *ar_ours;		/* indexes of A-R fields claiming our id */
	size_t n_ar_ours, cap_ar_ours;
	/* TrustedAuthservIDs: SPF waits for the border's field (lib/upstream) */
	bool upstream_wait, upstream_used;
	char *upstream_field;		/* the topmost A-R with a listed id */
	char *upstream_helo;		/* the HELO its result is about, for <> */
	struct history_capture hist;	/* header section (and body) for failure reports */
};

/* session_new - a connection's state; each message takes the slot's current snapshot */
struct session *
session_new(struct runtime_slot *slot)
{
	struct session *s = xcalloc(1, sizeof(*s));

	s->slot = slot;
	return s;
}

static void
message_reset(struct session *s)
{
	free(s->queue_id);
	free(s->mail_from);
	s->queue_id = NULL;
	s->mail_from = NULL;
	spf_outcome_free(&s->spf_mailfrom);
	s->spf_mailfrom_done = s->report_helo = false;
	dkimv_free(s->dkim);
	s->dkim = NULL;
	arc_free(s->arc);
	s->arc = NULL;
	s->arc_seal_note = NULL;
	free(s->auth_user);
	s->auth_user = NULL;
	for (size_t i = 0; i < s->n_from && i < SESSION_MAX_FROM; i++)
		free(s->from_values[i]);
	s->n_from = 0;
	s->from_unreadable = NULL;
	s->header_bytes = 0;
	s->budget_spent = false;
	s->headers_unread = NULL;
	s->n_dkim_fields = 0;
	s->has_list_id = false;
	if (s->rt)
		metrics_in_flight(-1);
	runtime_release(s->rt);
	s->rt = NULL;
	s->n_ar_seen = s->n_ar_ours = 0;
	free(s->upstream_field);
	free(s->upstream_helo);
	s->upstream_field = s->upstream_helo = NULL;
	s->upstream_wait = s->upstream_used = false;
	history_capture_reset(&s->hist);
}


/* session_free - everything */
void
session_free(struct session *s)
{
	if (s == NULL)
		return;
	message_reset(s);
	spf_outcome_free(&s->spf_helo);
	free(s->ar_ours);
	free(s->client_ip);
	free(s->client_name);
	free(s->helo);
	free(s);
}

/* session_connect - the client's address (text) and its name, if known */
void
session_connect(struct session *s, const char *client_ip, const char *client_name)
{
	free(s->client_ip);
	free(s->client_name);
	s->client_ip = xstrdup(client_ip ? client_ip : "");
	s->client_name = client_name ? xstrdup(client_name) : NULL;
	s->ip_ok = client_ip && ipaddr_parse(client_ip, &s->ip);
}

/* session_set_auth - the SMTP AUTH login of this message; empty means none */
void
session_set_auth(struct session *s, const char *user)
{
	free(s->auth_user);
	/* An empty {auth_authen} is no login (OpenDMARC 1.4.2 got this wrong). */
	s->auth_user = user && *user ? xstrdup(user) : NULL;
}

/* session_helo - the HELO/EHLO argument (a later one replaces it) */
void
session_helo(struct session *s, const char *helo)
{
	free(s->helo);
	/* Kept whole: an overlong HELO is no domain, and SPF says so (none). */
	s->helo = xstrdup(helo ? helo : "");
	spf_outcome_free(&s->spf_helo);
	s->spf_helo_done = false;
}

/* session_unbracket - "<a@b>" or " a@b " -> "a@b"; ESMTP parameters are not passed here */
char *
session_unbracket(const char *path)
{
	const char *p = path;
	size_t n;

	while (isspace((unsigned char)*p))
		p++;
	n = strlen(p);
	while (n > 0 && isspace((unsigned char)p[n - 1]))
		n--;
	if (n >= 2 && p[0] == '<' && p[n - 1] == '>')
		p++, n -= 2;
	if (n > 0 && p[0] == '@') {	/* RFC 5321 source route: @a,@b:user@host */
		const char *colon = memchr(p, ':', n);
		if (colon) {
			n -= (size_t)(colon + 1 - p);
			p = colon + 1;
		}
	}
	/* Kept whole: a shortened path would be another sender (the MTA bounds it). */
	return xstrndup(p, n);
}

static void
run_spf(struct session *s)
{
	struct spf_request req = {
		.ip = s->ip,
		.helo = s->helo ? s->helo : "",
		.sender = s->mail_from,
		.receiver = s->rt->cfg.authserv_id,
	};

	if (!s->ip_ok) {
		/* A client without an IP (local submission) has nothing to authorise. */
		s->spf_mailfrom.result = SPF_NONE;
		s->spf_mailfrom.reason = xstrdup("no client IP address");
		s->spf_mailfrom_done = true;
		return;
	}
	spf_check(&s->stage_dns, &req, SPF_ID_MAILFROM, &s->spf_mailfrom);
	s->spf_mailfrom_done = true;
	/* With <> the MAIL FROM check above already was the HELO check. */
	s->report_helo = s->rt->cfg.spf_helo && s->mail_from[0] != '\0';
	if (s->report_helo && !s->spf_helo_done) {
		spf_check(&s->stage_dns, &req, SPF_ID_HELO, &s->spf_helo);
		s->spf_helo_done = true;
	}
}

/* session_mail_from - start a message: the envelope sender, "" for <> */
void
session_mail_from(struct session *s, const char *address)
{
	message_reset(s);
	s->rt = runtime_acquire(s->slot);
	metrics_in_flight(1);
	clock_gettime(CLOCK_MONOTONIC, &s->started);
	s->trusted_net = s->ip_ok && ipaddr_in_nets(&s->ip, s->rt->cfg.trusted_nets,
						     s->rt->cfg.n_trusted_nets);
	s->mail_from = session_unbracket(address ? address : "");
	s->stage_dns = s->rt->dns;	/* each DNS-bound stage starts its own budget */
	/* Behind a border MTA its A-R, known only at EOH, may stand for ours. */
	s->upstream_wait = upstream_applies(&s->rt->cfg, s->trusted_net);
	s->dkim_settings = s->rt->dkim;
	s->dkim_settings.dns = &s->stage_dns;
	s->dkim = dkimv_begin(&s->dkim_settings);
	s->arc = arc_begin(&(struct arc_settings){
		.dns = &s->stage_dns,
		.min_key_bits = (unsigned)s->rt->cfg.dkim_min_key_bits,
		.sealing = s->rt->cfg.arc_sign && s->rt->cfg.arc_sign_key,
		.sign_headers = s->rt->cfg.arc_sign_headers,
	});
}

/* charge_header - take a field from the MaxHeaderBytes budget; false once it is spent */
static bool
charge_header(struct session *s, size_t name_len, size_t value_len)
{
	size_t budget = (size_t)s->rt->cfg.max_header_bytes;
	size_t cost = name_len + value_len + SESSION_FIELD_OVERHEAD;

	if (!s->budget_spent && cost <= budget - s->header_bytes) {
		s->header_bytes += cost;
		return true;
	}
	s->budget_spent = true;
	if (s->headers_unread == NULL)
		s->headers_unread = "header section over MaxHeaderBytes";
	return false;
}

/* note_from - keep a From value whole, or remember why one cannot be read */
static void
note_from(struct session *s, const char *value, size_t len, const char *unreadable)
{
	if (unreadable && s->from_unreadable == NULL)
		s->from_unreadable = unreadable;
	else if (unreadable == NULL && s->n_from < SESSION_MAX_FROM)
		s->from_values[s->n_from] = xstrndup(value, len);
	s->n_from++;
}

/* note_authres - remember which Authentication-Results fields claim our id */
static void
note_authres(struct session *s, const char *value)
{
	s->n_ar_seen++;
	if (!authres_is_ours(value, s->rt->cfg.authserv_id))
		return;
	if (s->n_ar_ours == s->cap_ar_ours) {
		s->cap_ar_ours = s->cap_ar_ours ? s->cap_ar_ours * 2 : 4;
		s->ar_ours = xrealloc(s->ar_ours, s->cap_ar_ours * sizeof(size_t));
	}
	s->ar_ours[s->n_ar_ours++] = s->n_ar_seen;
}

/* session_header_bytes - one header field as bytes: value is everything after
 * the colon, leading white space and folding line breaks included, and may
 * hold NUL bytes (which make the field unreadable, never shorter) */
void
session_header_bytes(struct session *s, const char *name, const char *value, size_t len)
{
	bool readable, has_nul;

	if (s->rt == NULL)
		return;		/* no MAIL FROM: not a message we check */
	readable = charge_header(s, strlen(name), len);
	history_capture_header(&s->hist, &s->rt->cfg, name, value, len, readable);
	has_nul = readable && memchr(value, '\0', len) != NULL;
	if (hdrname_is(name, "DKIM-Signature"))
		s->n_dkim_fields++;
	if (has_nul && s->headers_unread == NULL)
		s->headers_unread = "NUL byte in a header field";
	if (s->dkim && readable && s->headers_unread == NULL)
		dkimv_header(s->dkim, name, value);
	/* ARC takes the fields as bytes; after an unreadable one it only counts them */
	if (s->headers_unread)
		arc_unreadable(s->arc, name, s->headers_unread);
	else
		arc_header(s->arc, name, value, len);
	if (hdrname_is(name, "From"))
		note_from(s, value, len, !readable ? "From field over MaxHeaderBytes"
				      : has_nul ? "NUL byte in From field" : NULL);
	else if (hdrname_is(name, "List-Id"))
		s->has_list_id = true;
	else if (hdrname_is(name, "Authentication-Results")) {
		/* Even past the budget: a forged field of ours is removed, whatever its size. */
		note_authres(s, value);
		if (s->upstream_wait && s->upstream_field == NULL && readable && !has_nul
		    && upstream_is_trusted(&s->rt->cfg, value))
			s->upstream_field = xstrndup(value, len);
	}
}

/* spf_stage - the border's spf= result when it has one, else our check, with
 * a DNS budget of its own */
static void
spf_stage(struct session *s)
{
	if (s->spf_mailfrom_done)
		return;
	dns_budget_start(&s->stage_dns, s->rt->cfg.dns_budget);
	if (!s->upstream_wait) {
		run_spf(s);
		return;
	}
	s->upstream_used = s->upstream_field
		&& upstream_spf(s->upstream_field, s->mail_from, &s->spf_mailfrom, &s->upstream_helo);
	if (s->upstream_used) {
		s->spf_mailfrom_done = true;
		metrics_upstream_spf();
	} else {
		run_spf(s);
	}
}

/* session_header - a header field whose value is a C string (libmilter's) */
void
session_header(struct session *s, const char *name, const char *value)
{
	session_header_bytes(s, name, value, strlen(value));
}

/* session_eoh - end of headers */
void
session_eoh(struct session *s)
{
	if (s->rt == NULL)
		return;
	/* libopendkim fetches the keys here: a stage of its own */
	dns_budget_start(&s->stage_dns, s->rt->cfg.dns_budget);
	if (s->dkim)
		dkimv_eoh(s->dkim);
	arc_eoh(s->arc);
}

/* session_wants_body - false when no check needs the rest of the body */
bool
session_wants_body(const struct session *s)
{
	return (s->dkim && dkimv_wants_body(s->dkim)) || (s->arc && arc_wants_body(s->arc))
	    || (s->rt && history_capture_wants_body(&s->rt->cfg));
}

/* session_body - a body chunk, streamed to DKIM */
void
session_body(struct session *s, const void *data, size_t len)
{
	if (s->dkim)
		dkimv_body(s->dkim, data, len);
	if (s->arc)
		arc_body(s->arc, data, len);
	history_capture_body(&s->hist, s->rt ? &s->rt->cfg : NULL, data, len);
}

/* session_abort - the MTA dropped the message */
void
session_abort(struct session *s)
{
	message_reset(s);
}

/* session_set_queue_id - for the log line */
void
session_set_queue_id(struct session *s, const char *queue_id)
{
	free(s->queue_id);
	s->queue_id = queue_id ? xstrdup(queue_id) : NULL;
}

static void
add_spf(struct authres *ar, const struct spf_outcome *o, const char *prop, const char *value)
{
	authres_add(ar, "spf", spf_result_name(o->result), o->reason);
	authres_prop(ar, prop, value);
}

/* add_dkim_sig - one signature's result; comment_extra ends its comment */
static void
add_dkim_sig(struct authres *ar, const struct dkimv_outcome *dk, size_t i, const char *comment_extra)
{
	const struct dkimv_sig *sig = &dk->sigs[i];
	struct buf comment, b;

	buf_init(&comment);
	buf_init(&b);
	buf_adds(&comment, sig->reason ? sig->reason : "");
	if (comment_extra)
		buf_adds(&comment, comment_extra);
	authres_add(ar, "dkim", dkimv_result_name(sig->result), comment.data);
	authres_prop(ar, "header.d", sig->domain ? sig->domain : "");
	if (sig->identity)
		authres_prop(ar, "header.i", sig->identity);
	authres_prop(ar, "header.s", sig->selector ? sig->selector : "");
	if (sig->algorithm)
		authres_prop(ar, "header.a", sig->algorithm);
	if (sig->b) {
		buf_add(&b, sig->b, dkimv_b_prefix_len(dk, i));
		authres_prop(ar, "header.b", b.data);
	}
	buf_free(&comment);
	buf_free(&b);
}

/* untold_comment - "; N more signatures not shown/not evaluated", or NULL */
static char *
untold_comment(size_t not_shown, size_t not_evaluated)
{
	struct buf b;

	if (not_shown == 0 && not_evaluated == 0)
		return NULL;
	buf_init(&b);
	if (not_shown)
		buf_printf(&b, "; %zu more signatures not shown", not_shown);
	if (not_evaluated)
		buf_printf(&b, "; %zu more signatures not evaluated", not_evaluated);
	return buf_steal(&b);
}

/* add_dkim - one result per signature while the field stays within
 * AUTHRES_MAX_FIELD (libmilter cannot send more than 64 KiB); the rest are
 * counted in the last shown result's comment, so our header is always written */
static void
add_dkim(struct authres *ar, const struct dkimv_outcome *dk, const char *unreadable)
{
	size_t shown = dk->n_sigs, mark = 0, prev_mark = 0;
	char *extra;

	if (!dk->signed_message) {
		authres_add(ar, "dkim", "none", NULL);
		return;
	}
	if (dk->n_sigs == 0) {	/* every signature was past the header budget */
		struct buf comment;
		buf_init(&comment);
		buf_adds(&comment, unreadable ? unreadable : "no signature read");
		if (dk->n_not_evaluated)
			buf_printf(&comment, "; %zu signatures not evaluated", dk->n_not_evaluated);
		authres_add(ar, "dkim", "permerror", comment.data);
		buf_free(&comment);
		return;
	}
	for (size_t i = 0; i < dk->n_sigs; i++) {
		prev_mark = mark;
		mark = authres_mark(ar);
		add_dkim_sig(ar, dk, i, NULL);
		if (i > 0 && authres_mark(ar) > AUTHRES_MAX_FIELD - AUTHRES_FIELD_RESERVE) {
			shown = i;	/* the first is always shown: each value is bounded */
			break;
		}
	}
	extra = untold_comment(dk->n_sigs - shown, dk->n_not_evaluated);
	if (extra == NULL)
		return;
	/* Write the last shown one again, now with the count in its comment. */
	authres_rollback(ar, shown < dk->n_sigs ? prev_mark : mark);
	add_dkim_sig(ar, dk, shown - 1, extra);
	free(extra);
}

static void
add_dmarc(struct authres *ar, const struct dmarc_eval *ev, const struct verdict *v)
{
	struct buf comment;

	if (!ev->evaluated)
		return;
	buf_init(&comment);
	buf_adds(&comment, ev->out.reason ? ev->out.reason : "");
	if (v->dmarc_notes.len)
		buf_printf(&comment, "; local: %s", v->dmarc_notes.data);
	authres_add(ar, "dmarc", dmarc_result_name(ev->out.result), comment.data);
	if (ev->from_domain)
		authres_prop(ar, "header.from", ev->from_domain);
	if (ev->out.result == DMARC_FAIL || (ev->from_problem && !ev->no_from))
		authres_prop(ar, "policy.dmarc", dmarc_policy_name(v->dmarc_applied == DMARC_POLICY_UNSET
								 ? DMARC_POLICY_NONE : v->dmarc_applied));
	buf_free(&comment);
}

/* add_arc - arc=RESULT (reason; N instances) header.oldest-pass=K smtp.remote-ip=IP */
static void
add_arc(struct authres *ar, const struct session *s, const struct arc_chain *c)
{
	struct buf comment;

	buf_init(&comment);
	arc_chain_reason(c, &comment);
	if (c->instances)
		buf_printf(&comment, "%s%u instance%s", comment.len ? "; " : "", c->instances,
			   c->instances == 1 ? "" : "s");
	authres_add(ar, "arc", arc_status_name(c->status), comment.len ? comment.data : NULL);
	if (c->status == ARC_PASS && c->oldest_pass > 0) {
		buf_reset(&comment);
		buf_printf(&comment, "%u", c->oldest_pass);
		authres_prop(ar, "header.oldest-pass", comment.data);
	}
	/* the client that handed us the chain; nothing to say of no chain */
	if (c->status != ARC_NONE && s->client_ip && *s->client_ip)
		authres_prop(ar, "smtp.remote-ip", s->client_ip);
	buf_free(&comment);
}

static void
build_authres(struct session *s, const struct dkimv_outcome *dk, const struct arc_chain *arc,
	      const struct dmarc_eval *ev, struct verdict *v)
{
	struct authres ar;
	bool null_sender = s->mail_from == NULL || s->mail_from[0] == '\0';

	authres_begin(&ar, s->rt->cfg.authserv_id);
	if (s->spf_mailfrom_done) {
		if (null_sender)
			add_spf(&ar, &s->spf_mailfrom, "smtp.helo", s->upstream_helo ? s->upstream_helo
						 : s->helo ? s->helo : "");
		else
			add_spf(&ar, &s->spf_mailfrom, "smtp.mailfrom", s->mail_from);
	}
	if (s->report_helo)
		add_spf(&ar, &s->spf_helo, "smtp.helo", s->helo ? s->helo : "");
	if (s->dkim)
		add_dkim(&ar, dk, s->headers_unread);
	if (s->arc)
		add_arc(&ar, s, arc);
	add_dmarc(&ar, ev, v);
	v->auth_results = authres_finish(&ar);
}

/* exempt_reason - why this client is not DMARC-enforced, or NULL */
static const char *
exempt_reason(const struct session *s)
{
	if (s->auth_user)
		return "authenticated client";
	/* A border's field was believed: the message is the border's client's. */
	if (s->trusted_net && !s->upstream_used)
		return "trusted network";
	return NULL;
}

/* collect_from_domains - every distinct author domain; false with a problem */
static bool
collect_from_domains(struct session *s, struct fromaddr *all, const char **problem)
{
	memset(all, 0, sizeof(*all));
	if (s->n_from == 0)
		return *problem = "no From header field", false;
	if (s->from_unreadable)
		return *problem = s->from_unreadable, false;
	if (s->n_from > SESSION_MAX_FROM)
		return *problem = "too many From header fields", false;
	for (size_t i = 0; i < s->n_from; i++) {
		struct fromaddr f;
		if (!fromaddr_parse(s->from_values[i], &f)) {
			*problem = f.error;
			fromaddr_free(&f);
			return false;
		}
		for (size_t j = 0; j < f.n; j++) {
			bool seen = false;
			for (size_t k = 0; k < all->n; k++)
				seen |= strcmp(all->domains[k], f.domains[j]) == 0;
			if (seen)
				continue;
			if (all->n == FROMADDR_MAX) {
				/* Dropping a domain could drop the one that fails. */
				fromaddr_free(&f);
				return *problem = "too many From domains", false;
			}
			all->domains[all->n++] = xstrdup(f.domains[j]);
		}
		fromaddr_free(&f);
	}
	return true;
}

/* severity - rank outcomes for evaluate-strictest: the higher, the more a receiver must heed it */
static int
severity(const struct dmarc_outcome *o)
{
	if (o->result == DMARC_FAIL)
		return 10 + (int)o->disposition;
	return o->result == DMARC_TEMPERROR ? 3 : o->result == DMARC_PERMERROR ? 2
	     : o->result == DMARC_NONE ? 1 : 0;
}

static void
evaluate_domain(struct session *s, const struct dkimv_outcome *dk, const char *domain,
		struct dmarc_outcome *out)
{
	struct dmarc_request req = {
		.author_domain = domain,
		.spf_result = s->spf_mailfrom_done ? s->spf_mailfrom.result : SPF_NONE,
		.spf_domain = s->spf_mailfrom.domain,
		.dkim = dk,
		.mode = s->rt->dmarc.mode,
	};
	struct dmarc_ctx ctx = s->rt->dmarc;

	ctx.dns = &s->stage_dns;
	dmarc_evaluate(&ctx, &req, out);
}

/* run_dmarc - the author domain(s), then the evaluation DMARCMultiFrom asks for */
static void
run_dmarc(struct session *s, const struct dkimv_outcome *dk, struct dmarc_eval *ev)
{
	struct fromaddr all;
	const char *problem = NULL;

	memset(ev, 0, sizeof(*ev));
	if ((exempt_reason(s) && s->rt->cfg.trusted_policy == TRUSTED_SKIP))
		return;
	ev->evaluated = true;
	if (!collect_from_domains(s, &all, &problem)) {
		ev->from_problem = problem;
		ev->no_from = s->n_from == 0;
	} else if (all.n > 1 && s->rt->cfg.dmarc_multi_from != MULTI_FROM_STRICTEST) {
		ev->several_domains = true;
		if (s->rt->cfg.dmarc_multi_from == MULTI_FROM_IGNORE)
			ev->evaluated = false;
		else
			ev->from_problem = "several From domains";
	} else {
		for (size_t i = 0; i < all.n; i++) {
			struct dmarc_outcome o;
			evaluate_domain(s, dk, all.domains[i], &o);
			if (i == 0 || severity(&o) > severity(&ev->out)) {
				dmarc_outcome_free(&ev->out);
				ev->out = o;
				free(ev->from_domain);
				ev->from_domain = xstrdup(all.domains[i]);
			} else {
				dmarc_outcome_free(&o);
			}
		}
		ev->several_domains = all.n > 1;
	}
	if (ev->from_problem) {
		ev->out.result = DMARC_PERMERROR;
		ev->out.reason = xstrdup(ev->from_problem);
	}
	fromaddr_free(&all);
}

static void
dmarc_eval_free(struct dmarc_eval *ev)
{
	dmarc_outcome_free(&ev->out);
	free(ev->from_domain);
}

static void
build_summary(struct session *s, const struct dkimv_outcome *dk, const struct arc_chain *arc,
	      const struct dmarc_eval *ev, struct verdict *v)
{
	struct buf b;

	buf_init(&b);
	buf_adds(&b, s->queue_id ? s->queue_id : "NOQUEUE");
	buf_adds(&b, ": client=");
	authres_sanitize(&b, s->client_ip ? s->client_ip : "unknown", 64);
	buf_adds(&b, " helo=");
	authres_sanitize(&b, s->helo ? s->helo : "", 100);
	buf_adds(&b, " from=<");
	authres_sanitize(&b, s->mail_from ? s->mail_from : "", 200);
	buf_addc(&b, '>');
	if (ev->from_domain) {
		buf_adds(&b, " header_from=");
		authres_sanitize(&b, ev->from_domain, 100);
	}
	if (s->spf_mailfrom_done)
		buf_printf(&b, " spf=%s%s", spf_result_name(s->spf_mailfrom.result),
			   s->upstream_used ? " spf_source=upstream" : "");
	if (s->report_helo)
		buf_printf(&b, " spf_helo=%s", spf_result_name(s->spf_helo.result));
	if (s->dkim && !dk->signed_message)
		buf_adds(&b, " dkim=none");
	for (size_t i = 0; i < dk->n_sigs; i++) {
		buf_printf(&b, " dkim=%s/", dkimv_result_name(dk->sigs[i].result));
		authres_sanitize(&b, dk->sigs[i].domain, 100);
	}
	if (dk->n_not_evaluated)
		buf_printf(&b, " dkim_not_evaluated=%zu", dk->n_not_evaluated);
	if (dk->lib_error) {
		buf_adds(&b, " dkim_error=\"");
		authres_sanitize(&b, dk->lib_error, 200);
		buf_addc(&b, '"');
	}
	if (s->headers_unread)
		buf_printf(&b, " headers_unread=\"%s\"", s->headers_unread);
	if (s->arc && arc->status != ARC_NONE) {	/* no chain: nothing to log */
		buf_printf(&b, " arc=%s", arc_status_name(arc->status));
		if (arc->instances)
			buf_printf(&b, "/i=%u", arc->instances);
	}
	if (s->arc_seal_note)
		buf_printf(&b, " arc_seal=\"%s\"", s->arc_seal_note);
	if (ev->evaluated) {
		buf_printf(&b, " dmarc=%s", dmarc_result_name(ev->out.result));
		if (ev->from_domain) {
			buf_addc(&b, '/');
			authres_sanitize(&b, ev->from_domain, 100);
		}
		if (ev->out.result == DMARC_FAIL)
			buf_printf(&b, " dmarc_policy=%s dmarc_applied=%s",
				   dmarc_policy_name(ev->out.disposition),
				   dmarc_policy_name(v->dmarc_applied));
		if (ev->from_problem)
			buf_printf(&b, " from_problem=\"%s\"", ev->from_problem);
		if (v->dmarc_notes.len) {
			buf_adds(&b, " dmarc_local=\"");
			authres_sanitize(&b, v->dmarc_notes.data, 200);
			buf_addc(&b, '"');
		}
	}
	if (s->n_ar_ours)
		buf_printf(&b, " removed_forged_ar=%zu", s->n_ar_ours);
	buf_printf(&b, " action=%s", verdict_action_name(v->action));
	if (v->reply_text && v->smtp_code)
		buf_printf(&b, " reply=\"%s %s %s\"", v->smtp_code, v->smtp_xcode, v->reply_text);
	else if (v->reply_text)
		buf_printf(&b, " reason=\"%s\"", v->reply_text);
	v->summary = buf_steal(&b);
}

/* count_message - the metrics of one finished message's results (the
 * action is counted by the milter once the MTA was told) */
static void
count_message(const struct session *s, const struct dkimv_outcome *dk,
	      const struct arc_chain *arc, const struct dmarc_eval *ev)
{
	struct timespec now;

	if (s->spf_mailfrom_done)
		metrics_spf((int)s->spf_mailfrom.result);
	for (size_t i = 0; i < dk->n_sigs; i++)
		metrics_dkim((int)dk->sigs[i].result);
	if (s->dkim && !dk->signed_message)
		metrics_dkim((int)DKIMV_NONE);
	if (ev->evaluated)
		metrics_dmarc((int)ev->out.result);
	if (s->arc)
		metrics_arc((int)arc->status);
	clock_gettime(CLOCK_MONOTONIC, &now);
	metrics_latency((double)(now.tv_sec - s->started.tv_sec)
			+ (double)(now.tv_nsec - s->started.tv_nsec) / 1e9);
}

/* dkim_unreadable - when a header field could not be passed on (budget, NUL),
 * no signature can be trusted: each is a permerror, and the ones never read
 * are counted, so a signed message is never reported unsigned */
static void
dkim_unreadable(const struct session *s, struct dkimv_outcome *dk)
{
	if (s->headers_unread == NULL || s->n_dkim_fields == 0)
		return;
	dk->signed_message = true;
	for (size_t i = 0; i < dk->n_sigs; i++) {
		dk->sigs[i].result = DKIMV_PERMERROR;
		free(dk->sigs[i].reason);
		dk->sigs[i].reason = xstrdup(s->headers_unread);
	}
	if (s->n_dkim_fields > dk->n_sigs + dk->n_not_evaluated)
		dk->n_not_evaluated = s->n_dkim_fields - dk->n_sigs;
}

/* seal - with ARCSign on, this hop's ARC set for a message we accept: the
 * AAR carries our results (the A-R value after our authserv-id) */
static void
seal(struct session *s, const struct arc_chain *arc, struct verdict *v)
{
	const struct config *cfg = &s->rt->cfg;
	const char *results = v->auth_results, *why = NULL;
	struct verdict_field f[3];
	char *id;

	if (s->arc == NULL || !cfg->arc_sign || cfg->arc_sign_key == NULL)
		return;
	if (v->action != ACTION_ACCEPT) {
		s->arc_seal_note = "message not accepted";
		return;
	}
	/* our A-R is "authserv-id; results" with the id as written there (sanitized) */
	results = strchr(results, ';');
	id = xstrndup(v->auth_results, results ? (size_t)(results - v->auth_results)
					       : strlen(v->auth_results));
	results = results ? results + 1 : "";
	while (*results == ' ')
		results++;
	struct arc_seal_request req = {
		.domain = cfg->arc_sign_domain,
		.selector = cfg->arc_sign_selector,
		.key = cfg->arc_sign_key,
		.authserv_id = id,
		.results = *results ? results : "none",
		.now = time(NULL),
	};
	bool sealed = arc_seal(s->arc, arc, &req, f, &why);

	free(id);
	s->arc_seal_note = sealed ? "sealed" : why;
	if (!sealed)
		return;
	v->add_fields = xrealloc(v->add_fields, (v->n_add_fields + 3) * sizeof(*v->add_fields));
	memcpy(v->add_fields + v->n_add_fields, f, sizeof(f));
	v->n_add_fields += 3;
}

/* session_eom - the verdict for the current message; resets message state */
void
session_eom(struct session *s, struct verdict *v)
{
	struct dkimv_outcome dk = { 0 };
	struct arc_chain arc = { 0 };
	struct dmarc_eval ev;

	memset(v, 0, sizeof(*v));
	if (s->rt == NULL)
		session_mail_from(s, "");	/* an MTA that skipped MAIL FROM: treat as <> */
	/* SPF, then ARC and DMARC run here, in the step the MTA waits for anyway,
	 * each with its own budget (the DKIM keys were fetched at end of headers;
	 * here only for an MTA that sent no end of headers). MAIL never waits, so
	 * it never leaves the event loop. */
	spf_stage(s);
	dns_budget_start(&s->stage_dns, s->rt->cfg.dns_budget);
	if (s->dkim) {
		dkimv_end(s->dkim, &dk);
		dkim_unreadable(s, &dk);
	}
	dns_budget_start(&s->stage_dns, s->rt->cfg.dns_budget);
	if (s->arc)
		arc_verify(s->arc, &arc);
	run_dmarc(s, &dk, &ev);
	struct policy_input in = {
		.cfg = &s->rt->cfg,
		.spf = s->spf_mailfrom_done ? &s->spf_mailfrom : NULL,
		.dkim = &dk,
		.dmarc = &ev,
		.exempt = exempt_reason(s),
		.mailing_list = s->has_list_id,
		.arc = s->arc ? &arc : NULL,
	};
	policy_decide(&in, v);
	if (v->dmarc_override)
		metrics_arc_override();
	build_authres(s, &dk, &arc, &ev, v);
	seal(s, &arc, v);
	if (s->n_ar_ours) {
		v->n_delete = s->n_ar_ours;
		v->delete_ar = xcalloc(s->n_ar_ours, sizeof(size_t));
		memcpy(v->delete_ar, s->ar_ours, s->n_ar_ours * sizeof(size_t));
	}
	build_summary(s, &dk, &arc, &ev, v);
	history_service_offer(&(struct history_input){ .cfg = &s->rt->cfg, .client_ip = s->client_ip,
		.helo = s->helo, .mail_from = s->mail_from, .dkim = &dk, .dmarc = &ev, .verdict = v,
		.spf = s->spf_mailfrom_done ? &s->spf_mailfrom : NULL, .capture = &s->hist });
	count_message(s, &dk, &arc, &ev);
	dkimv_outcome_free(&dk);
	arc_chain_free(&arc);
	dmarc_eval_free(&ev);
	message_reset(s);
}
