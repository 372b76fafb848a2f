/*
 * fromaddr - tokenize a From field (CFWS skipped), then read the mailbox
 * list with one token of lookahead.
 */
#include "fromaddr.h"
#include "buf.h"

#include <ctype.h>
#include <idn2.h>
#include <stdlib.h>
#include <string.h>

#define FROMADDR_MAX_TOKENS 4096
#define FROMADDR_MAX_COMMENT_DEPTH 32

enum tok_type { TOK_ATOM, TOK_QSTRING, TOK_DLITERAL, TOK_SPECIAL, TOK_END };

struct token {
	enum tok_type type;
	const char *start;
	size_t len;
};

struct lexer {
	struct token toks[FROMADDR_MAX_TOKENS];
	size_t n, pos;
	const char *error;
};

/* is_atext - RFC 5322 atext, '.' (obs-phrase, dot-atom) and UTF-8 (RFC 6532) */
static bool
is_atext(unsigned char c)
{
	return isalnum(c) || c >= 0x80 || (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~.", c) != NULL);
}

/* skip_comment - past a (nested) comment starting at p, or NULL with *why */
static const char *
skip_comment(const char *p, const char **why)
{
	int depth = 0;

	*why = "unterminated comment";
	for (; *p; p++) {
		if (*p == '\\' && p[1])
			p++;
		else if (*p == '(' && ++depth > FROMADDR_MAX_COMMENT_DEPTH)
			return *why = "comments nested too deep", NULL;
		else if (*p == ')' && --depth == 0)
			return p + 1;
	}
	return NULL;
}

static bool
push(struct lexer *lx, enum tok_type type, const char *start, size_t len)
{
	if (lx->n == FROMADDR_MAX_TOKENS) {
		lx->error = "From field too complex";
		return false;
	}
	lx->toks[lx->n++] = (struct token){ type, start, len };
	return true;
}

/* lex - split the field into tokens; false with lx->error on bad syntax */
static bool
lex(struct lexer *lx, const char *p)
{
	while (*p) {
		unsigned char c = (unsigned char)*p;
		const char *start = p;

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			p++;
		} else if (c == '(') {
			if ((p = skip_comment(p, &lx->error)) == NULL)
				return false;
		} else if (c == '"') {
			for (p++; *p && *p != '"'; p++)
				if (*p == '\\' && p[1])
					p++;
			if (*p != '"')
				return lx->error = "unterminated quoted string", false;
			p++;
			if (!push(lx, TOK_QSTRING, start, (size_t)(p - start)))
				return false;
		} else if (c == '[') {
			while (*p && *p != ']' && *p != '[')
				p++;
			if (*p != ']')
				return lx->error = "unterminated domain literal", false;
			p++;
			if (!push(lx, TOK_DLITERAL, start, (size_t)(p - start)))
				return false;
		} else if (strchr("<>:;,@", c)) {
			p++;
			if (!push(lx, TOK_SPECIAL, start, 1))
				return false;
		} else if (is_atext(c)) {
			while (*p && is_atext((unsigned char)*p))
				p++;
			if (!push(lx, TOK_ATOM, start, (size_t)(p - start)))
				return false;
		} else {
			return lx->error = "character not allowed in From", false;
		}
	}
	return push(lx, TOK_END, p, 0);
}

static const struct token *
peek(const struct lexer *lx)
{
	return &lx->toks[lx->pos];
}

static bool
is_special(const struct token *t, char c)
{
	return t->type == TOK_SPECIAL && t->start[0] == c;
}

/* domain_to_ascii - lower case, no trailing dot, U-labels to A-labels; NULL if invalid */
static char *
domain_to_ascii(const char *d, size_t len)
{
	char *copy, *ascii = NULL;
	size_t label = 0;

	if (len > 0 && d[len - 1] == '.')
		len--;
	if (len == 0 || len > 1024)
		return NULL;
	copy = xstrndup(d, len);
	if (idn2_to_ascii_8z(copy, &ascii, IDN2_NONTRANSITIONAL) != IDN2_OK) {
		free(copy);
		return NULL;
	}
	free(copy);
	len = strlen(ascii);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)ascii[i];
		if (c == '.') {
			if (label == 0)
				goto bad;
			label = 0;
			continue;
		}
		if (!(isalnum(c) || c == '-' || c == '_') || ++label > 63)
			goto bad;
		ascii[i] = (char)tolower(c);
	}
	if (label == 0 || len > 253)
		goto bad;
	return ascii;
bad:
	idn2_free(ascii);
	return NULL;
}

