/*
 * http_server: the libmicrohttpd side of otad.  A request gets a struct
 * http_req on its first callback; the route is matched and the caller
 * authenticated there, before any body is read, so an unauthorised upload
 * is refused without receiving it.  Replies queued while a body is still
 * arriving are kept and sent when MHD allows.  Every request ends in
 * on_completed, which writes its log line and frees its state.  A
 * connection's headers are due header_timeout_sec after its accept or its
 * previous request (http_deadline), and one address may hold at most
 * max_connections_per_address connections.
 */
#include "http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "errors.h"
#include "http_deadline.h"
#include "http_reply.h"
#include "http_req.h"
#include "json_util.h"
#include "log.h"
#include "memtrim.h"
#include "metrics.h"
#include "store.h"
#include "timeutil.h"
#include "tls.h"

/* libmicrohttpd messages logged per second at most: a client refused at
 * the connection limits, or failing its TLS handshake, makes one each. */
#define MHD_LOG_PER_SEC 10
/* How late after its deadline a connection without headers is closed. */
#define DEADLINE_TICK_MS 250
/* A body this large (bulk provisioning) is followed by a trim of the heap
 * (memtrim), once such requests have been quiet for TRIM_QUIET_MS. */
#define TRIM_AFTER_BODY_BYTES (256 * 1024)
#define TRIM_QUIET_MS 1000
/* And every TRIM_PERIOD_MS whatever came (memtrim.h: the steady churn). */
#define TRIM_PERIOD_MS 30000
/* A connection's memory pool beyond max_header_bytes: the read buffer and
 * the response headers.  libmicrohttpd zeroes the whole pool after each
 * request of a keep-alive connection, so a small pool keeps polls cheap
 * and RSS low: with 16 KiB here (a 32 KiB pool) a poll cost 0.7 us (6 %)
 * more than with 4 KiB, and uploads ran no faster (bench/README.md). */
#define POOL_SPARE_BYTES (4 * 1024)

struct http_server {
	struct app *app;
	const struct http_route *routes;
	struct MHD_Daemon *https;
	struct MHD_Daemon *http;
	struct memtrim *memtrim;
	int https_port, http_port; /* bound; 0: no such listener */
	char *cert_pem;
	char *key_pem;
	atomic_int inflight;
	atomic_int parked; /* suspended, not yet resumed (http_req_suspend) */
	struct http_deadline *deadline; /* request headers' deadline */
	/* on_mhd_log's rate limit: the current second, lines logged in it,
	 * lines dropped since the last report. */
	atomic_llong mhd_log_sec;
	atomic_uint mhd_log_lines;
	atomic_uint mhd_log_dropped;
};

/*
 * Matches url against pattern segment by segment without allocating; "{}"
 * matches one non-empty segment of at most HTTP_REQ_PARAM_MAX bytes, whose
 * offset and length go to spans (2 entries per parameter).  Returns the number
 * of parameters (>= 0) on a match, -1 otherwise.
 */
static int
route_match(const char *pattern, const char *url, size_t spans[])
{
	const char *p = pattern, *u = url;
	int n = 0;

	while (*p != '\0' && *u != '\0') {
		if (p[0] == '{' && p[1] == '}') {
			size_t len = strcspn(u, "/");

			if (len == 0 || len > HTTP_REQ_PARAM_MAX ||
			    n == HTTP_REQ_MAX_PARAMS)
				return -1;
			spans[2 * n] = (size_t)(u - url);
			spans[2 * n + 1] = len;
			n++;
			u += len;
			p += 2;
			continue;
		}
		if (*p++ != *u++)
			return -1;
	}
	return *p == '\0' && *u == '\0' ? n : -1;
}

/* Finds the route for method+url; *out_path_known tells a 405 from 404. */
static const struct http_route *
route_find(struct http_req *req, const char *url, int *out_path_known)
{
	const struct http_route *r;
	size_t spans[2 * HTTP_REQ_MAX_PARAMS];
	int n, i;

	*out_path_known = 0;
	for (r = req->srv->routes; r->method != NULL; r++) {
		n = route_match(r->pattern, url, spans);
		if (n < 0)
			continue;
		*out_path_known = 1;
		/* HEAD is served by any GET route. */
		if (strcmp(r->method, req->method) != 0 &&
		    !(strcmp(req->method, "HEAD") == 0 &&
		        strcmp(r->method, "GET") == 0))
			continue;
		for (i = 0; i < n; i++) {
			memcpy(req->param_buf[i], url + spans[2 * i],
			    spans[2 * i + 1]);
			req->param_buf[i][spans[2 * i + 1]] = '\0';
			req->params[i] = req->param_buf[i];
		}
		return r;
	}
	return NULL;
}

