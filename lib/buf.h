/*
 * buf - growable byte string for everything built from network data.
 *
 * A buf is always NUL-terminated, so ->data can be used as a C string when
 * the content has no NUL of its own. Allocation failure is fatal (xalloc),
 * so callers never see a half-built string.
 */
#ifndef AUTHMILTER_BUF_H
#define AUTHMILTER_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
};

void buf_init(struct buf *b);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
/* room for extra more bytes (and the NUL) without changing len: for writers into data */
void buf_reserve(struct buf *b, size_t extra);
void buf_add(struct buf *b, const void *data, size_t len);
void buf_adds(struct buf *b, const char *s);
void buf_addc(struct buf *b, char c);
void buf_vprintf(struct buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
void buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
char *buf_steal(struct buf *b);

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* called with the size asked for when an allocation fails, just before abort() */
void buf_set_oom_handler(void (*fn)(size_t n));

#endif