static bool
add_domain(struct fromaddr *out, const struct token *t, struct lexer *lx)
{
	char *idn, *mine;

	if (t->type == TOK_DLITERAL)
		return lx->error = "domain literal has no DMARC domain", false;
	if (t->type != TOK_ATOM || (idn = domain_to_ascii(t->start, t->len)) == NULL)
		return lx->error = "invalid domain", false;
	mine = xstrdup(idn);
	idn2_free(idn);
	if (out->n == FROMADDR_MAX) {
		free(mine);
		return lx->error = "too many addresses in From", false;
	}
	out->domains[out->n++] = mine;
	return true;
}

/* addr_spec - local-part "@" domain; the local part is words, possibly dotted */
static bool
addr_spec(struct lexer *lx, struct fromaddr *out)
{
	size_t words = 0;

	while (peek(lx)->type == TOK_ATOM || peek(lx)->type == TOK_QSTRING)
		lx->pos++, words++;
	if (words == 0 || !is_special(peek(lx), '@'))
		return lx->error = "address without local-part@domain", false;
	lx->pos++;
	if (!add_domain(out, peek(lx), lx))
		return false;
	lx->pos++;
	return true;
}

/* angle_addr - "<" [obs-route ":"] addr-spec ">" */
static bool
angle_addr(struct lexer *lx, struct fromaddr *out)
{
	lx->pos++;	/* '<' */
	if (is_special(peek(lx), '@') || is_special(peek(lx), ',')) {
		/* obs-route: @a,@b: -- skip to the colon */
		while (peek(lx)->type != TOK_END && !is_special(peek(lx), ':')) {
			if (is_special(peek(lx), '>'))
				return lx->error = "bad source route", false;
			lx->pos++;
		}
		if (!is_special(peek(lx), ':'))
			return lx->error = "bad source route", false;
		lx->pos++;
	}
	if (is_special(peek(lx), '>'))
		return lx->error = "empty angle address", false;
	if (!addr_spec(lx, out))
		return false;
	if (!is_special(peek(lx), '>'))
		return lx->error = "angle address not closed", false;
	lx->pos++;
	return true;
}

/* mailbox - name-addr or addr-spec */
static bool
mailbox(struct lexer *lx, struct fromaddr *out)
{
	size_t start = lx->pos;

	while (peek(lx)->type == TOK_ATOM || peek(lx)->type == TOK_QSTRING)
		lx->pos++;
	if (is_special(peek(lx), '<'))
		return angle_addr(lx, out);	/* display name read */
	lx->pos = start;
	return addr_spec(lx, out);
}

/* starts_group - display-name ":" ahead? */
static bool
starts_group(const struct lexer *lx)
{
	size_t i = lx->pos;

	while (lx->toks[i].type == TOK_ATOM || lx->toks[i].type == TOK_QSTRING)
		i++;
	return i > lx->pos && is_special(&lx->toks[i], ':');
}

/* group - display-name ":" [mailbox-list] ";" */
static bool
group(struct lexer *lx, struct fromaddr *out)
{
	while (!is_special(peek(lx), ':'))
		lx->pos++;
	lx->pos++;
	for (;;) {
		if (is_special(peek(lx), ';')) {
			lx->pos++;
			return true;
		}
		if (is_special(peek(lx), ',')) {
			lx->pos++;	/* obs-group-list allows empty members */
			continue;
		}
		if (peek(lx)->type == TOK_END)
			return lx->error = "group not closed with ;", false;
		if (!mailbox(lx, out))
			return false;
		if (!is_special(peek(lx), ',') && !is_special(peek(lx), ';'))
			return lx->error = "junk after address in group", false;
	}
}

/* fromaddr_parse - every mailbox's domain; false with out->error if malformed */
bool
fromaddr_parse(const char *value, struct fromaddr *out)
{
	struct lexer *lx = xcalloc(1, sizeof(*lx));
	bool ok = true;

	memset(out, 0, sizeof(*out));
	if (!lex(lx, value)) {
		ok = false;
		goto done;
	}
	while (ok && peek(lx)->type != TOK_END) {
		if (is_special(peek(lx), ',')) {
			lx->pos++;	/* obs-mbox-list: empty elements */
			continue;
		}
		ok = starts_group(lx) ? group(lx, out) : mailbox(lx, out);
		if (ok && !is_special(peek(lx), ',') && peek(lx)->type != TOK_END) {
			lx->error = "junk after address";
			ok = false;
		}
	}
	if (ok && out->n == 0) {
		lx->error = "no address in From";
		ok = false;
	}
done:
	out->error = ok ? NULL : lx->error;
	free(lx);
	return ok;
}

/* fromaddr_free - release the domains */
void
fromaddr_free(struct fromaddr *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->domains[i]);
	f->n = 0;
}