static enum MHD_Result
sum_header(
    void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	size_t *total = cls;

	(void)kind;
	*total += (key != NULL ? strlen(key) : 0) +
	          (value != NULL ? strlen(value) : 0) + 4;
	return MHD_YES;
}

/*
 * Authenticates the caller for req->route and checks the route's role;
 * replies 401/403 and returns -1 when refused.  AUTH_DOWNLOAD routes
 * without an Authorization header go through as AUTH_KIND_NONE: their
 * handler checks the signed URL token instead.
 */
static int
req_authenticate(struct http_req *req)
{
	struct app *app = req->app;
	const struct http_route *r = req->route;
	const char *authz = http_req_header(req, "Authorization");
	enum auth_role need = r->role;
	struct store_conn *c;
	int rc;

	if (need == AUTH_METRICS)
		need = app->cfg.metrics_auth != NULL &&
		               strcmp(app->cfg.metrics_auth, "none") == 0
		           ? AUTH_NONE
		           : AUTH_VIEWER;
	if (need == AUTH_NONE)
		return 0;
	if (need == AUTH_DOWNLOAD && authz == NULL) {
		req->who.kind = AUTH_KIND_NONE;
		req->who.role = AUTH_NONE;
		return 0;
	}
	c = store_acquire(app->store);
	rc = auth_check(c, app->devices, authz, &req->who);
	store_release(app->store, c);
	if (rc == OTA_EUNAUTH && need == AUTH_DDI) {
		http_reply_error(req, 401, "unauthorized",
		    "a valid 'Authorization: TargetToken <device token>' or "
		    "'GatewayToken <gateway token>' header is required");
		return -1;
	}
	if (rc == OTA_EUNAUTH) {
		http_reply_error(req, 401, "unauthorized",
		    "a valid 'Authorization: Bearer <token>' header is "
		    "required");
		return -1;
	}
	if (rc != 0) {
		http_reply_rc(req, rc, "cannot check credentials");
		return -1;
	}
	if (auth_allows(&req->who, need))
		return 0;
	/* hawkBit answers every refusal of its device API with 401. */
	if (need == AUTH_DDI) {
		http_reply_error(req, 401, "unauthorized",
		    "DDI needs a device or gateway token");
		return -1;
	}
	if (req->who.kind == AUTH_KIND_DEVICE ||
	    req->who.kind == AUTH_KIND_GATEWAY)
		http_reply_error(req, 403, "forbidden",
		    "%s tokens may only poll and download",
		    req->who.kind == AUTH_KIND_DEVICE ? "device" : "gateway");
	else if (need == AUTH_DEVICE || need == AUTH_DOWNLOAD)
		http_reply_error(req, 403, "forbidden",
		    "this endpoint is for devices and gateways");
	else
		http_reply_error(req, 403, "forbidden",
		    "role '%s' may not do this; needs '%s'",
		    auth_role_name(req->who.role), auth_role_name(need));
	return -1;
}

/* Runs on the first callback of a request: route, limits, auth. */
static void
req_begin(struct http_req *req, const char *url)
{
	struct app *app = req->app;
	const struct http_route *r;
	const char *cl;
	size_t header_bytes = 0;
	int known, rc;

	MHD_get_connection_values(
	    req->conn, MHD_HEADER_KIND, sum_header, &header_bytes);
	if (header_bytes > (size_t)app->cfg.max_header_bytes) {
		http_reply_error(req, 431, "headers_too_large",
		    "request headers exceed %d bytes",
		    app->cfg.max_header_bytes);
		return;
	}
	cl = http_req_header(req, "Content-Length");
	req->content_length = -1;
	if (cl != NULL) {
		char *end;
		long long v = strtoll(cl, &end, 10);

		if (end == cl || *end != '\0' || v < 0) {
			http_reply_error(
			    req, 400, "invalid_request", "bad Content-Length");
			return;
		}
		req->content_length = v;
	}
	r = route_find(req, url, &known);
	if (r == NULL) {
		if (known)
			http_reply_error(req, 405, "method_not_allowed",
			    "%s is not supported on %s", req->method,
			    req->path);
		else
			http_reply_error(req, 404, "not_found",
			    "no such endpoint: %s", req->path);
		return;
	}
	req->route = r;
	req->ddi = r->role == AUTH_DDI;
	if (req_authenticate(req) != 0)
		return;
	if ((r->body == HTTP_BODY_JSON || r->body == HTTP_BODY_JSON_LAX) &&
	    req->content_length > app->cfg.max_json_bytes) {
		http_reply_error(req, 413, "too_large",
		    "JSON body over %lld bytes",
		    (long long)app->cfg.max_json_bytes);
		return;
	}
	if (r->on_start != NULL) {
		rc = r->on_start(req);
		if (rc != 0 && !req->replied)
			http_reply_rc(req, rc, NULL);
	}
}

