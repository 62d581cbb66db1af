/*
 * metrics_http.c — GET /metrics for Prometheus, served by GNU libmicrohttpd
 * inside jgwd's libev loop: no thread of its own. MHD runs in its external
 * epoll mode; its one epoll descriptor is watched by an ev_io, and MHD_run
 * is called when it is readable or when MHD's own timeout (idle and slow
 * connections) falls due.
 *
 * Bounded: at most METRICS_HTTP_CONNECTIONS connections at once, at most
 * METRICS_HTTP_PER_SOURCE from one address, each closed after
 * METRICS_HTTP_TIMEOUT_S without progress. Who may connect at all is the
 * firewall's business (the management networks only, docs/firewall.md).
 * Nothing but /metrics is served, and nothing of a request is logged.
 */
#include "gateway/metrics/metrics.h"

#include <ev.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "filters/base/log.h"

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct metrics_http {
	struct ev_loop *loop;
	struct MHD_Daemon *mhd;
	ev_io io;
	ev_timer timer;
	metrics_http_fn fn;
	void *arg;
};

static void mhd_log(void *arg, const char *fmt, va_list ap)
{
	char msg[256];

	(void)arg;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\r\n")] = '\0';
	log_debug("metrics http: %s", msg);
}

static enum MHD_Result answer_static(struct MHD_Connection *c,
				     unsigned status, const char *body)
{
	struct MHD_Response *rsp = MHD_create_response_from_buffer(strlen(body), (void *)body,
								   MHD_RESPMEM_PERSISTENT);
	enum MHD_Result rc;

	if (!rsp)
		return MHD_NO;
	MHD_add_response_header(rsp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(rsp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	rc = MHD_queue_response(c, status, rsp);
	MHD_destroy_response(rsp);
	return rc;
}

static enum MHD_Result answer_metrics(struct metrics_http *h, struct MHD_Connection *c)
{
	size_t len = 0;
	char *text = h->fn(h->arg, &len);
	struct MHD_Response *rsp;
	enum MHD_Result rc;

	if (!text)
		return answer_static(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "metrics unavailable\n");
	rsp = MHD_create_response_from_buffer_with_free_callback(len, text, free);
	if (!rsp) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(rsp, MHD_HTTP_HEADER_CONTENT_TYPE, CONTENT_TYPE);
	rc = MHD_queue_response(c, MHD_HTTP_OK, rsp);
	MHD_destroy_response(rsp);
	return rc;
}

/* MHD calls this once with the headers and again as the body (if any)
 * arrives; the answer is given after the headers' call, a body is read and
 * dropped (a scrape has none). */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	static int seen;
	struct metrics_http *h = cls;

	(void)version;
	(void)upload;
	if (*con_cls == NULL) {
		*con_cls = &seen;
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0;
		return MHD_YES;
	}
	if (strcmp(url, "/metrics") != 0)
		return answer_static(c, MHD_HTTP_NOT_FOUND, "only /metrics is served here\n");
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return answer_static(c, MHD_HTTP_METHOD_NOT_ALLOWED, "GET or HEAD only\n");
	return answer_metrics(h, c);
}

/* Run MHD, then wake again when it says its next timeout is due. */
static void drive(struct metrics_http *h)
{
	MHD_UNSIGNED_LONG_LONG ms;

	MHD_run(h->mhd);
	ev_timer_stop(h->loop, &h->timer);
	if (MHD_get_timeout(h->mhd, &ms) == MHD_YES) {
		ev_timer_set(&h->timer, (double)ms / 1000.0, 0.0);
		ev_timer_start(h->loop, &h->timer);
	}
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	drive(w->data);
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	drive(w->data);
}

struct metrics_http *metrics_http_start(struct ev_loop *loop, const struct sockaddr *addr,
					 socklen_t addrlen, metrics_http_fn fn, void *arg,
					 char *err, size_t errlen)
{
	struct metrics_http *h = calloc(1, sizeof(*h));
	unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	const union MHD_DaemonInfo *info;
	uint16_t port = 0;

	if (!h) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	(void)addrlen;
	if (addr->sa_family == AF_INET6) {
		flags |= MHD_USE_IPv6;
		port = ntohs(((const struct sockaddr_in6 *)addr)->sin6_port);
	} else {
		port = ntohs(((const struct sockaddr_in *)addr)->sin_port);
	}
	h->loop = loop;
	h->fn = fn;
	h->arg = arg;
	/* The logger first: MHD logs the options that follow through it. */
	h->mhd = MHD_start_daemon(flags, port, NULL, NULL, on_request, h,
				  MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
				  MHD_OPTION_SOCK_ADDR, addr,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned)METRICS_HTTP_CONNECTIONS,
				  MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)METRICS_HTTP_PER_SOURCE,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)METRICS_HTTP_TIMEOUT_S,
				  MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)METRICS_HTTP_CONNECTIONS,
				  MHD_OPTION_END);
	info = h->mhd ? MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD) : NULL;
	if (!info) {
		snprintf(err, errlen, "cannot listen for metrics on port %u (address in use or "
			 "not local?)", port);
		if (h->mhd)
			MHD_stop_daemon(h->mhd);
		free(h);
		return NULL;
	}
	ev_io_init(&h->io, on_io, info->epoll_fd, EV_READ);
	h->io.data = h;
	ev_io_start(loop, &h->io);
	ev_init(&h->timer, on_timer);
	h->timer.data = h;
	return h;
}

void metrics_http_stop(struct metrics_http *h)
{
	if (!h)
		return;
	ev_io_stop(h->loop, &h->io);
	ev_timer_stop(h->loop, &h->timer);
	MHD_stop_daemon(h->mhd);
	free(h);
}
