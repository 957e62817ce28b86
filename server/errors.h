/*
 * errors: the one error vocabulary of otad.  Every function that can fail
 * returns 0 or a negative OTA_E* code; only http_reply maps codes to HTTP
 * statuses.  Codes say what went wrong for the caller, not which library.
 */
#ifndef OTAD_ERRORS_H
#define OTAD_ERRORS_H

#include <stdarg.h>
#include <stddef.h>

enum ota_err {
	OTA_OK = 0,
	OTA_EINVAL = -1,     /* malformed input (bad JSON, bad field) */
	OTA_ENOMEM = -2,     /* allocation failed */
	OTA_EIO = -3,        /* file system or socket error */
	OTA_ENOTFOUND = -4,  /* no such object */
	OTA_ECONFLICT = -5,  /* exists with different content / in use */
	OTA_ETOOBIG = -6,    /* over a configured size limit */
	OTA_EUNAUTH = -7,    /* missing or unknown credentials */
	OTA_EFORBID = -8,    /* credentials lack the needed role */
	OTA_ESIG = -9,       /* signature invalid, unknown key, too few */
	OTA_EMISMATCH = -10, /* size or hash differs from the descriptor */
	OTA_EDB = -11,       /* database error */
	OTA_ESCHEMA = -12,   /* database schema newer than this binary */
	OTA_ERANGE = -13,    /* unsatisfiable byte range */
	OTA_ECONFIG = -14,   /* bad configuration */
	OTA_ECRYPTO = -15,   /* crypto library failure */
};

/* Returns a static, human-readable description of rc. */
const char *ota_strerror(int rc);

/* Returns a static short machine-readable name ("not_found") for rc. */
const char *ota_errname(int rc);

/*
 * Writes a one-line reason for the caller into err[errlen] (printf-style),
 * when err is not NULL and errlen > 0: how parsers (descriptor, rollout
 * stages and policy, events) say which field is wrong.  ota_verrf takes a
 * va_list.
 */
void ota_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void ota_verrf(char *err, size_t errlen, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#endif