/* Takes a chunk of the request body. */
static void
req_body(struct http_req *req, const char *data, size_t len)
{
	struct app *app = req->app;
	int rc;

	req->body_bytes += len;
	switch (req->route->body) {
	case HTTP_BODY_NONE:
		http_reply_error(req, 400, "invalid_request",
		    "this endpoint takes no request body");
		break;
	case HTTP_BODY_JSON:
	case HTTP_BODY_JSON_LAX:
		if (req->body_bytes > (uint64_t)app->cfg.max_json_bytes) {
			http_reply_error(req, 413, "too_large",
			    "JSON body over %lld bytes",
			    (long long)app->cfg.max_json_bytes);
			break;
		}
		if (req->body_len + len > req->body_cap) {
			size_t cap = req->body_cap ? req->body_cap : 4096;
			char *nb;

			while (cap < req->body_len + len)
				cap *= 2;
			nb = realloc(req->body, cap);
			if (nb == NULL) {
				http_reply_rc(req, OTA_ENOMEM, NULL);
				break;
			}
			req->body = nb;
			req->body_cap = cap;
		}
		memcpy(req->body + req->body_len, data, len);
		req->body_len += len;
		break;
	case HTTP_BODY_STREAM:
		rc = req->route->on_body(req, data, len);
		if (rc != 0 && !req->replied)
			http_reply_rc(req, rc, NULL);
		break;
	}
}

/* The whole request is in: parse a JSON body and run the handler. */
static void
req_finish(struct http_req *req)
{
	char err[256];
	int rc;

	if (req->route->body == HTTP_BODY_JSON_LAX && req->body_len > 0) {
		char *fixed = NULL;
		size_t fixed_len = 0;

		/* The repaired copy is at most 6 times the capped body. */
		if (json_util_repair_strings(
		        req->body, req->body_len, &fixed, &fixed_len) != 0) {
			http_reply_rc(req, OTA_ENOMEM, NULL);
			return;
		}
		free(req->body);
		req->body = fixed;
		req->body_len = fixed_len;
		req->body_cap = fixed_len + 1;
	}
	/* An empty JSON body is no body: http_req_json answers NULL and the
	 * handler decides whether that is allowed. */
	if ((req->route->body == HTTP_BODY_JSON ||
	        req->route->body == HTTP_BODY_JSON_LAX) &&
	    req->body_len > 0) {
		if (json_util_load(req->body, req->body_len,
		        JSON_UTIL_MAX_DEPTH, &req->json, err,
		        sizeof(err)) != 0) {
			http_reply_error(req, 400, "invalid_json", "%s", err);
			return;
		}
	}
	rc = req->route->handle(req);
	if (rc != 0 && !req->replied)
		http_reply_rc(req, rc, NULL);
	if (!req->replied && !req->suspended) {
		char vp[LOG_VALUE_MAX];

		log_err("msg=\"handler did not reply\" path=%s",
		    log_value(vp, sizeof(vp), req->path));
		http_reply_rc(req, OTA_EIO, "internal error");
	}
}

/* The first call after http_req_resume: the parked handler answers. */
static enum MHD_Result
req_resumed(struct http_req *req)
{
	char vp[LOG_VALUE_MAX];
	int rc;

	req->suspended = 0;
	rc = req->on_resume(req);
	if (rc != 0 && !req->replied)
		http_reply_rc(req, rc, NULL);
	if (!req->replied) {
		log_err("msg=\"resumed handler did not reply\" path=%s",
		    log_value(vp, sizeof(vp), req->path));
		http_reply_rc(req, OTA_EIO, "internal error");
	}
	return MHD_YES;
}

