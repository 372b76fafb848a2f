/*
 * buf - growable byte string; x* allocation wrappers that never return NULL.
 */
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

static void (*oom_handler)(size_t n);

/* buf_set_oom_handler - who says "out of memory" before we abort (lib/ never logs) */
void
buf_set_oom_handler(void (*fn)(size_t n))
{
	oom_handler = fn;
}

/* oom - the one way out of a failed allocation */
static _Noreturn void
oom(size_t n)
{
	if (oom_handler)
		oom_handler(n);
	else
		fputs("authmilter: out of memory\n", stderr);
	abort();
}

/* xmalloc - allocate or die: a milter out of memory cannot give a safe verdict */
void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		oom(n);
	return p;
}

/* xcalloc - zeroed allocation with overflow check */
void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		oom(size && n > SIZE_MAX / size ? SIZE_MAX : n * size);
	return p;
}

/* xrealloc - resize or die */
void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		oom(n);
	return q;
}

/* xstrdup - copy a C string */
char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

/* xstrndup - copy at most n bytes and terminate */
char *
xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* buf_init - empty string, no allocation yet */
void
buf_init(struct buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

/* buf_free - release storage; the buf may be reused after buf_init */
void
buf_free(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

/* buf_reset - keep storage, drop content */
void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

/* buf_reserve - room for extra more bytes and the NUL */
void
buf_reserve(struct buf *b, size_t extra)
{
	size_t need;

	if (extra > SIZE_MAX / 2 - b->len)
		oom(SIZE_MAX);		/* more than can ever be allocated */
	need = b->len + extra + 1;
	if (need <= b->cap)
		return;
	/* Greedy: double, so appends stay amortised O(1). */
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
}

/* buf_add - append bytes */
void
buf_add(struct buf *b, const void *data, size_t len)
{
	buf_reserve(b, len);
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

/* buf_adds - append a C string */
void
buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

/* buf_addc - append one byte */
void
buf_addc(struct buf *b, char c)
{
	buf_add(b, &c, 1);
}

/* buf_vprintf - append formatted text from a va_list */
void
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list again;
	int n;

	va_copy(again, ap);
	n = vsnprintf(NULL, 0, fmt, ap);
	if (n >= 0) {
		buf_reserve(b, (size_t)n);
		vsnprintf(b->data + b->len, (size_t)n + 1, fmt, again);
		b->len += (size_t)n;
	}
	va_end(again);
}

/* buf_printf - append formatted text */
void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
}

/* buf_steal - hand the storage to the caller (never NULL) */
char *
buf_steal(struct buf *b)
{
	char *s;

	if (b->data == NULL)
		buf_reserve(b, 0), b->data[0] = '\0';
	s = b->data;
	buf_init(b);
	return s;
}
