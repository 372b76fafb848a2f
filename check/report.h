/*
 * report - the checker's findings: one item per check, with a stable id, a
 * status word, one sentence saying what was found, one sentence of advice
 * when something is wrong, and details for --json. Printed either as a
 * readable report grouped by area or as the JSON of DESIGN.md contract 10.
 */
#ifndef AUTHMILTER_CHECK_REPORT_H
#define AUTHMILTER_CHECK_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "../lib/buf.h"

enum check_status { CHECK_OK, CHECK_WARN, CHECK_FAIL, CHECK_ERROR };

struct check_item {
	char *id;
	enum check_status status;
	char *message;
	char *advice;		/* NULL when there is nothing to do */
	char *extra;		/* more lines for the readable report (a tree), or NULL */
	struct buf details;	/* JSON members "k": v, comma-separated, no braces */
};

struct report {
	char *domain;
	struct check_item *items;
	size_t n, cap;
};

void report_init(struct report *r, const char *domain);
void report_free(struct report *r);
struct check_item *report_add(struct report *r, const char *id, enum check_status st,
			      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void item_advice(struct check_item *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void item_extra(struct check_item *c, const char *text);
void item_str(struct check_item *c, const char *key, const char *value);
void item_int(struct check_item *c, const char *key, long long value);
void item_bool(struct check_item *c, const char *key, bool value);
void item_raw(struct check_item *c, const char *key, const char *json);

void json_string(struct buf *b, const char *s);
const char *check_status_name(enum check_status st);

void report_print_text(const struct report *r, FILE *fp, bool colour);
void report_print_json(const struct report *r, FILE *fp);
/* 0 all ok, 1 warnings, 2 failures, 3 could not check (an error anywhere) */
int report_exit_status(const struct report *r);

#endif
