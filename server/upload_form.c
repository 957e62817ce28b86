/*
 * upload_form: the three parts of an image upload, checked as they
 * stream in.  Every argument of the iterator comes from the client's body
 * through libmicrohttpd and may be NULL or empty; nothing here trusts it.
 * The image bytes go to the sink and are never buffered here.
 */
#include "upload_form.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "descriptor.h"
#include "errors.h"

enum upload_form_part {
	PART_NONE = 0,
	PART_DESCRIPTOR,
	PART_SIGNATURES,
	PART_IMAGE,
};

struct upload_form {
	unsigned char desc[DESCRIPTOR_MAX_BYTES];
	size_t desc_len;
	int have_desc;
	char sigs[UPLOAD_FORM_SIGS_MAX_BYTES + 1]; /* NUL-terminated */
	size_t sigs_len;
	int have_sigs;
	uint64_t image_len;
	int have_image;
	uint64_t max_image_bytes;
	upload_form_sink_fn sink;
	void *sink_cls;
	enum upload_form_part last; /* part of the previous call */
	int rc;                     /* first error */
	char err[256];
};

struct upload_form *
upload_form_new(
    uint64_t max_image_bytes, upload_form_sink_fn sink, void *sink_cls)
{
	struct upload_form *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return NULL;
	f->max_image_bytes = max_image_bytes;
	f->sink = sink;
	f->sink_cls = sink_cls;
	return f;
}

void
upload_form_free(struct upload_form *f)
{
	free(f);
}

/* Records the first error of an upload (later ones are consequences) and
 * tells the post processor to stop. */
