/*
 * fuzz_multipart: the image upload's multipart/form-data path, as otad
 * runs it: libmicrohttpd's own post processor, created on a real
 * connection, feeding otad's iterator (server/upload_form.c:
 * upload_form_iter).  A daemon without a listening socket runs in this
 * thread; each input arrives on a new socketpair connection
 * (MHD_add_connection) as a POST whose Content-Type value is the input's
 * first line and whose body is the rest.  Invariants: nothing crashes
 * whatever part headers arrive (a part without a name, a NULL key, no
 * headers); an error has a message; a form taken whole holds parts within
 * their bounds and the sink got exactly the image bytes counted; and the
 * three parts, written again as a plain multipart body, parse to the same
 * bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "descriptor.h"
#include "fuzz.h"
#include "upload_form.h"

#define MAX_IMAGE_BYTES 4096
#define RUNS_MAX 10000 /* MHD_run rounds for one request */
#define BOUNDARY "fuzzB0undary7e1c"

/* What one request (one parse of a body) left behind. */
struct result {
	int done;   /* the handler saw the whole request */
	int parsed; /* ... and there was a post processor */
	int pp;     /* a post processor was created */
	int rc;     /* upload_form_error, or upload_form_check_complete */
	int complete;
	unsigned char desc[DESCRIPTOR_MAX_BYTES];
	size_t desc_len;
	char sigs[UPLOAD_FORM_SIGS_MAX_BYTES];
	size_t sigs_len;
	unsigned char image[MAX_IMAGE_BYTES];
	size_t image_len;
};

/* One request's state, the MHD req_cls. */
struct req {
	struct upload_form *form;
	struct MHD_PostProcessor *pp;
	int failed; /* MHD_post_process said no: drain the rest */
	struct result *res;
};

static int
sink(void *cls, const char *data, size_t size)
{
	struct result *res = cls;

	FUZZ_CHECK(size > 0);
	FUZZ_CHECK(res->image_len + size <= MAX_IMAGE_BYTES);
	memcpy(res->image + res->image_len, data, size);
	res->image_len += size;
	return 0;
}