static struct http_req *
req_new(struct http_server *srv, struct MHD_Connection *conn, const char *url,
    const char *method)
{
	const union MHD_ConnectionInfo *ci;
	struct http_req *req;

	req = calloc(1, sizeof(*req));
	if (req == NULL)
		return NULL;
	req->srv = srv;
	req->parked = &srv->parked;
	req->app = srv->app;
	req->conn = conn;
	req->method = method;
	clock_gettime(CLOCK_MONOTONIC, &req->t0);
	snprintf(req->path, sizeof(req->path), "%s", url);
	/* With a thread pool the connection's daemon is a worker, not
	 * srv->https; only TLS connections have a GnuTLS session. */
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	req->tls = ci != NULL && ci->tls_session != NULL;
	atomic_fetch_add(&srv->inflight, 1);
	return req;
}

/* The header deadline of conn (NULL when unwatched). */
static struct http_deadline_conn *
conn_deadline(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci;

	if (conn == NULL)
		return NULL;
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci != NULL ? ci->socket_context : NULL;
}

/* A connection opens (its headers are due from now) or closes (before
 * libmicrohttpd closes its socket). */
static void
on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
    enum MHD_ConnectionNotificationCode toe)
{
	struct http_server *srv = cls;
	const union MHD_ConnectionInfo *ci;

	if (socket_context == NULL)
		return;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		ci = conn != NULL ? MHD_get_connection_info(
		                        conn, MHD_CONNECTION_INFO_CONNECTION_FD)
		                  : NULL;
		*socket_context = http_deadline_watch(
		    srv->deadline, ci != NULL ? (int)ci->connect_fd : -1);
	} else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		http_deadline_forget(srv->deadline, *socket_context);
		*socket_context = NULL;
	}
}

static enum MHD_Result
on_access(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct http_server *srv = cls;
	struct http_req *req;

	(void)version;
	if (con_cls == NULL || upload_data_size == NULL)
		return MHD_NO;
	req = *con_cls;
	if (req == NULL) {
		if (url == NULL || method == NULL)
			return MHD_NO;
		/* The first call of a request: its headers are in. */
		http_deadline_met(srv->deadline, conn_deadline(conn));
		req = req_new(srv, conn, url, method);
		if (req == NULL)
			return MHD_NO;
		*con_cls = req;
		req_begin(req, url);
		return MHD_YES;
	}
	/* Not routed and no reply (the error reply itself failed): close
	 * rather than run a body or handler without a route. */
	if (req->route == NULL && !req->replied)
		return MHD_NO;
	if (*upload_data_size > 0) {
		if (upload_data == NULL)
			return MHD_NO;
		if (!req->replied)
			req_body(req, upload_data, *upload_data_size);
		*upload_data_size = 0; /* consumed (or dropped after a reply) */
		return MHD_YES;
	}
	req->complete = 1;
	if (req->suspended)
		return req_resumed(req);
	if (req->pending != NULL) {
		struct MHD_Response *resp = req->pending;
		enum MHD_Result r;

		req->pending = NULL;
		r = MHD_queue_response(conn, req->status, resp);
		MHD_destroy_response(resp);
		return r;
	}
	if (!req->replied)
		req_finish(req);
	return MHD_YES;
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct http_server *srv = cls;
	struct http_req *req;
	struct timespec t1;
	double ms;
	char vm[64], vp[LOG_VALUE_MAX], vw[LOG_VALUE_MAX];
	int trim;

	/* The next request's headers are due from now (keep-alive). */
	http_deadline_rearm(srv->deadline, conn_deadline(conn));
	if (con_cls == NULL || (req = *con_cls) == NULL)
		return;
	trim = req->body_cap >= TRIM_AFTER_BODY_BYTES;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - req->t0.tv_sec) * 1e3 +
	     (double)(t1.tv_nsec - req->t0.tv_nsec) / 1e6;
	/* Escaping three values per request is wasted when the request
	 * log is off (log_level warn, as under load). */
	if (log_enabled(LOG_INFO))
		log_info("method=%s path=%s status=%u bytes=%llu "
		         "duration_ms=%.2f tls=%d who=%s%s",
		    log_value(vm, sizeof(vm), req->method),
		    log_value(vp, sizeof(vp), req->path), req->status,
		    (unsigned long long)req->bytes_out, ms, req->tls,
		    log_value(
		        vw, sizeof(vw), req->who.name[0] ? req->who.name : "-"),
		    toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? ""
		                                               : " aborted=1");
	metrics_request(srv->app->metrics,
	    req->route != NULL ? (int)(req->route - srv->routes) : -1,
	    req->method, req->status, req->bytes_out, ms / 1e3);
	if (req->state_free != NULL)
		req->state_free(req->state);
	if (req->pending != NULL)
		MHD_destroy_response(req->pending);
	json_decref(req->json);
	free(req->body);
	free(req);
	*con_cls = NULL;
	/* A bulk request leaves tens of MiB of freed JSON nodes in this
	 * thread's malloc arena, which glibc keeps: they go back to the
	 * system once the burst of such requests is over. */
	if (trim)
		memtrim_note(srv->memtrim);
	atomic_fetch_sub(&srv->inflight, 1);
}

