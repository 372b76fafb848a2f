/*
 * metrics_http - a libmicrohttpd daemon with one resource: /metrics.
 *
 * Its polling thread inherits the signal mask of the thread that starts it;
 * main() blocks SIGHUP and the others before (signals.h), or a SIGHUP that
 * landed on that thread would kill the process (default action).
 */
#include "metrics_http.h"
#include "../lib/buf.h"
#include "../lib/dns.h"
#include "../lib/metrics.h"

#include <microhttpd.h>
#include <stdio.h>
#include <string.h>

static struct MHD_Daemon *metrics_daemon;

static enum MHD_Result
answer(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
       const char *version, const char *data, size_t *data_size, void **state)
{
	struct MHD_Response *resp;
	struct buf body;
	enum MHD_Result rc;
	unsigned status = MHD_HTTP_OK;

	(void)cls, (void)version, (void)data, (void)data_size, (void)state;
	buf_init(&body);
	if (strcmp(method, "GET") != 0 || strcmp(url, "/metrics") != 0) {
		status = MHD_HTTP_NOT_FOUND;
		buf_adds(&body, "authmilter serves /metrics only\n");
	} else {
		metrics_render(&body);
	}
	resp = MHD_create_response_from_buffer(body.len, body.data, MHD_RESPMEM_MUST_COPY);
	buf_free(&body);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	rc = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return rc;
}

/* metrics_http_start - listen on "ip:port" or "[ipv6]:port" */
bool
metrics_http_start(const char *listen, char *why, size_t why_size)
{
	struct dns_server addr;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;

	if (!dns_server_parse(listen, &addr) || strrchr(listen, ':') == NULL) {
		snprintf(why, why_size, "MetricsListen wants ip:port, not \"%s\"", listen);
		return false;
	}
	if (addr.addr.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	metrics_daemon = MHD_start_daemon(flags, 0, NULL, NULL, answer, NULL,
					  MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr.addr,
					  MHD_OPTION_CONNECTION_LIMIT, 16U,
					  MHD_OPTION_CONNECTION_TIMEOUT, 10U,
					  MHD_OPTION_END);
	if (metrics_daemon == NULL) {
		snprintf(why, why_size, "cannot serve metrics on %s", listen);
		return false;
	}
	return true;
}

/* metrics_http_stop - shut the HTTP daemon down */
void
metrics_http_stop(void)
{
	if (metrics_daemon)
		MHD_stop_daemon(metrics_daemon);
	metrics_daemon = NULL;
}
