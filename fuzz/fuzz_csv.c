/*
 * fuzz_csv: the device CSV of `otactl devices import` (tools/otactl_csv.c):
 * the RFC 4180 reader and the device schema on top of it.  Invariants:
 * every record the reader returns round-trips (written back with every
 * field quoted, after a byte order mark, and read again, it is the same
 * record), fields and records stay within their limits; the devices
 * parsed have the required members (and distinct ids when none was
 * reported), each reported line
 * exists in the file, reasons are NUL-terminated and free of control
 * bytes, and the return code agrees with what was reported.
 */
#include <string.h>

#include <jansson.h>

#include "errors.h"
#include "fuzz.h"
#include "otactl_csv.h"

/* A growing byte buffer: the records read (each as its field count and
 * its fields, all NUL-terminated: a field never holds a NUL), or the
 * records written back as CSV. */
struct rec_log {
	char *buf;
	size_t len, cap;
};

static void
log_put(struct rec_log *l, const char *s, size_t n)
{
	if (l->len + n > l->cap) {
		size_t cap = (l->len + n) * 2 + 64;
		char *b = realloc(l->buf, cap);

		FUZZ_CHECK(b != NULL);
		l->buf = b;
		l->cap = cap;
	}
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

/* Reads every good record of buf into *rl (and, when w is not NULL,
 * writes it to *w in RFC 4180 with every field quoted).  Returns the
 * number of good records. */
static size_t
read_all(const char *buf, size_t len, struct rec_log *rl, struct rec_log *w)
{
	struct otactl_csv p;
	char err[256], count[32];
	size_t good = 0, last_line = 0;
	int rc;

	otactl_csv_init(&p, buf, len);
	while ((rc = otactl_csv_next(&p, err, sizeof(err))) != 0) {
		FUZZ_CHECK(rc == 1 || rc == OTA_EINVAL);
		FUZZ_CHECK(p.rec_line >= 1 && p.rec_line >= last_line);
		last_line = p.rec_line;
		if (rc != 1) {
			FUZZ_CHECK(fuzz_terminated(err, sizeof(err)) &&
			           err[0] != '\0');
			continue;
		}
		FUZZ_CHECK(
		    p.nfields >= 1 && p.nfields <= OTACTL_CSV_FIELDS_MAX);
		snprintf(count, sizeof(count), "%zu", p.nfields);
		log_put(rl, count, strlen(count) + 1);
		for (size_t i = 0; i < p.nfields; i++) {
			size_t n = strlen(p.fields[i]);

			FUZZ_CHECK(n <= OTACTL_CSV_FIELD_MAX);
			log_put(rl, p.fields[i], n + 1);
			if (w == NULL)
				continue;
			log_put(w, i > 0 ? ",\"" : "\"", i > 0 ? 2 : 1);
			for (const char *c = p.fields[i]; *c != '\0'; c++) {
				log_put(w, c, 1);
				if (*c == '"')
					log_put(w, "\"", 1);
			}
			log_put(w, "\"", 1);
		}
		if (w != NULL)
			log_put(w, "\r\n", 2);
		good++;
	}
	otactl_csv_free(&p);
	return good;
}

struct bad_seen {
	size_t lines, count;
};

static void
on_bad(void *arg, size_t line, const char *reason)
{
	struct bad_seen *b = arg;

	FUZZ_CHECK(line <= b->lines);
	FUZZ_CHECK(reason != NULL && reason[0] != '\0');
	FUZZ_CHECK(strlen(reason) < 1024);
	for (const char *c = reason; *c != '\0'; c++)
		FUZZ_CHECK((unsigned char)*c >= 0x20 && *c != 0x7f);
	b->count++;
}

static void
check_devices(const char *buf, size_t len)
{
	struct otactl_csv_devices d;
	struct bad_seen b = {1, 0};
	int rc;

	for (size_t i = 0; i < len; i++)
		if (buf[i] == '\n' || buf[i] == '\r')
			b.lines++;
	memset(&d, 0, sizeof(d));
	rc = otactl_csv_devices_parse(buf, len, on_bad, &b, &d);
	FUZZ_CHECK(rc == 0 || rc == OTA_EINVAL);
	FUZZ_CHECK(d.nbad == b.count);
	FUZZ_CHECK((rc == 0) == (d.nbad == 0 && d.n >= 1));
	for (size_t i = 0; i < d.n; i++) {
		json_t *o = d.v[i].obj;

		FUZZ_CHECK(json_is_object(o));
		FUZZ_CHECK(d.v[i].id != NULL &&
		           strcmp(json_string_value(json_object_get(o, "id")),
		               d.v[i].id) == 0);
		FUZZ_CHECK(json_is_string(json_object_get(o, "hardware")));
		FUZZ_CHECK(d.v[i].line >= 2 && d.v[i].line <= b.lines);
		if (i > 0)
			FUZZ_CHECK(d.v[i].line > d.v[i - 1].line);
		/* A repeated id is reported (and then nothing is
		 * imported), so a clean parse has distinct ids. */
		for (size_t j = 0; j < i && rc == 0; j++)
			FUZZ_CHECK(strcmp(d.v[i].id, d.v[j].id) != 0);
	}
	otactl_csv_devices_free(&d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rec_log first = {0}, again = {0}, w = {0};
	size_t n1, n2;

	n1 = read_all((const char *)data, size, &first, &w);
	if (n1 > 0) {
		char *bom = malloc(w.len + 3);

		FUZZ_CHECK(bom != NULL);
		memcpy(bom, "\xef\xbb\xbf", 3);
		memcpy(bom + 3, w.buf, w.len);
		n2 = read_all(bom, w.len + 3, &again, NULL);
		FUZZ_CHECK(n2 == n1);
		FUZZ_CHECK(again.len == first.len &&
		           memcmp(again.buf, first.buf, first.len) == 0);
		free(bom);
	}
	check_devices((const char *)data, size);
	free(first.buf);
	free(again.buf);
	free(w.buf);
	return 0;
}