static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct http_server *srv = cls;
	char buf[512], v[LOG_VALUE_MAX];
	long long sec = (long long)(timeutil_mono_ms() / 1000), was;
	unsigned dropped;
	size_t n;

	if (fmt == NULL || srv == NULL)
		return;
	/* A flood of refused connections must not flood the log: at most
	 * MHD_LOG_PER_SEC lines a second, then a count of the dropped. */
	was = atomic_load(&srv->mhd_log_sec);
	if (was != sec &&
	    atomic_compare_exchange_strong(&srv->mhd_log_sec, &was, sec)) {
		atomic_store(&srv->mhd_log_lines, 0);
		dropped = atomic_exchange(&srv->mhd_log_dropped, 0);
		if (dropped > 0)
			log_warn("msg=\"libmicrohttpd messages suppressed\" "
			         "count=%u",
			    dropped);
	}
	if (atomic_fetch_add(&srv->mhd_log_lines, 1) >= MHD_LOG_PER_SEC) {
		atomic_fetch_add(&srv->mhd_log_dropped, 1);
		return;
	}
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	/* libmicrohttpd's messages may quote the client's bytes. */
	log_warn(
	    "msg=\"libmicrohttpd\" detail=%s", log_value(v, sizeof(v), buf));
}

/*
 * Starts one listener on listen_address and port (CONFIG_PORT_AUTO: port
 * 0, the OS picks one) and stores the port it bound in *out_port.
 * Suspend/resume is allowed: a handler may park its connection while
 * another thread works (http_req_suspend), freeing the worker.  Returns
 * the daemon, or NULL after logging why.
 */
static struct MHD_Daemon *
start_daemon(struct http_server *srv, int port, int tls, int *out_port)
{
	const struct ota_config *cfg = &srv->app->cfg;
	const char *addr = cfg->listen_address;
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	                 MHD_USE_ITC | MHD_USE_TURBO | MHD_USE_ERROR_LOG |
	                 MHD_ALLOW_SUSPEND_RESUME;
	struct MHD_Daemon *d;
	const union MHD_DaemonInfo *info;

	if (port == CONFIG_PORT_AUTO)
		port = 0;
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
	} else if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		flags |= MHD_USE_IPv6;
	} else {
		log_err("msg=\"bad listen_address\" value=%s", addr);
		return NULL;
	}
	if (tls)
		flags |= MHD_USE_TLS;
	/* The logger must come first; the TLS options last, so that a plain
	 * listener ends the list where they would start. */
	struct MHD_OptionItem opts[] = {
	    {MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)on_mhd_log, srv},
	    {MHD_OPTION_SOCK_ADDR, 0, &ss},
	    {MHD_OPTION_THREAD_POOL_SIZE, cfg->http_threads, NULL},
	    {MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections, NULL},
	    {MHD_OPTION_CONNECTION_TIMEOUT, cfg->connection_timeout_sec, NULL},
	    /* Headers must fit, with POOL_SPARE_BYTES beside them.  Bodies
	     * do not live here (a file is sent with sendfile, or over TLS
	     * from the 64 KiB block of its callback response). */
	    {MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	        (intptr_t)cfg->max_header_bytes + POOL_SPARE_BYTES, NULL},
	    {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, srv},
	    {MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, srv},
	    {MHD_OPTION_PER_IP_CONNECTION_LIMIT,
	        cfg->max_connections_per_address, NULL},
	    {tls ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, srv->key_pem},
	    {MHD_OPTION_HTTPS_MEM_CERT, 0, srv->cert_pem},
	    {MHD_OPTION_HTTPS_PRIORITIES, 0,
	        "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"},
	    {MHD_OPTION_END, 0, NULL},
	};
	/* The port argument is ignored for binding (MHD_OPTION_SOCK_ADDR
	 * wins) but is the one libmicrohttpd names in its bind errors. */
	d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_access, srv,
	    MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	if (d == NULL) {
		log_err("msg=\"cannot start listener\" address=%s port=%d "
		        "tls=%d",
		    addr, port, tls);
		return NULL;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	if (info == NULL || info->port == 0) {
		log_err("msg=\"cannot tell the port a listener bound\" "
		        "address=%s tls=%d",
		    addr, tls);
		MHD_stop_daemon(d);
		return NULL;
	}
	*out_port = info->port;
	log_info("msg=\"listening\" url=%s://%s%s%s:%d", tls ? "https" : "http",
	    sin6->sin6_family == AF_INET6 ? "[" : "", addr,
	    sin6->sin6_family == AF_INET6 ? "]" : "", *out_port);
	return d;
}

