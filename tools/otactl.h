/*
 * otactl: the command-line tool for release engineers and operators.  This
 * header is shared by the tools/otactl*.c files only: the run context, the
 * option scanner, file helpers, the HTTP client and one entry point per
 * command.  Commands return an exit status (OTACTL_EXIT_*) and print their
 * own one-line "otactl: ..." message on failure; nothing here prints a
 * token or a secret key.
 */
#ifndef OTACTL_H
#define OTACTL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#define OTACTL_EXIT_OK 0
#define OTACTL_EXIT_FAIL 1
#define OTACTL_EXIT_USAGE 2

#define OTACTL_DEFAULT_SERVER "https://127.0.0.1:8443"
#define OTACTL_USER_AGENT "otactl/1"

/*
 * The run context, filled by main from the global options and passed to
 * every command.  Strings are borrowed from argv/environ unless noted.
 */
struct otactl {
	const char *prog;         /* "otactl" */
	const char *config_path;  /* --config, or NULL */
	const char *data_dir_opt; /* --data-dir, or NULL */
	char *data_dir;           /* resolved lazily, owned (free()) */
	char **envp;              /* environ without OTACTL_*, owned array */
	const char *server;       /* --server, or NULL */
	const char *token_file;   /* --token-file, or NULL */
	const char *cacert;       /* --cacert, or NULL */
};

/* otactl_err: prints "otactl: <message>\n" to stderr (otactl_err_v: the
 * same with a va_list). */
void otactl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void otactl_err_v(const char *fmt, va_list ap)
    __attribute__((format(printf, 1, 0)));

/* otactl_usage: prints the usage text to f. */
void otactl_usage(FILE *f);

