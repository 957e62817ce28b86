/*
 * otactl_csv: an RFC 4180 reader and the device CSV schema of `otactl
 * devices import`.  Pure: no I/O, no globals; reasons go back in buffers
 * or through the caller's callback.  The checks mirror otad's API
 * contract, so a file that passes here is refused by the server only for
 * what a file cannot know (an id already provisioned, an unknown group).
 */
#include "otactl_csv.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "components.h"
#include "errors.h"
#include "names.h"
#include "semver.h"
#include "store_devices.h"
#include "store_groups.h"

/* otad's own limits where it exports them (names, STORE_*); these it
 * keeps in http_api_devices.c. */
#define LABELS_MAX 64     /* keys per device */
#define LABEL_KEY_MAX 64  /* characters */
#define LABEL_VAL_MAX 256 /* characters */
#define GROUPS_MAX 64     /* groups named by one device */
#define SHOW_MAX 40       /* bytes of a bad value quoted in a reason */

static const unsigned char utf8_bom[3] = {0xef, 0xbb, 0xbf};

void
otactl_csv_init(struct otactl_csv *p, const char *buf, size_t len)
{
	memset(p, 0, sizeof(*p));
	p->buf = buf;
	p->len = len;
	p->line = 1;
	if (len >= 3 && memcmp(buf, utf8_bom, 3) == 0)
		p->pos = 3;
}

void
otactl_csv_free(struct otactl_csv *p)
{
	free(p->text);
	p->text = NULL;
	p->text_len = p->text_cap = 0;
	p->nfields = 0;
}

/* Formats a reason into err[errsize] and returns OTA_EINVAL. */
static int __attribute__((format(printf, 3, 4)))
fail(char *err, size_t errsize, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errsize, fmt, ap);
	va_end(ap);
	return OTA_EINVAL;
}

/* 1 when c ends a line (LF or CR). */
static int
is_eol(char c)
{
	return c == '\n' || c == '\r';
}

/* Consumes the line break at p->pos (CRLF, LF or CR) and counts it. */
static void
eat_eol(struct otactl_csv *p)
{
	if (p->buf[p->pos] == '\r' && p->pos + 1 < p->len &&
	    p->buf[p->pos + 1] == '\n')
		p->pos++;
	p->pos++;
	p->line++;
}

/* Skips the rest of the physical line and its line break. */
static void
skip_line(struct otactl_csv *p)
{
	while (p->pos < p->len && !is_eol(p->buf[p->pos]))
		p->pos++;
	if (p->pos < p->len)
		eat_eol(p);
}

/* Skips blank lines (empty, or only spaces and tabs) at p->pos. */
static void
skip_blank(struct otactl_csv *p)
{
	size_t i;

	while (p->pos < p->len) {
		for (i = p->pos;
		     i < p->len && (p->buf[i] == ' ' || p->buf[i] == '\t'); i++)
			;
		if (i < p->len && !is_eol(p->buf[i]))
			return;
		p->pos = i;
		if (p->pos < p->len)
			eat_eol(p);
	}
}

/* Appends byte c to the record's text.  0 or OTA_ENOMEM. */
static int
put(struct otactl_csv *p, char c)
{
	size_t cap;
	char *t;

	if (p->text_len + 1 > p->text_cap) {
		cap = p->text_cap ? p->text_cap * 2 : 256;
		if ((t = realloc(p->text, cap)) == NULL)
			return OTA_ENOMEM;
		p->text = t;
		p->text_cap = cap;
	}
	p->text[p->text_len++] = c;
	return 0;
}

/*
 * Reads one field at p->pos into the record's text (NUL-terminated).
 * Stops before the ',' or line break that ends it.  Returns 0,
 * OTA_EINVAL (reason in err) or OTA_ENOMEM.
 */
