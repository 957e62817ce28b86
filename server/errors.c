/*
 * errors: names and descriptions of the OTA_E* codes.
 */
#include "errors.h"

#include <stdio.h>

static const struct {
	int rc;
	const char *name;
	const char *text;
} table[] = {
    {OTA_OK, "ok", "success"},
    {OTA_EINVAL, "invalid_request", "malformed input"},
    {OTA_ENOMEM, "out_of_memory", "out of memory"},
    {OTA_EIO, "io_error", "input/output error"},
    {OTA_ENOTFOUND, "not_found", "not found"},
    {OTA_ECONFLICT, "conflict", "conflicts with stored state"},
    {OTA_ETOOBIG, "too_large", "over the configured size limit"},
    {OTA_EUNAUTH, "unauthorized", "missing or unknown credentials"},
    {OTA_EFORBID, "forbidden", "role not allowed"},
    {OTA_ESIG, "bad_signature", "signature verification failed"},
    {OTA_EMISMATCH, "mismatch", "content does not match descriptor"},
    {OTA_EDB, "database_error", "database error"},
    {OTA_ESCHEMA, "schema_too_new", "database schema is newer than otad"},
    {OTA_ERANGE, "range_not_satisfiable", "range not satisfiable"},
    {OTA_ECONFIG, "bad_config", "bad configuration"},
    {OTA_ECRYPTO, "crypto_error", "cryptographic library failure"},
};

const char *
ota_strerror(int rc)
{
	for (unsigned i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i].rc == rc)
			return table[i].text;
	return "unknown error";
}

const char *
ota_errname(int rc)
{
	for (unsigned i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i].rc == rc)
			return table[i].name;
	return "internal_error";
}

void
ota_verrf(char *err, size_t errlen, const char *fmt, va_list ap)
{
	if (err == NULL || errlen == 0)
		return;
	vsnprintf(err, errlen, fmt, ap);
}

void
ota_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ota_verrf(err, errlen, fmt, ap);
	va_end(ap);
}
