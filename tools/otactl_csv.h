/*
 * otactl_csv: the device CSV of `otactl devices import`, as pure functions
 * (no I/O, no globals, no printing), so tests/check_otactl_csv.c can
 * specify them.  Two layers: an RFC 4180 record reader, and the device
 * schema on top of it (header row, per-row checks mirroring otad's API
 * contract, repeated ids), which turns a whole file into the JSON objects
 * POST /api/v1/devices takes.
 */
#ifndef OTACTL_CSV_H
#define OTACTL_CSV_H

#include <stddef.h>

#include <jansson.h>

#define OTACTL_CSV_FIELD_MAX 16384 /* bytes of one field */
#define OTACTL_CSV_FIELDS_MAX 64   /* fields of one record */

/*
 * An RFC 4180 reader over a buffer: fields separated by ',', records by
 * CRLF, LF or a lone CR; a field in double quotes may hold ',', quotes
 * (doubled) and line breaks.  A UTF-8 byte order mark at the start is
 * skipped, and so are blank lines (empty or only spaces and tabs).
 */
struct otactl_csv {
	const char *buf; /* borrowed */
	size_t len;
	size_t pos;
	size_t line;     /* the physical line at pos, from 1 */
	size_t rec_line; /* the line the last record started on */
	char *text;      /* the last record's fields, NUL-separated, owned */
	size_t text_len;
	size_t text_cap;
	size_t off[OTACTL_CSV_FIELDS_MAX];
	const char *fields[OTACTL_CSV_FIELDS_MAX]; /* into text */
	size_t nfields;
};

/* Starts reading buf[0..len) (borrowed for the reader's life). */
void otactl_csv_init(struct otactl_csv *p, const char *buf, size_t len);

/* Frees what the reader holds (not buf).  Safe to call twice. */
void otactl_csv_free(struct otactl_csv *p);

/*
 * Reads the next record.  Returns 1 with p->fields[0..p->nfields) (NUL-
 * terminated, borrowed until the next call) and p->rec_line; 0 at the
 * end; OTA_EINVAL with the reason in err[errsize] and p->rec_line when
 * the record is malformed (an unterminated quote, a quote inside an
 * unquoted field, text after a closing quote, a NUL byte, too many or too
 * long fields): the rest of its line is skipped and reading may go on.
 * OTA_ENOMEM when out of memory.
 */
int otactl_csv_next(struct otactl_csv *p, char *err, size_t errsize);

/* One device of the file: its line and the JSON object to send. */
struct otactl_csv_device {
	size_t line;    /* where its record starts */
	json_t *obj;    /* {"id","hardware","version"?,...}, owned */
	const char *id; /* borrowed from obj */
};

struct otactl_csv_devices {
	struct otactl_csv_device *v; /* in file order */
	size_t n;
	size_t nbad; /* rows (or header, or file) reported as bad */
};

/*
 * Called once per bad row with its line and reason (borrowed for the
 * call); line 0 means the whole file ("no devices").
 */
typedef void otactl_csv_bad_fn(void *arg, size_t line, const char *reason);

/*
 * Parses and checks a whole device CSV buf[0..len): a header row naming
 * the columns (id and hardware required; version, groups, labels
 * optional; any order, case-insensitive), then one device per record.
 * Fields are trimmed of spaces and tabs.  groups are names separated by
 * ';', labels key=value pairs separated by ';'.  Each row is checked as
 * otad checks it (id, hardware, SemVer version, group names, label
 * limits, valid UTF-8) and an id repeated in the file is refused on every
 * later line.  Every problem is reported through bad(arg, line, reason),
 * in line order (a repeated id where it repeats).
 *
 * Returns 0 with out->v[0..out->n) when every row is good and there is at
 * least one; OTA_EINVAL when anything was reported (out->nbad > 0; out
 * still holds the good rows); OTA_ENOMEM.  out must be freed with
 * otactl_csv_devices_free in every case.
 */
int otactl_csv_devices_parse(const char *buf, size_t len,
    otactl_csv_bad_fn *bad, void *arg, struct otactl_csv_devices *out);

/* Frees the devices (NULL-safe, safe twice). */
void otactl_csv_devices_free(struct otactl_csv_devices *d);

#endif