static enum MHD_Result form_fail(struct upload_form *f, int rc, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

static enum MHD_Result
form_fail(struct upload_form *f, int rc, const char *fmt, ...)
{
	va_list ap;

	if (f->rc == 0) {
		f->rc = rc;
		va_start(ap, fmt);
		vsnprintf(f->err, sizeof(f->err), fmt, ap);
		va_end(ap);
	}
	return MHD_NO;
}

static const char *
part_name(enum upload_form_part p)
{
	switch (p) {
	case PART_DESCRIPTOR:
		return "descriptor";
	case PART_SIGNATURES:
		return "signatures";
	case PART_IMAGE:
		return "image";
	case PART_NONE:
		break;
	}
	return "?";
}

/*
 * Checks that a call continues its part where the previous one stopped.
 * libmicrohttpd may start a part with an empty call at offset 0 and then
 * give its first bytes at offset 0 again, so offset 0 means a second part
 * of the same name only when bytes already arrived or another part came
 * in between.
 */
static int
part_in_order(struct upload_form *f, enum upload_form_part p, int have,
    uint64_t len, uint64_t off)
{
	if (off == 0 && have && (len > 0 || f->last != p)) {
		form_fail(
		    f, OTA_EINVAL, "part '%s' appears twice", part_name(p));
		return 0;
	}
	if (off != len) {
		form_fail(f, OTA_EINVAL, "part '%s' arrived out of order",
		    part_name(p));
		return 0;
	}
	return 1;
}

/* Appends to a small bounded buffer part. */
static enum MHD_Result
take_small(struct upload_form *f, enum upload_form_part p, int *have, void *buf,
    size_t *len, size_t cap, const char *data, uint64_t off, size_t size)
{
	if (!part_in_order(f, p, *have, *len, off))
		return MHD_NO;
	*have = 1;
	if (size > cap - *len)
		return form_fail(f, OTA_EINVAL, "part '%s' is over %zu bytes",
		    part_name(p), cap);
	if (size > 0)
		memcpy((char *)buf + *len, data, size);
	*len += size;
	return MHD_YES;
}

static enum MHD_Result
take_image(struct upload_form *f, const char *data, uint64_t off, size_t size)
{
	int rc;

	if (!part_in_order(f, PART_IMAGE, f->have_image, f->image_len, off))
		return MHD_NO;
	f->have_image = 1;
	if (size == 0)
		return MHD_YES;
	/* image_len never passes max_image_bytes: no wrap. */
	if (size > f->max_image_bytes - f->image_len)
		return form_fail(f, OTA_ETOOBIG,
		    "image is over the configured max_image_bytes");
	rc = f->sink != NULL ? f->sink(f->sink_cls, data, size) : 0;
	if (rc != 0)
		return form_fail(f, rc, "cannot write the image to disk");
	f->image_len += size;
	return MHD_YES;
}

/* Only identity encodings: libmicrohttpd does not decode base64 or
 * quoted-printable, and the signed hash is over the raw image. */
static int
encoding_ok(const char *te)
{
	return te == NULL || te[0] == '\0' || strcasecmp(te, "binary") == 0 ||
	       strcasecmp(te, "8bit") == 0 || strcasecmp(te, "7bit") == 0;
}

enum MHD_Result
upload_form_iter(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *filename, const char *content_type,
    const char *transfer_encoding, const char *data, uint64_t off, size_t size)
{
	struct upload_form *f = cls;
	enum upload_form_part p;
	enum MHD_Result r;

	/* The file name and the part's type are not used: the descriptor
	 * says what the image is. */
	(void)kind;
	(void)filename;
	(void)content_type;
	if (f == NULL)
		return MHD_NO;
	if (f->rc != 0)
		return MHD_NO;
	if (data == NULL && size > 0)
		return form_fail(f, OTA_EINVAL, "malformed form part");
	if (key == NULL || key[0] == '\0')
		return form_fail(f, OTA_EINVAL,
		    "form part without a name; each part needs "
		    "Content-Disposition: form-data; name=\"descriptor\", "
		    "\"signatures\" or \"image\"");
	if (strcmp(key, "descriptor") == 0)
		p = PART_DESCRIPTOR;
	else if (strcmp(key, "signatures") == 0)
		p = PART_SIGNATURES;
	else if (strcmp(key, "image") == 0)
		p = PART_IMAGE;
	else
		return form_fail(f, OTA_EINVAL,
		    "unknown form part '%.64s'; "
		    "expected descriptor, signatures and image",
		    key);
	if (!encoding_ok(transfer_encoding))
		return form_fail(f, OTA_EINVAL,
		    "part '%s' has Content-Transfer-Encoding '%.32s'; send "
		    "it as binary",
		    part_name(p), transfer_encoding);
	switch (p) {
	case PART_DESCRIPTOR:
		r = take_small(f, p, &f->have_desc, f->desc, &f->desc_len,
		    sizeof(f->desc), data, off, size);
		break;
	case PART_SIGNATURES:
		r = take_small(f, p, &f->have_sigs, f->sigs, &f->sigs_len,
		    sizeof(f->sigs) - 1, data, off, size);
		break;
	default:
		r = take_image(f, data, off, size);
		break;
	}
	f->last = p;
	return r;
}

int
upload_form_error(const struct upload_form *f, const char **out_msg)
{
	if (out_msg != NULL)
		*out_msg = f->err;
	return f->rc;
}

int
upload_form_check_complete(
    const struct upload_form *f, char *err, size_t errlen)
{
	if (f->have_desc && f->have_sigs && f->have_image)
		return 0;
	ota_errf(err, errlen, "missing part(s):%s%s%s",
	    f->have_desc ? "" : " descriptor",
	    f->have_sigs ? "" : " signatures", f->have_image ? "" : " image");
	return OTA_EINVAL;
}

const unsigned char *
upload_form_descriptor(const struct upload_form *f, size_t *out_len)
{
	*out_len = f->desc_len;
	return f->desc;
}

const char *
upload_form_signatures(const struct upload_form *f, size_t *out_len)
{
	*out_len = f->sigs_len;
	return f->sigs;
}

uint64_t
upload_form_image_bytes(const struct upload_form *f)
{
	return f->image_len;
}
