/*
 * fuzz_arc - a whole message into lib/arc the way the session feeds it:
 * header fields one by one (name, raw value with its folding), end of
 * headers, the body in chunks while the verifier wants it, the chain's
 * verdict, then this hop's seal over the same message.
 *
 * Keys come from a fake DNS: the ValiMail suite's key records and those of
 * the sealed seed messages (arc_keys.inc, written by gen_arc_seeds.py) are
 * planted in the cache before every message, so the seeds' chains verify
 * and any other selector is a temporary failure without a packet leaving
 * the process. The sealing key is the suite's (a PEM in arc_keys.inc).
 */
#include "arc.h"
#include "fakedns.h"
#include "fuzzmsg.h"
#include "buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arc_keys.inc"		/* arc_fuzz_keys[], arc_fuzz_seal_pem */
#define N_KEYS (sizeof(arc_fuzz_keys) / sizeof(arc_fuzz_keys[0]))

static struct dns dns;
static bool verbose;		/* FUZZ_VERBOSE=1: print each result, to check the seeds */
static struct fuzzmsg_zone zone;
static struct arc_key *seal_key;
static struct arc_settings settings = { .dns = &dns, .min_key_bits = 1024, .sealing = true };

/* load_seal_key - the PEM goes through a file, as arc_key_load reads one */
static void
load_seal_key(void)
{
	char path[] = "/tmp/fuzz_arc_key.XXXXXX";
	int fd = mkstemp(path);
	struct buf why;

	if (fd < 0 || write(fd, arc_fuzz_seal_pem, strlen(arc_fuzz_seal_pem)) !=
		      (ssize_t)strlen(arc_fuzz_seal_pem))
		abort();
	close(fd);
	buf_init(&why);
	seal_key = arc_key_load(path, &why);
	unlink(path);
	if (seal_key == NULL) {
		fprintf(stderr, "fuzz_arc: sealing key: %s\n", why.data ? why.data : "?");
		abort();
	}
	buf_free(&why);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	verbose = getenv("FUZZ_VERBOSE") != NULL;
	fakedns_init(&dns);
	fuzzmsg_zone_init(&zone, arc_fuzz_keys, N_KEYS);
	load_seal_key();
	return 0;
}

/* feed_header - one field: "Name:value" plus its continuation lines, the
 * value passed raw (folding kept, without the last line break) as the
 * milter hands it over; as in session.c, a NUL byte makes the field
 * unreadable, and every field after it is only counted (*unread sticks) */
static void
feed_header(struct arc_msg *m, const char *start, const char *stop, const char **unread)
{
	const char *colon = memchr(start, ':', (size_t)(stop - start));
	size_t len;
	char *name;

	if (colon == NULL || colon == start)
		return;
	len = (size_t)(stop - colon - 1);
	while (len && (colon[len] == '\n' || colon[len] == '\r'))
		len--;
	if (memchr(start, '\0', (size_t)(stop - start)) != NULL)
		*unread = "NUL byte in a header field";
	name = xstrndup(start, (size_t)(colon - start));
	if (*unread)
		arc_unreadable(m, name, *unread);
	else
		arc_header(m, name, colon + 1, len);
	free(name);
}

/* check_chain - what any verdict must look like */
static void
check_chain(const struct arc_chain *c)
{
	if (c->status > ARC_PERMERROR || c->n_sets > ARC_MAX_INSTANCES)
		abort();
	if (c->status == ARC_PASS && (c->instances == 0 || c->instances > ARC_MAX_INSTANCES ||
				      c->n_sets != c->instances))
		abort();
	if (c->status == ARC_NONE && c->instances != 0)
		abort();
	if (c->oldest_pass > c->instances)
		abort();
	for (size_t i = 0; c->status == ARC_PASS && i < c->n_sets; i++)
		if (c->sets[i].instance != i + 1)
			abort();
	if (verbose)
		fprintf(stderr, "fuzz_arc: arc=%s (%s) instances=%u oldest-pass=%u\n",
			arc_status_name(c->status), c->reason ? c->reason : "", c->instances,
			c->oldest_pass);
}

/* try_seal - this hop's set: three fields in order, or a reason */
static void
try_seal(struct arc_msg *m, const struct arc_chain *c)
{
	static const char *names[3] = { "ARC-Authentication-Results", "ARC-Message-Signature",
					 "ARC-Seal" };
	struct arc_seal_request req = {
		.domain = "example.org", .selector = "dummy", .key = seal_key,
		.authserv_id = "fuzz.example", .results = "spf=pass smtp.mailfrom=a@example.org",
		.now = 1700000000,
	};
	struct verdict_field out[3];
	const char *why = NULL;

	memset(out, 0, sizeof(out));
	if (!arc_seal(m, c, &req, out, &why)) {
		if (why == NULL)
			abort();
		if (c->status == ARC_PASS && c->instances < ARC_MAX_INSTANCES && verbose)
			fprintf(stderr, "fuzz_arc: no seal on a passing chain: %s\n", why);
		return;
	}
	if (c->instances >= ARC_MAX_INSTANCES)
		abort();		/* never past instance 50 */
	for (int i = 0; i < 3; i++) {
		if (out[i].name == NULL || out[i].value == NULL || strcmp(out[i].name, names[i]) != 0)
			abort();
		if (strchr(out[i].value, '\n') != NULL || strchr(out[i].value, '\r') != NULL)
			abort();	/* test mode and the milter want them unfolded */
		if (verbose)
			fprintf(stderr, "fuzz_arc: %s: %.60s...\n", out[i].name, out[i].value);
		free(out[i].name);
		free(out[i].value);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size, *field, *stop, *unread = NULL;
	struct arc_chain chain;
	struct arc_msg *m;

	fuzzmsg_zone_plant(&dns, &zone);
	m = arc_begin(&settings);
	while (fuzzmsg_field(&p, end, &field, &stop))
		feed_header(m, field, stop, &unread);
	arc_eoh(m);
	while (p < end && arc_wants_body(m)) {
		size_t n = (size_t)(end - p) > 4096 ? 4096 : (size_t)(end - p);
		arc_body(m, p, n);
		p += n;
	}
	memset(&chain, 0, sizeof(chain));
	arc_verify(m, &chain);
	check_chain(&chain);
	try_seal(m, &chain);
	arc_chain_free(&chain);
	arc_free(m);
	return 0;
}