struct http_server *
http_server_start(struct app *app, const struct http_route *routes)
{
	struct http_server *srv;

	srv = calloc(1, sizeof(*srv));
	if (srv == NULL)
		return NULL;
	srv->app = app;
	srv->routes = routes;
	atomic_init(&srv->inflight, 0);
	atomic_init(&srv->parked, 0);
	atomic_init(&srv->mhd_log_sec, 0);
	atomic_init(&srv->mhd_log_lines, 0);
	atomic_init(&srv->mhd_log_dropped, 0);
	if (tls_read_pem(app->cfg.tls_cert_file, &srv->cert_pem) != 0 ||
	    tls_read_pem(app->cfg.tls_key_file, &srv->key_pem) != 0)
		goto fail;
	if ((srv->memtrim = memtrim_start(TRIM_QUIET_MS, TRIM_PERIOD_MS)) ==
	    NULL)
		goto fail;
	srv->deadline = http_deadline_start(
	    (int64_t)app->cfg.header_timeout_sec * 1000, DEADLINE_TICK_MS);
	if (srv->deadline == NULL)
		goto fail;
	srv->https =
	    start_daemon(srv, app->cfg.https_port, 1, &srv->https_port);
	if (srv->https == NULL)
		goto fail;
	if (app->cfg.http_port != 0) {
		srv->http =
		    start_daemon(srv, app->cfg.http_port, 0, &srv->http_port);
		if (srv->http == NULL)
			goto fail;
	}
	return srv;
fail:
	http_server_stop(srv, 0);
	return NULL;
}

void
http_server_ports(
    const struct http_server *srv, int *out_https_port, int *out_http_port)
{
	*out_https_port = srv->https_port;
	*out_http_port = srv->http_port;
}

static void
quiesce(struct MHD_Daemon *d)
{
	MHD_socket fd;

	if (d == NULL)
		return;
	fd = MHD_quiesce_daemon(d);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
}

void
http_server_stop(struct http_server *srv, int timeout_sec)
{
	struct timespec ts = {0, 50 * 1000 * 1000};
	int waited_ms = 0, limit_ms = timeout_sec * 1000;

	if (srv == NULL)
		return;
	quiesce(srv->https);
	quiesce(srv->http);
	while (atomic_load(&srv->inflight) > 0 && waited_ms < limit_ms) {
		nanosleep(&ts, NULL);
		waited_ms += 50;
	}
	if (atomic_load(&srv->inflight) > 0)
		log_warn("msg=\"stopping with requests in flight\" count=%d",
		    atomic_load(&srv->inflight));
	/* libmicrohttpd aborts when a daemon stops with a connection still
	 * suspended.  Whoever parked one resumes it exactly once, after
	 * database waits that are bounded (busy and lock timeouts), so
	 * those are waited for past timeout_sec. */
	if (atomic_load(&srv->parked) > 0)
		log_warn("msg=\"waiting for parked requests to be answered\" "
		         "count=%d",
		    atomic_load(&srv->parked));
	while (atomic_load(&srv->parked) > 0)
		nanosleep(&ts, NULL);
	if (srv->https != NULL)
		MHD_stop_daemon(srv->https);
	if (srv->http != NULL)
		MHD_stop_daemon(srv->http);
	/* After the daemons: their last connections forget their deadlines
	 * as they close. */
	http_deadline_stop(srv->deadline);
	memtrim_stop(srv->memtrim);
	free(srv->cert_pem);
	if (srv->key_pem != NULL) {
		sodium_memzero(srv->key_pem, strlen(srv->key_pem));
		free(srv->key_pem);
	}
	free(srv);
}