/* Reports a usage error ("otactl: <message>" and a hint); returns 2. */
int otactl_usage_err(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/*
 * otactl_ctx: resolves the data directory once: --data-dir, else
 * config_load(--config or NULL, the filtered environment).  Returns the
 * path (borrowed from ctx) or NULL after printing why.
 */
const char *otactl_ctx_data_dir(struct otactl *ctx);

/*
 * Option scanner.  Each command describes its options in a table ending
 * with a zeroed entry.  "--name value" and "--name=value" are accepted;
 * "--" ends options.  The global options (--config, --data-dir) are
 * accepted by every command and stored in the context directly.
 */
struct otactl_opt {
	const char *name; /* without the leading "--" */
	int has_arg;      /* 1 when the option takes a value */
	int id;           /* > 0, returned by otactl_args_next */
};

struct otactl_args {
	int argc;
	char **argv;
	int i;        /* next argv index */
	int only_pos; /* after "--": everything is positional */
	/* Only for otactl_args_cmd_next: */
	const char *cmd;      /* the command's name in messages */
	const char *pos_name; /* its one positional argument; NULL: none */
	const char *pos;      /* that argument once seen, else NULL */
	int status;           /* the exit status after OTACTL_ARG_EXIT */
};

#define OTACTL_ARG_END 0   /* no more arguments */
#define OTACTL_ARG_POS -1  /* a positional argument in *out_val */
#define OTACTL_ARG_HELP -2 /* --help or -h */
#define OTACTL_ARG_BAD -3  /* unknown option or missing value (printed) */
#define OTACTL_ARG_EXIT -4 /* the command stops with exit status a->status */

void otactl_args_init(struct otactl_args *a, int argc, char **argv);

/*
 * Returns the id of the next option (its value, if any, in *out_val), or
 * one of the OTACTL_ARG_* codes.  Global options are consumed silently.
 */
int otactl_args_next(struct otactl_args *a, struct otactl *ctx,
    const struct otactl_opt *opts, const char **out_val);

/*
 * The option loop of a command, which takes at most one positional
 * argument, called pos_name in messages (NULL when it takes none); cmd
 * names the command in messages ("token create").  cmd and pos_name are
 * borrowed.
 */
void otactl_args_cmd_init(struct otactl_args *a, int argc, char **argv,
    const char *cmd, const char *pos_name);

/*
 * otactl_args_next doing what every command does alike: returns the id of
 * the next option (> 0, its value in *out_val) or OTACTL_ARG_END, and
 * keeps the positional argument in a->pos.  After --help (usage printed on
 * stdout), a bad option, a positional argument the command does not take
 * or a second one (each printed) it returns OTACTL_ARG_EXIT, with the exit
 * status to return in a->status.
 */
int otactl_args_cmd_next(struct otactl_args *a, struct otactl *ctx,
    const struct otactl_opt *opts, const char **out_val);

/*
 * Reads a whole file of at most max_bytes into a new buffer (*out, free()
 * it; one extra NUL byte is appended, not counted in *out_len).  Returns
 * 0, OTA_EIO (printed with the path and strerror) or OTA_ETOOBIG (not
 * printed: the caller knows which limit it was).
 */
int otactl_file_read(
    const char *path, size_t max_bytes, unsigned char **out, size_t *out_len);

/* 1 when path exists (any type, dangling symlinks included) or cannot be
 * checked, 0 when it certainly does not. */
int otactl_file_exists(const char *path);

/* otactl_str: returns a new string "a" "b" (malloc'd), or NULL on
 * allocation failure. */
char *otactl_str_cat2(const char *a, const char *b);

/* Parses a decimal unsigned integer with no sign or junk.  0 or OTA_EINVAL. */
int otactl_str_parse_u64(const char *s, uint64_t *out);

/*
 * Prints a table: the header line, then nrows rows of ncols cells each
 * (row-major in cells), aligned with two spaces between columns.  At most
 * OTACTL_TABLE_MAX_COLS columns.
 */
#define OTACTL_TABLE_MAX_COLS 8
void otactl_table_print(FILE *f, size_t ncols, const char *const *header,
    char *const *cells, size_t nrows);

/*
 * The HTTP client of the server-side commands: one curl handle with the
 * server URL, the API token (in sodium_malloc memory, sent as a bearer
 * token, never printed), the CA bundle, timeouts and a bounded response
 * body.
 */
struct otactl_http {
	CURL *curl;
	char *base;  /* server URL without trailing '/', owned */
	char *token; /* sodium_malloc'd, NUL-terminated */
	char *body;  /* response body, owned, NUL-terminated */
	size_t body_len;
	size_t body_cap;
	int body_overflow;
	char errbuf[CURL_ERROR_SIZE];
};

/* The options every server-side command accepts (ids 100..102). */
#define OTACTL_OPT_SERVER 100
#define OTACTL_OPT_TOKEN_FILE 101
#define OTACTL_OPT_CACERT 102
/* Three table rows: clang-format would take them for a block. */
// clang-format off
#define OTACTL_HTTP_OPTS \
	{"server", 1, OTACTL_OPT_SERVER}, \
	{"token-file", 1, OTACTL_OPT_TOKEN_FILE}, \
	{"cacert", 1, OTACTL_OPT_CACERT}
// clang-format on

/* Stores a server option in ctx; returns 1 when id was one of them. */
int otactl_http_option(struct otactl *ctx, int id, const char *val);

/*
 * Prepares h: resolves the server URL, the token and the CA bundle and
 * sets the common curl options.  Returns 0, or -1 after printing why.
 * otactl_http_close is needed in either case; it wipes the response
 * buffer (answers may carry tokens) before freeing it.
 */
int otactl_http_open(struct otactl *ctx, struct otactl_http *h);
void otactl_http_close(struct otactl_http *h);

/*
 * Performs the request set up on h->curl (URL and method set by the
 * caller), collecting the body.  Returns 0 and the HTTP status in
 * *out_status, or -1 after printing "otactl: <what> failed: <reason>".
 */
int otactl_http_perform(
    struct otactl_http *h, const char *what, long *out_status);

/*
 * Prints "otactl: <what> failed: HTTP <status>: <error>: <detail>" from
 * the JSON error body of the last response (or its text if not JSON).
 */
void otactl_http_report(
    const struct otactl_http *h, const char *what, long status);

/* Parses the last response body as JSON: a new reference, or NULL after
 * printing why. */
json_t *otactl_http_json(const struct otactl_http *h, const char *what);

/*
 * otactl_api: JSON requests and human output for the fleet commands.
 *
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

/*
 * Reads a detached signature file, which must hold exactly the 64 raw
 * bytes.  Returns 0, or OTA_EIO / OTA_EINVAL after printing why.
 */
int otactl_keys_read_sig(
    const char *path, unsigned char out_sig[crypto_sign_BYTES]);

/* Commands.  Each takes the arguments after its own name. */
int otactl_keys_gen(struct otactl *ctx, int argc, char **argv);
int otactl_keys_sign(struct otactl *ctx, int argc, char **argv);
int otactl_keys_verify(struct otactl *ctx, int argc, char **argv);
int otactl_describe(struct otactl *ctx, int argc, char **argv);
int otactl_upload(struct otactl *ctx, int argc, char **argv);
int otactl_images(struct otactl *ctx, int argc, char **argv);
int otactl_token(struct otactl *ctx, int argc, char **argv);
int otactl_devices(struct otactl *ctx, int argc, char **argv);
int otactl_import(struct otactl *ctx, int argc, char **argv);
int otactl_groups(struct otactl *ctx, int argc, char **argv);
int otactl_gateways(struct otactl *ctx, int argc, char **argv);
int otactl_rollouts(struct otactl *ctx, int argc, char **argv);

/* A command or subcommand name and its entry point. */
struct otactl_cmd {
	const char *name;
	int (*run)(struct otactl *ctx, int argc, char **argv);
};

/*
 * Runs the subcommand of cmd ("devices") named by the first positional
 * argument, from subs[0..n) (global options may come before it).
 * Returns the exit status.
 */
int otactl_args_subcommand(struct otactl *ctx, int argc, char **argv,
    const char *cmd, const struct otactl_cmd *subs, size_t n);

#endif