static int
read_field(struct otactl_csv *p, char *err, size_t errsize)
{
	size_t start = p->text_len, open_line = p->line;
	int quoted = 0, rc;
	char c;

	if (p->pos < p->len && p->buf[p->pos] == '"') {
		quoted = 1;
		p->pos++;
	}
	for (;;) {
		if (p->pos >= p->len) {
			if (quoted)
				return fail(err, errsize,
				    "quoted field opened on line %zu never "
				    "closed",
				    open_line);
			break;
		}
		c = p->buf[p->pos];
		if (c == '\0')
			return fail(err, errsize, "NUL byte in the file");
		if (quoted && c == '"') {
			if (p->pos + 1 < p->len && p->buf[p->pos + 1] == '"') {
				p->pos++; /* "" is one quote */
			} else {
				p->pos++;
				quoted = 0;
				if (p->pos < p->len && p->buf[p->pos] != ',' &&
				    !is_eol(p->buf[p->pos]))
					return fail(err, errsize,
					    "text after a closing quote "
					    "(write a quote inside a quoted "
					    "field as \"\")");
				break;
			}
		} else if (!quoted && (c == ',' || is_eol(c))) {
			break;
		} else if (!quoted && c == '"') {
			return fail(err, errsize,
			    "quote inside an unquoted field (quote the whole "
			    "field and write the quote as \"\")");
		} else if (quoted && is_eol(c)) {
			/* Kept as is; counted so lines stay right. */
			if (c == '\r' && p->pos + 1 < p->len &&
			    p->buf[p->pos + 1] == '\n') {
				if ((rc = put(p, c)) != 0)
					return rc;
				p->pos++;
				c = '\n';
			}
			p->line++;
		}
		if (p->text_len - start >= OTACTL_CSV_FIELD_MAX)
			return fail(err, errsize, "a field over %d bytes",
			    OTACTL_CSV_FIELD_MAX);
		if ((rc = put(p, c)) != 0)
			return rc;
		p->pos++;
	}
	return put(p, '\0');
}