/* The form is over: checks it and records what it holds. */
static void
finish(struct req *r)
{
	struct result *res = r->res;
	const unsigned char *desc;
	const char *sigs, *msg = NULL;
	char err[256];
	int rc;

	if (r->pp != NULL && MHD_destroy_post_processor(r->pp) != MHD_YES &&
	    !r->failed)
		r->failed = 1;
	r->pp = NULL;
	res->parsed = 1;
	rc = upload_form_error(r->form, &msg);
	FUZZ_CHECK(msg != NULL);
	FUZZ_CHECK((rc == 0) == (msg[0] == '\0'));
	FUZZ_CHECK(upload_form_image_bytes(r->form) == res->image_len);
	FUZZ_CHECK(res->image_len <= MAX_IMAGE_BYTES);
	if (rc != 0 || r->failed) {
		res->rc = rc != 0 ? rc : -1;
		return;
	}
	memset(err, 'x', sizeof(err));
	if ((rc = upload_form_check_complete(r->form, err, sizeof(err))) != 0) {
		FUZZ_CHECK(fuzz_terminated(err, sizeof(err)) && err[0] != '\0');
		res->rc = rc;
		return;
	}
	desc = upload_form_descriptor(r->form, &res->desc_len);
	sigs = upload_form_signatures(r->form, &res->sigs_len);
	FUZZ_CHECK(res->desc_len <= DESCRIPTOR_MAX_BYTES);
	FUZZ_CHECK(res->sigs_len < UPLOAD_FORM_SIGS_MAX_BYTES);
	FUZZ_CHECK(sigs[res->sigs_len] == '\0');
	memcpy(res->desc, desc, res->desc_len);
	memcpy(res->sigs, sigs, res->sigs_len);
	res->complete = 1;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **req_cls)
{
	struct result *res = *(struct result **)cls;
	struct req *r = *req_cls;
	struct MHD_Response *resp;
	const char *ct;
	enum MHD_Result ret;

	(void)url;
	(void)method;
	(void)version;
	if (r == NULL) {
		r = calloc(1, sizeof(*r));
		FUZZ_CHECK(r != NULL);
		r->res = res;
		r->form = upload_form_new(MAX_IMAGE_BYTES, sink, res);
		FUZZ_CHECK(r->form != NULL);
		/* As otad: only a multipart body gets a post processor. */
		ct = MHD_lookup_connection_value(
		    conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
		if (ct != NULL &&
		    strncasecmp(ct, "multipart/form-data", 19) == 0)
			r->pp = MHD_create_post_processor(
			    conn, 64 * 1024, upload_form_iter, r->form);
		res->pp = r->pp != NULL;
		*req_cls = r;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		if (r->pp != NULL && !r->failed &&
		    MHD_post_process(r->pp, upload_data, *upload_data_size) !=
		        MHD_YES)
			r->failed = 1;
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (r->pp != NULL)
		finish(r);
	res->done = 1;
	resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
	FUZZ_CHECK(resp != NULL);
	ret = MHD_queue_response(conn, res->complete ? 200 : 400, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct req *r = *req_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (r == NULL)
		return;
	if (r->pp != NULL)
		MHD_destroy_post_processor(r->pp);
	upload_form_free(r->form);
	free(r);
	*req_cls = NULL;
}

/* The result the request in flight writes to (the daemon's cls). */
static struct result *current;
static struct MHD_Daemon *the_daemon;

/* Sends one POST (headers then body) through a new connection to an
 * in-process daemon, runs it to the end and fills *res. */
static void
post(const char *ct, const uint8_t *body, size_t body_len, struct result *res)
{
	struct MHD_Daemon *d;
	struct sockaddr_in addr;
	char head[512], buf[4096];
	size_t head_len, sent = 0, total;
	int sv[2], eof = 0;

	memset(res, 0, sizeof(*res));
	current = res;
	if (the_daemon == NULL) {
		/* One daemon for the process, run by this thread only. */
		the_daemon = MHD_start_daemon(MHD_USE_NO_LISTEN_SOCKET, 0, NULL,
		    NULL, on_request, &current, MHD_OPTION_NOTIFY_COMPLETED,
		    on_completed, NULL, MHD_OPTION_CONNECTION_TIMEOUT,
		    (unsigned int)5, MHD_OPTION_END);
		FUZZ_CHECK(the_daemon != NULL);
	}
	d = the_daemon;
	head_len = (size_t)snprintf(head, sizeof(head),
	    "POST /api/v1/images HTTP/1.1\r\nHost: fuzz\r\n"
	    "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n",
	    ct, body_len);
	FUZZ_CHECK(head_len < sizeof(head));
	total = head_len + body_len;
	FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	FUZZ_CHECK(fcntl(sv[1], F_SETFL, O_NONBLOCK) == 0);
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	FUZZ_CHECK(MHD_add_connection(d, sv[0], (struct sockaddr *)&addr,
	               sizeof(addr)) == MHD_YES);
	for (int i = 0; i < RUNS_MAX && !eof; i++) {
		ssize_t n;

		while (sent < total) {
			const char *p = sent < head_len ? head + sent
			                                : (const char *)body +
			                                      (sent - head_len);
			size_t want =
			    sent < head_len ? head_len - sent : total - sent;

			n = write(sv[1], p, want);
			if (n <= 0)
				break;
			sent += (size_t)n;
		}
		MHD_run(d);
		while ((n = read(sv[1], buf, sizeof(buf))) > 0)
			;
		if (n == 0 || (n < 0 && errno != EAGAIN))
			eof = 1;
		if (res->done)
			break;
	}
	close(sv[1]);
	/* Let the daemon see the close and free the request. */
	for (int i = 0; i < 100; i++) {
		const union MHD_DaemonInfo *info =
		    MHD_get_daemon_info(d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);

		if (info == NULL || info->num_connections == 0)
			break;
		MHD_run(d);
	}
}

/* Appends one part to a multipart body being built in b. */
static size_t
put_part(char *b, size_t at, const char *name, const void *data, size_t len)
{
	at += (size_t)sprintf(b + at,
	    "--" BOUNDARY "\r\nContent-Disposition: form-data; name=\"%s\""
	    "\r\n\r\n",
	    name);
	memcpy(b + at, data, len);
	at += len;
	memcpy(b + at, "\r\n", 2);
	return at + 2;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct result first, again;
	const uint8_t *nl = memchr(data, '\n', size);
	char ct[256], *b;
	size_t ct_len, at = 0;

	if (nl == NULL)
		return 0;
	ct_len = (size_t)(nl - data);
	if (ct_len > 0 && data[ct_len - 1] == '\r')
		ct_len--;
	/* A header value: no CR, LF or NUL (MHD would refuse the request). */
	if (ct_len >= sizeof(ct) || memchr(data, '\r', ct_len) != NULL ||
	    memchr(data, '\0', ct_len) != NULL)
		return 0;
	memcpy(ct, data, ct_len);
	ct[ct_len] = '\0';
	post(ct, nl + 1, size - (size_t)(nl + 1 - data), &first);
	if (!first.complete)
		return 0;
	/* The parts again, written plainly: the same bytes come out.  (A
	 * part that holds the boundary cannot be written so: skipped.) */
	if (memmem(first.desc, first.desc_len, BOUNDARY, strlen(BOUNDARY)) ||
	    memmem(first.sigs, first.sigs_len, BOUNDARY, strlen(BOUNDARY)) ||
	    memmem(first.image, first.image_len, BOUNDARY, strlen(BOUNDARY)))
		return 0;
	b = malloc(first.desc_len + first.sigs_len + first.image_len + 1024);
	FUZZ_CHECK(b != NULL);
	at = put_part(b, at, "descriptor", first.desc, first.desc_len);
	at = put_part(b, at, "signatures", first.sigs, first.sigs_len);
	at = put_part(b, at, "image", first.image, first.image_len);
	at += (size_t)sprintf(b + at, "--" BOUNDARY "--\r\n");
	post("multipart/form-data; boundary=" BOUNDARY, (const uint8_t *)b, at,
	    &again);
	free(b);
	FUZZ_CHECK(again.complete);
	FUZZ_CHECK(again.desc_len == first.desc_len &&
	           memcmp(again.desc, first.desc, first.desc_len) == 0);
	FUZZ_CHECK(again.sigs_len == first.sigs_len &&
	           memcmp(again.sigs, first.sigs, first.sigs_len) == 0);
	FUZZ_CHECK(again.image_len == first.image_len &&
	           memcmp(again.image, first.image, first.image_len) == 0);
	return 0;
}
