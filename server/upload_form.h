/*
 * upload_form: the parts of an image upload (multipart/form-data) as
 * libmicrohttpd's post processor hands them over.  It owns the per-upload
 * part state: "descriptor" and "signatures" in bounded buffers, "image"
 * passed on to a sink callback (it does no blob or file I/O itself), and
 * the first error with a message for the client.  It needs no struct app,
 * so a fuzz harness can drive MHD's post processor with it.
 */
#ifndef OTAD_UPLOAD_FORM_H
#define OTAD_UPLOAD_FORM_H

#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#define UPLOAD_FORM_SIGS_MAX_BYTES (16 * 1024)

/*
 * Receives the image part's bytes in order, size > 0 each time (the first
 * call creates whatever the sink writes to).  Returns 0, or a negative
 * OTA_E* code that fails the upload with "cannot write the image to disk"
 * (the sink logs its own detail).  Runs on the request's MHD thread.
 */
typedef int (*upload_form_sink_fn)(void *cls, const char *data, size_t size);

struct upload_form;

/*
 * Returns a new, empty form state, or NULL when out of memory.  The image
 * part may not exceed max_image_bytes; sink (with sink_cls, borrowed for
 * the form's life) gets its bytes.  Free with upload_form_free.
 */
struct upload_form *upload_form_new(
    uint64_t max_image_bytes, upload_form_sink_fn sink, void *sink_cls);

/* Frees f (NULL is fine).  The sink is not called. */
void upload_form_free(struct upload_form *f);

/*
 * The MHD_PostDataIterator to give MHD_create_post_processor, with the
 * form as cls.  Accepts any argument libmicrohttpd may pass (NULL key,
 * filename, content type or transfer encoding; size 0): a part without a
 * name, an unknown or repeated part, a part over its bound, or a transfer
 * encoding other than 7bit/8bit/binary records an OTA_EINVAL (or
 * OTA_ETOOBIG) error and returns MHD_NO.  After the first error every call
 * returns MHD_NO.
 */
enum MHD_Result upload_form_iter(void *cls, enum MHD_ValueKind kind,
    const char *key, const char *filename, const char *content_type,
    const char *transfer_encoding, const char *data, uint64_t off, size_t size);

/*
 * Returns the first error (0 if none) and, when out_msg is not NULL, sets
 * it to its message for the client (borrowed from f; "" when none).
 */
int upload_form_error(const struct upload_form *f, const char **out_msg);

/*
 * Checks that the three parts arrived.  Returns 0, or OTA_EINVAL with
 * "missing part(s): ..." in err[errlen].
 */
int upload_form_check_complete(
    const struct upload_form *f, char *err, size_t errlen);

/* The descriptor part's bytes (borrowed from f) and length in *out_len. */
const unsigned char *upload_form_descriptor(
    const struct upload_form *f, size_t *out_len);

/* The signatures part, NUL-terminated (borrowed from f), length in
 * *out_len. */
const char *upload_form_signatures(
    const struct upload_form *f, size_t *out_len);

/* The number of image bytes given to the sink so far. */
uint64_t upload_form_image_bytes(const struct upload_form *f);

#endif