int
otactl_csv_next(struct otactl_csv *p, char *err, size_t errsize)
{
	int rc;

	err[0] = '\0';
	p->nfields = 0;
	p->text_len = 0;
	skip_blank(p);
	if (p->pos >= p->len)
		return 0;
	p->rec_line = p->line;
	for (;;) {
		if (p->nfields == OTACTL_CSV_FIELDS_MAX) {
			rc = fail(err, errsize, "over %d fields",
			    OTACTL_CSV_FIELDS_MAX);
			break;
		}
		p->off[p->nfields++] = p->text_len;
		if ((rc = read_field(p, err, errsize)) != 0)
			break;
		if (p->pos < p->len && p->buf[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->pos < p->len)
			eat_eol(p);
		for (size_t i = 0; i < p->nfields; i++)
			p->fields[i] = p->text + p->off[i];
		return 1;
	}
	p->nfields = 0;
	if (rc == OTA_EINVAL)
		skip_line(p);
	return rc;
}

/* The columns of the device CSV, in the order reasons list them. */
enum {
	COL_ID,
	COL_HARDWARE,
	COL_VERSION,
	COL_GROUPS,
	COL_LABELS,
	COL_COMPONENTS,
	NCOLS
};

static const char *const col_names[NCOLS] = {
    "id", "hardware", "version", "groups", "labels", "components"};

/* Where each column is in a record (-1: absent), and how many there are. */
struct cols {
	int at[NCOLS];
	size_t nfields;
};

/* Sets *b and *e to s's bounds without surrounding spaces and tabs. */
static void
trim(const char *s, size_t len, size_t *b, size_t *e)
{
	*b = 0;
	*e = len;
	while (*b < *e && (s[*b] == ' ' || s[*b] == '\t'))
		(*b)++;
	while (*e > *b && (s[*e - 1] == ' ' || s[*e - 1] == '\t'))
		(*e)--;
}

/* Copies s[0..len) into out[outsize], cut to SHOW_MAX bytes with "...",
 * control bytes replaced: a reason quotes untrusted text. */
static const char *
show(const char *s, size_t len, char *out, size_t outsize)
{
	size_t n = len > SHOW_MAX ? SHOW_MAX : len, i;

	if (n + 4 > outsize)
		n = outsize - 4;
	/* Never cut a UTF-8 character in two. */
	while (n < len && n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	for (i = 0; i < n; i++)
		out[i] =
		    (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	if (n < len) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
	return out;
}

/*
 * Reads the header record: every field a known column, none twice, id
 * and hardware present.  Returns 0 or OTA_EINVAL (reason in err).
 */
static int
parse_header(
    const struct otactl_csv *p, struct cols *out, char *err, size_t errsize)
{
	char shown[SHOW_MAX + 4];
	size_t b, e, c, i;

	out->nfields = p->nfields;
	for (c = 0; c < NCOLS; c++)
		out->at[c] = -1;
	for (i = 0; i < p->nfields; i++) {
		const char *f = p->fields[i];
		trim(f, strlen(f), &b, &e);
		for (c = 0; c < NCOLS; c++) {
			if (strlen(col_names[c]) == e - b &&
			    strncasecmp(f + b, col_names[c], e - b) == 0)
				break;
		}
		if (c == NCOLS)
			return fail(err, errsize,
			    "header: unknown column '%s' (want id, hardware, "
			    "version, groups, labels, components)",
			    show(f + b, e - b, shown, sizeof(shown)));
		if (out->at[c] >= 0)
			return fail(err, errsize, "header: column '%s' twice",
			    col_names[c]);
		out->at[c] = (int)i;
	}
	if (out->at[COL_ID] < 0 || out->at[COL_HARDWARE] < 0)
		return fail(err, errsize,
		    "header: want a header row naming at least the columns "
		    "id and hardware (then any of version, groups, labels, "
		    "components)");
	return 0;
}

/*
 * Returns the trimmed value of column c of the record in *b..*e of
 * p->fields[...], or NULL when the column is absent.
 */
static const char *
column(const struct otactl_csv *p, const struct cols *cols, int c, size_t *b,
    size_t *e)
{
	const char *f;

	if (cols->at[c] < 0)
		return NULL;
	f = p->fields[cols->at[c]];
	trim(f, strlen(f), b, e);
	return f;
}

/* Sets key to a new JSON string of s[0..len) in obj.  0, or OTA_EINVAL
 * when it is not UTF-8 (reason in err naming what), OTA_ENOMEM. */
static int
set_str(json_t *obj, const char *key, const char *s, size_t len,
    const char *what, char *err, size_t errsize)
{
	json_t *v = json_stringn(s, len);

	if (v == NULL)
		return fail(err, errsize, "%s: not valid UTF-8", what);
	return json_object_set_new(obj, key, v) == 0 ? 0 : OTA_ENOMEM;
}

/*
 * Adds "groups": [names] for the ';'-separated list s[0..len) (empty
 * items skipped; none at all: no member).  0, OTA_EINVAL or OTA_ENOMEM.
 */
static int
add_groups(json_t *obj, const char *s, size_t len, char *err, size_t errsize)
{
	char shown[SHOW_MAX + 4];
	json_t *arr, *g;
	size_t i = 0, j, b, e, k;

	if ((arr = json_array()) == NULL ||
	    json_object_set_new(obj, "groups", arr) != 0)
		return OTA_ENOMEM;
	while (i <= len) {
		for (j = i; j < len && s[j] != ';'; j++)
			;
		trim(s + i, j - i, &b, &e);
		b += i;
		e += i;
		if (e > b) {
			if (!names_valid_len(s + b, e - b, STORE_GROUP_NAME_MAX,
			        NAMES_GROUP_PUNCT))
				return fail(err, errsize,
				    "groups: '%s' is not a group name (1..%d "
				    "of [A-Za-z0-9._-])",
				    show(s + b, e - b, shown, sizeof(shown)),
				    STORE_GROUP_NAME_MAX);
			for (k = 0; k < json_array_size(arr); k++) {
				const char *o =
				    json_string_value(json_array_get(arr, k));
				if (strlen(o) == e - b &&
				    memcmp(o, s + b, e - b) == 0)
					return fail(err, errsize,
					    "groups: '%s' listed twice",
					    show(s + b, e - b, shown,
					        sizeof(shown)));
			}
			if (json_array_size(arr) == GROUPS_MAX)
				return fail(err, errsize,
				    "groups: over %d groups", GROUPS_MAX);
			if ((g = json_stringn(s + b, e - b)) == NULL ||
			    json_array_append_new(arr, g) != 0)
				return OTA_ENOMEM;
		}
		i = j + 1;
	}
	if (json_array_size(arr) == 0)
		json_object_del(obj, "groups");
	return 0;
}

/* Characters (code points) of the valid UTF-8 text s[0..len). */
static size_t
utf8_chars(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			n++;
	return n;
}

/*
 * Checks one "key=value" item s[0..len) (already trimmed) and adds it to
 * labels.  Lengths are in characters, as otad counts them.  0,
 * OTA_EINVAL or OTA_ENOMEM.
 */
static int
add_label(json_t *labels, const char *s, size_t len, char *err, size_t errsize)
{
	char shown[SHOW_MAX + 4], key[4 * LABEL_KEY_MAX + 1];
	const char *eq = memchr(s, '=', len);
	size_t kb, ke, vb, ve;
	json_t *k, *v;

	if (eq == NULL)
		return fail(err, errsize, "labels: '%s' is not key=value",
		    show(s, len, shown, sizeof(shown)));
	trim(s, (size_t)(eq - s), &kb, &ke);
	trim(eq + 1, len - (size_t)(eq - s) - 1, &vb, &ve);
	show(s + kb, ke - kb, shown, sizeof(shown));
	if ((k = json_stringn(s + kb, ke - kb)) == NULL)
		return fail(
		    err, errsize, "labels: key '%s' not valid UTF-8", shown);
	json_decref(k);
	if (ke == kb || utf8_chars(s + kb, ke - kb) > LABEL_KEY_MAX)
		return fail(err, errsize,
		    "labels: key '%s' must be 1..%d characters", shown,
		    LABEL_KEY_MAX);
	memcpy(key, s + kb, ke - kb);
	key[ke - kb] = '\0';
	if ((v = json_stringn(eq + 1 + vb, ve - vb)) == NULL)
		return fail(err, errsize,
		    "labels: value of '%s' not valid UTF-8", shown);
	if (utf8_chars(eq + 1 + vb, ve - vb) > LABEL_VAL_MAX) {
		json_decref(v);
		return fail(err, errsize,
		    "labels: value of '%s' over %d characters", shown,
		    LABEL_VAL_MAX);
	}
	if (json_object_get(labels, key) != NULL) {
		json_decref(v);
		return fail(err, errsize, "labels: key '%s' twice", shown);
	}
	if (json_object_size(labels) == LABELS_MAX) {
		json_decref(v);
		return fail(err, errsize, "labels: over %d keys", LABELS_MAX);
	}
	return json_object_set_new(labels, key, v) == 0 ? 0 : OTA_ENOMEM;
}

/*
 * Adds "labels": {...} for the ';'-separated "key=value" list s[0..len)
 * (empty items skipped).  0, OTA_EINVAL or OTA_ENOMEM.
 */
static int
add_labels(json_t *obj, const char *s, size_t len, char *err, size_t errsize)
{
	json_t *labels;
	size_t i = 0, j, b, e, text;
	char *dump;
	int rc;

	if ((labels = json_object()) == NULL ||
	    json_object_set_new(obj, "labels", labels) != 0)
		return OTA_ENOMEM;
	while (i <= len) {
		for (j = i; j < len && s[j] != ';'; j++)
			;
		trim(s + i, j - i, &b, &e);
		if (e > b && (rc = add_label(
		                  labels, s + i + b, e - b, err, errsize)) != 0)
			return rc;
		i = j + 1;
	}
	if (json_object_size(labels) == 0) {
		json_object_del(obj, "labels");
		return 0;
	}
	if ((dump = json_dumps(labels, JSON_COMPACT)) == NULL)
		return OTA_ENOMEM;
	text = strlen(dump);
	free(dump);
	if (text > STORE_LABELS_MAX)
		return fail(err, errsize, "labels: %zu bytes as JSON, over %d",
		    text, STORE_LABELS_MAX);
	return 0;
}

/*
 * Adds "components": [...] for the text form s[0..len)
 * ("ncp=esp32c6@1.2.0;mcu=nrf52840", components.h).  0, OTA_EINVAL
 * (reason in err) or OTA_ENOMEM.
 */
static int
add_components(
    json_t *obj, const char *s, size_t len, char *err, size_t errsize)
{
	struct component v[COMPONENTS_MAX];
	json_t *arr;
	size_t n;
	int rc;

	if ((rc = components_from_text(s, len, v, &n, err, errsize)) != 0)
		return rc;
	if (n == 0)
		return 0;
	if ((arr = components_to_json(v, n)) == NULL)
		return OTA_ENOMEM;
	return json_object_set_new(obj, "components", arr) == 0 ? 0
	                                                        : OTA_ENOMEM;
}

/*
 * Checks the record at p against cols and builds the device object.
 * Returns 0 with a new *out, OTA_EINVAL (reason in err) or OTA_ENOMEM.
 */
static int
parse_row(const struct otactl_csv *p, const struct cols *cols, json_t **out,
    char *err, size_t errsize)
{
	char shown[SHOW_MAX + 4];
	const char *f;
	json_t *obj;
	size_t b, e;
	int rc;

	*out = NULL;
	if (p->nfields != cols->nfields)
		return fail(err, errsize, "%zu field%s, the header has %zu",
		    p->nfields, p->nfields == 1 ? "" : "s", cols->nfields);
	if ((obj = json_object()) == NULL)
		return OTA_ENOMEM;
	f = column(p, cols, COL_ID, &b, &e);
	if (!names_valid_len(
	        f + b, e - b, STORE_DEVICE_ID_MAX, NAMES_ID_PUNCT)) {
		rc =
		    fail(err, errsize, "id '%s': want 1..%d of [A-Za-z0-9._:-]",
		        show(f + b, e - b, shown, sizeof(shown)),
		        STORE_DEVICE_ID_MAX);
		goto out;
	}
	if ((rc = set_str(obj, "id", f + b, e - b, "id", err, errsize)) != 0)
		goto out;
	f = column(p, cols, COL_HARDWARE, &b, &e);
	if (!names_valid_len(
	        f + b, e - b, STORE_HARDWARE_MAX, NAMES_ID_PUNCT)) {
		rc = fail(err, errsize,
		    "hardware '%s': want 1..%d of [A-Za-z0-9._:-]",
		    show(f + b, e - b, shown, sizeof(shown)),
		    STORE_HARDWARE_MAX);
		goto out;
	}
	if ((rc = set_str(
	         obj, "hardware", f + b, e - b, "hardware", err, errsize)) != 0)
		goto out;
	f = column(p, cols, COL_VERSION, &b, &e);
	if (f != NULL && e > b) {
		if (semver_check(f + b, e - b) != 0) {
			rc = fail(err, errsize,
			    "version '%s': not a SemVer version (1.4.0, "
			    "2.0.0-rc.1)",
			    show(f + b, e - b, shown, sizeof(shown)));
			goto out;
		}
		if ((rc = set_str(obj, "version", f + b, e - b, "version", err,
		         errsize)) != 0)
			goto out;
	}
	f = column(p, cols, COL_GROUPS, &b, &e);
	if (f != NULL &&
	    (rc = add_groups(obj, f + b, e - b, err, errsize)) != 0)
		goto out;
	f = column(p, cols, COL_LABELS, &b, &e);
	if (f != NULL &&
	    (rc = add_labels(obj, f + b, e - b, err, errsize)) != 0)
		goto out;
	f = column(p, cols, COL_COMPONENTS, &b, &e);
	if (f != NULL && e > b &&
	    (rc = add_components(obj, f + b, e - b, err, errsize)) != 0)
		goto out;
	*out = obj;
	obj = NULL;
	rc = 0;
out:
	json_decref(obj);
	return rc;
}

/* Appends a device to d.  0 or OTA_ENOMEM (obj released either way). */
static int
push(struct otactl_csv_devices *d, size_t *cap, size_t line, json_t *obj)
{
	struct otactl_csv_device *v;
	size_t ncap;

	if (d->n == *cap) {
		ncap = *cap ? *cap * 2 : 64;
		if ((v = realloc(d->v, ncap * sizeof(*v))) == NULL) {
			json_decref(obj);
			return OTA_ENOMEM;
		}
		d->v = v;
		*cap = ncap;
	}
	d->v[d->n].line = line;
	d->v[d->n].obj = obj;
	d->v[d->n].id = json_string_value(json_object_get(obj, "id"));
	d->n++;
	return 0;
}

/*
 * Reports the device just pushed (d->v[d->n - 1]) when an earlier line
 * has its id ("id 'x' already on line N"); first_line maps each id to
 * the line it first appeared on.  Called row by row, so the reports stay
 * in line order with the rows' other problems.  0 or OTA_ENOMEM.
 */
static int
check_repeat(struct otactl_csv_devices *d, json_t *first_line,
    otactl_csv_bad_fn *bad, void *arg)
{
	const struct otactl_csv_device *dev = &d->v[d->n - 1];
	char reason[SHOW_MAX + 64], shown[SHOW_MAX + 4];
	json_t *seen = json_object_get(first_line, dev->id);

	if (seen == NULL)
		return json_object_set_new(first_line, dev->id,
		           json_integer((json_int_t)dev->line)) == 0
		           ? 0
		           : OTA_ENOMEM;
	snprintf(reason, sizeof(reason), "id '%s' already on line %zu",
	    show(dev->id, strlen(dev->id), shown, sizeof(shown)),
	    (size_t)json_integer_value(seen));
	bad(arg, dev->line, reason);
	d->nbad++;
	return 0;
}

int
otactl_csv_devices_parse(const char *buf, size_t len, otactl_csv_bad_fn *bad,
    void *arg, struct otactl_csv_devices *out)
{
	struct otactl_csv p;
	struct cols cols;
	char err[256];
	size_t cap = 0;
	json_t *obj = NULL, *first_line = json_object();
	int rc, have_header = 0;

	memset(out, 0, sizeof(*out));
	memset(&cols, 0, sizeof(cols));
	otactl_csv_init(&p, buf, len);
	if (first_line == NULL) {
		rc = OTA_ENOMEM;
		goto out;
	}
	while ((rc = otactl_csv_next(&p, err, sizeof(err))) != 0) {
		if (rc == OTA_ENOMEM)
			goto out;
		if (rc == 1 && !have_header)
			rc = parse_header(&p, &cols, err, sizeof(err));
		else if (rc == 1)
			rc = parse_row(&p, &cols, &obj, err, sizeof(err));
		if (rc == OTA_ENOMEM)
			goto out;
		if (rc == OTA_EINVAL) {
			bad(arg, p.rec_line, err);
			out->nbad++;
			if (!have_header) {
				/* Without columns no row can be judged. */
				rc = OTA_EINVAL;
				goto out;
			}
			continue;
		}
		if (!have_header) {
			have_header = 1;
			continue;
		}
		if ((rc = push(out, &cap, p.rec_line, obj)) != 0 ||
		    (rc = check_repeat(out, first_line, bad, arg)) != 0)
			goto out;
	}
	if (!have_header) {
		bad(arg, 0,
		    "empty file: want a header row (id,hardware,...) "
		    "and one device per line");
		out->nbad++;
	} else if (out->n == 0 && out->nbad == 0) {
		bad(arg, 0, "no devices after the header row");
		out->nbad++;
	}
	rc = out->nbad > 0 ? OTA_EINVAL : 0;
out:
	json_decref(first_line);
	otactl_csv_free(&p);
	return rc;
}

void
otactl_csv_devices_free(struct otactl_csv_devices *d)
{
	for (size_t i = 0; i < d->n; i++)
		json_decref(d->v[i].obj);
	free(d->v);
	memset(d, 0, sizeof(*d));
}
