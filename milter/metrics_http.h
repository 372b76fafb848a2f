/*
 * metrics_http - serve lib/metrics over HTTP (GET /metrics) with libmicrohttpd.
 */
#ifndef AUTHMILTER_METRICS_HTTP_H
#define AUTHMILTER_METRICS_HTTP_H

#include <stdbool.h>
#include <stddef.h>

bool metrics_http_start(const char *listen, char *why, size_t why_size);
void metrics_http_stop(void);

#endif
