/*
 * otactl_api: JSON requests and human output for the fleet commands:
 * URLs, calls that expect a status, pages, tables, records, and the
 * generic list and one-item commands.  Each failure is printed once.
 */
#ifndef OTACTL_API_H
#define OTACTL_API_H

#include <stddef.h>
#include <jansson.h>

struct otactl;
struct otactl_http;

/*
 * otactl_api_url returns a new string base + path + the escaped segment
 * seg (may be NULL) + tail (may be NULL), or NULL when out of memory.
 */
char *otactl_api_url(
    struct otactl_http *h, const char *path, const char *seg, const char *tail);

/* Appends "?key=<escaped val>" or "&..." to *url (reallocated); nothing
 * when val is NULL.  Returns 0 or -1 when out of memory. */
int otactl_api_query(
    struct otactl_http *h, char **url, const char *key, const char *val);

/*
 * Sends method ("GET", "POST", "DELETE", "PATCH") to url with body (a JSON
 * text, borrowed; NULL: none, a POST then has an empty body).  Returns 0
 * with the status in *out_status, or -1 after printing why (no answer).
 */
int otactl_api_send(struct otactl_http *h, const char *method, const char *url,
    const char *body, const char *what, long *out_status);

/*
 * otactl_api_send with a JSON body (borrowed, or NULL) expecting status
 * want.  Returns 0 and, when out is not NULL, the answer (a new
 * reference; NULL for 204); or -1 after printing the server's error (or
 * why there was no answer), named by what.
 */
int otactl_api_call(struct otactl_http *h, const char *method, const char *url,
    const json_t *body, long want, const char *what, json_t **out);

/*
 * otactl_api_call on the URL otactl_api_url(h, path, seg, tail) builds.
 * Returns 0 or -1 (printed), as otactl_api_call.
 */
int otactl_api_request(struct otactl_http *h, const char *method,
    const char *path, const char *seg, const char *tail, const json_t *body,
    long want, const char *what, json_t **out);

/*
 * GETs url page after page, appending each page's array under key to
 * all, following next_after (string or integer, which must advance) until
 * it is null.  Returns 0 or -1 (printed).
 */
int otactl_api_list(struct otactl_http *h, const char *url, const char *key,
    const char *what, json_t *all);

/* Looks up a dotted path ("image.name") in obj; borrowed, or NULL. */
const json_t *otactl_api_get(const json_t *obj, const char *path);

/*
 * Returns a JSON value as a new table cell: scalars as text, arrays
 * "a,b", objects "k=v,k2=v2", null/absent/empty "-"; control characters
 * replaced.  NULL when out of memory.
 */
char *otactl_api_cell(const json_t *v);

/* Prints the objects of arr as a table of the dotted keys (ncols <=
 * OTACTL_TABLE_MAX_COLS) under header.  0 or -1 when out of memory
 * (printed, as by the two functions below). */
int otactl_api_table(const json_t *arr, size_t ncols, const char *const *header,
    const char *const *keys);

/* Prints obj as aligned "key: value" lines for the NULL-terminated keys.
 * 0 or -1 when out of memory (printed). */
int otactl_api_record(const json_t *obj, const char *const *keys);

/* Prints j indented, keys in order, and a newline.  0 or -1 when out of
 * memory or the write failed (printed). */
int otactl_api_print_json(const json_t *j);

/*
 * The whole `cmd` command ("groups list [--json]") for a listing otad
 * answers in one page: GETs path and prints the array under key as a
 * table of ncols columns (see otactl_api_table), or as JSON.  Returns the
 * exit status.
 */
int otactl_api_list_cmd(struct otactl *ctx, int argc, char **argv,
    const char *cmd, const char *path, const char *key, size_t ncols,
    const char *const *header, const char *const *keys);

/*
 * A command on one resource named by its one argument ("groups show
 * NAME", "devices revoke-token ID"): method on path + the escaped
 * argument + tail (may be NULL), expecting status want.  The answer is
 * printed as JSON with --json, else as the "key: value" record of keys
 * (NULL-terminated; NULL: none); done (may be NULL) is printed with the
 * argument after an answer without a record ("deleted group eu").
 */
struct otactl_api_item {
	const char *cmd;      /* "groups show" */
	const char *pos_name; /* "NAME", in usage messages */
	const char *method;
	const char *path; /* "/api/v1/groups/" */
	const char *tail;
	long want;
	const char *const *keys;
	const char *done;
};

/* Runs the command it describes.  Returns the exit status. */
int otactl_api_item_cmd(struct otactl *ctx, int argc, char **argv,
    const struct otactl_api_item *it);

/*
 * The option loop of the commands that take only --json, the server
 * options and one positional argument called pos_name (required; NULL:
 * none).  Returns -1 to go on, with *out_json and *out_pos (borrowed from
 * argv), or the exit status to return.
 */
int otactl_api_args(struct otactl *ctx, int argc, char **argv, const char *cmd,
    const char *pos_name, int *out_json, const char **out_pos);

#endif
