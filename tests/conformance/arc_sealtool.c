/*
 * arc_sealtool - test-only: the ARC set authmilter would add to a message,
 * through the same lib/arc calls as the milter (arc_begin, arc_header,
 * arc_eoh, arc_body, arc_verify, arc_seal).
 *
 *   arc_sealtool MESSAGE_FILE --domain D --selector S --key PEM --time T
 *       --srv-id ID --ar RESULTS [--headers h1:h2:...]
 *       [--nameserver IP:PORT] [--cv none|pass|fail] [--min-key-bits N]
 *
 * The chain is validated with keys from --nameserver (default: resolv.conf);
 * --cv takes the chain status as given instead (the ValiMail signing suite
 * states it in an Authentication-Results field). Prints the AAR, AMS and AS
 * one per line ("Name: value", unfolded), or "no seal: WHY" and exit 1.
 * Exit 2 on a usage or input error. Built by make check as a check program,
 * so the harness also runs it bare: without arguments it says so and exits
 * 77 (skip), being a tool, not a test.
 */
#include "../../lib/arc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LINE_FIELD (1024 * 1024 * 8)

struct opts {
	const char *file, *domain, *selector, *key, *srv_id, *ar, *headers, *ns, *cv;
	long long when;
	unsigned min_bits;
};

static int
usage(void)
{
	fprintf(stderr, "usage: arc_sealtool MESSAGE_FILE --domain D --selector S --key PEM"
		" --time T --srv-id ID --ar RESULTS [--headers h1:h2:...]"
		" [--nameserver IP:PORT] [--cv none|pass|fail] [--min-key-bits N]\n");
	return 2;
}

static bool
parse_args(int argc, char **argv, struct opts *o)
{
	memset(o, 0, sizeof(*o));
	o->min_bits = 1024;
	o->when = -1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (a[0] != '-' || a[1] != '-') {
			if (o->file)
				return false;
			o->file = a;
			continue;
		}
		if (v == NULL)
			return false;
		i++;
		if (!strcmp(a, "--domain")) o->domain = v;
		else if (!strcmp(a, "--selector")) o->selector = v;
		else if (!strcmp(a, "--key")) o->key = v;
		else if (!strcmp(a, "--time")) o->when = atoll(v);
		else if (!strcmp(a, "--srv-id")) o->srv_id = v;
		else if (!strcmp(a, "--ar")) o->ar = v;
		else if (!strcmp(a, "--headers")) o->headers = v;
		else if (!strcmp(a, "--nameserver")) o->ns = v;
		else if (!strcmp(a, "--cv")) o->cv = v;
		else if (!strcmp(a, "--min-key-bits")) o->min_bits = (unsigned)atoi(v);
		else return false;
	}
	return o->file && o->domain && o->selector && o->key && o->when >= 0 && o->srv_id && o->ar;
}

/* feed - header fields (continuation lines kept, with their line ends), then the body */
static bool
feed(struct arc_msg *m, FILE *fp)
{
	struct buf field, line;
	int c;
	bool in_body = false;

	buf_init(&field);
	buf_init(&line);
	for (;;) {
		buf_reset(&line);
		while ((c = fgetc(fp)) != EOF) {
			buf_addc(&line, (char)c);
			if (c == '\n')
				break;
		}
		bool eof = line.len == 0;
		bool cont = !eof && (line.data[0] == ' ' || line.data[0] == '\t');
		bool blank = !eof && (strcmp(line.data, "\n") == 0 || strcmp(line.data, "\r\n") == 0);
		if (field.len && !cont) {
			char *colon = memchr(field.data, ':', field.len);
			size_t n = field.len;
			while (n > 0 && (field.data[n - 1] == '\n' || field.data[n - 1] == '\r'))
				n--;
			if (colon) {
				*colon = '\0';
				arc_header(m, field.data, colon + 1, n - (size_t)(colon + 1 - field.data));
			}
			buf_reset(&field);
		}
		if (eof || blank) {
			in_body = blank;
			break;
		}
		buf_add(&field, line.data, line.len);
		if (field.len > MAX_LINE_FIELD)
			return buf_free(&field), buf_free(&line), false;
	}
	arc_eoh(m);
	if (in_body) {
		char chunk[65536];
		size_t n;
		while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
			arc_body(m, chunk, n);
	}
	buf_free(&field);
	buf_free(&line);
	return true;
}

static struct dns_server servers[DNS_MAX_SERVERS];

static int
run(const struct opts *o, struct arc_key *key)
{
	struct dns dns;
	int n = 0;
	FILE *fp = fopen(o->file, "rb");
	struct arc_chain chain;
	struct verdict_field f[3];
	const char *why = NULL;

	if (fp == NULL) {
		perror(o->file);
		return 2;
	}
	if (o->ns)
		n = dns_server_parse(o->ns, &servers[0]) ? 1 : 0;
	else
		n = dns_servers_from_resolv_conf("/etc/resolv.conf", servers, DNS_MAX_SERVERS);
	dns_init(&dns, servers, n, 2, 0, NULL);
	struct arc_msg *m = arc_begin(&(struct arc_settings){
		.dns = &dns, .min_key_bits = o->min_bits, .sealing = true,
		.sign_headers = o->headers });
	if (!feed(m, fp)) {
		fclose(fp);
		arc_free(m);
		fprintf(stderr, "arc_sealtool: a header field is too long\n");
		return 2;
	}
	fclose(fp);
	arc_verify(m, &chain);
	if (o->cv) {
		chain.status = !strcmp(o->cv, "pass") ? ARC_PASS : !strcmp(o->cv, "fail") ? ARC_FAIL
			       : ARC_NONE;
	}
	struct arc_seal_request req = {
		.domain = o->domain, .selector = o->selector, .key = key, .authserv_id = o->srv_id,
		.results = o->ar, .now = (time_t)o->when,
	};
	bool ok = arc_seal(m, &chain, &req, f, &why);
	if (ok) {
		for (int i = 0; i < 3; i++) {
			printf("%s: %s\n", f[i].name, f[i].value);
			free(f[i].name);
			free(f[i].value);
		}
	} else {
		printf("no seal: %s\n", why);
	}
	arc_chain_free(&chain);
	arc_free(m);
	return ok ? 0 : 1;
}

int
main(int argc, char **argv)
{
	struct opts o;
	struct buf why;
	struct arc_key *key;
	int rc;

	if (argc == 1) {
		printf("SKIP: arc_sealtool is a tool for the ARC signing tests\n");
		return 77;
	}
	if (!parse_args(argc, argv, &o))
		return usage();
	buf_init(&why);
	key = arc_key_load(o.key, &why);
	if (key == NULL) {
		fprintf(stderr, "arc_sealtool: %s\n", why.data);
		buf_free(&why);
		return 2;
	}
	buf_free(&why);
	rc = run(&o, key);
	arc_key_free(key);
	return rc;
}
