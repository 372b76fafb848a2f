/*
 * proto - decode and encode milter packets. Every decoder works inside the
 * packet it is given and returns false (or 0) for anything malformed; the
 * caller closes the connection then. Nothing here allocates but the output
 * buffer.
 */
#include "proto.h"

#include <string.h>

/* get32 - a big-endian 32-bit word */
static uint32_t
get32(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;

	return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
}

/* put32 - append a big-endian 32-bit word */
static void
put32(struct buf *out, uint32_t v)
{
	char w[4] = { (char)(v >> 24), (char)(v >> 16), (char)(v >> 8), (char)v };

	buf_add(out, w, sizeof(w));
}

/*
 * proto_next - the packet at the start of buf[0..n): PROTO_MORE until it is
 * all there, PROTO_BAD for a length of 0 or over the limit (never waits for
 * more than one packet's worth; p->len is then the length it says), *used =
 * bytes it takes.
 */
enum proto_status
proto_next(const char *buf, size_t n, struct proto_packet *p, size_t *used)
{
	uint32_t len;

	if (n < MILTER_LEN_BYTES)
		return PROTO_MORE;
	len = get32(buf);
	if (len == 0 || len - 1 > PROTO_MAX_DATA) {
		p->len = len;
		return PROTO_BAD;
	}
	if (n - MILTER_LEN_BYTES < len)
		return PROTO_MORE;
	p->cmd = buf[MILTER_LEN_BYTES];
	p->data = buf + MILTER_LEN_BYTES + 1;
	p->len = len - 1;
	*used = MILTER_LEN_BYTES + (size_t)len;
	return PROTO_OK;
}

/*
 * proto_strings - the packet's NUL-terminated strings into argv (at most
 * max); 0 when the data is empty, does not end with a NUL or has more.
 */
size_t
proto_strings(const struct proto_packet *p, const char **argv, size_t max)
{
	size_t argc = 0, off = 0;

	if (p->len == 0 || p->data[p->len - 1] != '\0')
		return 0;
	while (off < p->len) {
		if (argc == max)
			return 0;
		argv[argc++] = p->data + off;
		off += strlen(p->data + off) + 1;
	}
	return argc;
}

/* proto_optneg - the MTA's version, actions and protocol words */
bool
proto_optneg(const struct proto_packet *p, uint32_t *version, uint32_t *actions,
	     uint32_t *protocol)
{
	if (p->len < MILTER_OPTLEN)
		return false;
	*version = get32(p->data);
	*actions = get32(p->data + 4);
	*protocol = get32(p->data + 8);
	return true;
}

/*
 * proto_connect - host name, family, [port, address]: *addr is the address
 * text for an inet family, NULL for unix or unknown.
 */
bool
proto_connect(const struct proto_packet *p, const char **host, const char **addr)
{
	const char *end = p->data + p->len, *q;
	size_t hlen;

	*addr = NULL;
	q = memchr(p->data, '\0', p->len);
	if (q == NULL)
		return false;
	*host = p->data;
	hlen = (size_t)(q - p->data) + 1;
	if (hlen == p->len)
		return false;	/* no family byte */
	q = p->data + hlen;
	if (*q == SMFIA_UNKNOWN)
		return true;
	/* family, 16-bit port, NUL-terminated address */
	if (end - q < 4 || end[-1] != '\0' || memchr(q + 3, '\0', (size_t)(end - q - 3)) != end - 1)
		return false;
	if (*q == SMFIA_INET || *q == SMFIA_INET6)
		*addr = q + 3;
	return true;
}

/* proto_put - one packet */
void
proto_put(struct buf *out, char cmd, const void *data, size_t len)
{
	put32(out, (uint32_t)len + 1);
	buf_addc(out, cmd);
	if (len)
		buf_add(out, data, len);
}

/* proto_put_optneg - our answer; lists[i] non-NULL: the macros we want at stage i */
void
proto_put_optneg(struct buf *out, uint32_t version, uint32_t actions, uint32_t protocol,
		 const char *const lists[PROTO_STAGES])
{
	struct buf d;

	buf_init(&d);
	put32(&d, version);
	put32(&d, actions);
	put32(&d, protocol);
	for (uint32_t i = 0; lists && i < PROTO_STAGES; i++) {
		if (lists[i] == NULL)
			continue;
		put32(&d, i);
		buf_add(&d, lists[i], strlen(lists[i]) + 1);
	}
	proto_put(out, SMFIC_OPTNEG, d.data, d.len);
	buf_free(&d);
}

/* proto_put_header - insert (index, name, value) or change (index, name, value) */
void
proto_put_header(struct buf *out, char cmd, uint32_t index, const char *name, const char *value)
{
	struct buf d;

	buf_init(&d);
	put32(&d, index);
	buf_add(&d, name, strlen(name) + 1);
	buf_add(&d, value, strlen(value) + 1);
	proto_put(out, cmd, d.data, d.len);
	buf_free(&d);
}

/* proto_put_string - a packet carrying one NUL-terminated string */
void
proto_put_string(struct buf *out, char cmd, const char *s)
{
	proto_put(out, cmd, s, strlen(s) + 1);
}
