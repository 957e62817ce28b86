/*
 * testutil: what the Check suites in tests/check_*.c share: temporary
 * directories, whole small files, shell commands, SQL behind the store's
 * back and the suite runner.
 * Every helper but testutil_run_suite fails through Check assertions, so
 * call them from a test or a checked fixture, where a failure ends only
 * that test.  No globals; only testutil_image_insert knows about otad's
 * modules (the store and the descriptor).
 */
#ifndef OTAD_TESTUTIL_H
#define OTAD_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include <check.h>

/*
 * Creates a fresh, empty directory "$TMPDIR/<name>.XXXXXX" (/tmp when
 * TMPDIR is unset or empty) and writes its path to out_dir[out_size].  A
 * path that does not fit fails the test rather than being cut short.  The
 * caller removes the directory with testutil_tmpdir_remove().
 */
void testutil_tmpdir_new(const char *name, char *out_dir, size_t out_size);

/*
 * Removes dir and everything below it, without following symbolic links.
 * dir must exist.
 */
void testutil_tmpdir_remove(const char *dir);

/* Creates or truncates path and writes exactly data[0..len) to it. */
void testutil_write_file(const char *path, const void *data, size_t len);

/*
 * Reads the whole of path.  Returns a new buffer holding its bytes and a
 * NUL after them (so text can be used as a string), which the caller
 * frees; the byte count goes to *out_len unless out_len is NULL.
 */
char *testutil_read_file(const char *path, size_t *out_len);

/*
 * Runs the shell command built from fmt (printf-style, at most 1023 bytes
 * once formatted) and returns system()'s status: 0 when it exited 0.
 */
int testutil_run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Runs the shell command built from fmt, as testutil_run does, and returns
 * its whole standard output as a new NUL-terminated string the caller
 * frees.  The command must exit 0.
 */
char *testutil_popen_read(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/*
 * The database a test's store opens for the SQLite path db_path: db_path
 * itself, or, when OTAD_TEST_PG holds the keyword conninfo of a
 * PostgreSQL database, a conninfo whose search_path is a schema of its own
 * named after db_path (created now if missing; the same path gives the
 * same schema, so a test may reopen it).  Returned in a static buffer
 * valid until the next call.
 */
const char *testutil_db(const char *db_path);

/* 1 when the suite runs on PostgreSQL (OTAD_TEST_PG is set). */
int testutil_db_is_postgres(void);

/*
 * Runs sql (one or more statements) on db_path's database (testutil_db)
 * through a connection of its own: rows planted or changed behind the
 * store's back.  The text is SQLite's: on PostgreSQL, zeroblob(N),
 * group_concat and printf('<text>%0Wd', X) are rewritten for it, and the
 * identity sequences are moved past ids planted explicitly.  A failure fails
 * the test with the database's message.
 */
void testutil_sql_exec(const char *db_path, const char *sql);

/*
 * Runs the query sql on db_path, which must return a row: returns its
 * first column as an integer and, when out is not NULL, copies it as text
 * to out[outlen] ("" for NULL).
 */
long long testutil_sql_query(
    const char *db_path, const char *sql, char *out, size_t outlen);

/* Runs the query sql on db_path and writes column 0 of every row, as
 * text joined by sep, into out[outlen] ("" when there is none): what
 * SQLite's group_concat gives, on either database. */
void testutil_sql_join(const char *db_path, const char *sql, const char *sep,
    char *out, size_t outlen);

struct store;
struct store_rollout_new;

/*
 * Stores, through st, the image name version for hardware revA: size
 * bytes whose sha256 is 32 bytes of seed (sha1 and md5 those of "abc", no
 * signatures), created by created_by.  Returns its id; *out_existed
 * (unless NULL) gets store_image_insert's flag.
 */
int64_t testutil_image_insert(struct store *st, const char *name,
    const char *version, uint64_t size, unsigned char seed,
    const char *created_by, int *out_existed);

/*
 * Fills *r (zeroed first) with the request the rollout suites start from:
 * image_id on groups[0..group_count), the default stages, failure
 * threshold 0.05 after 10 reports, created by "ci"; no name, salt or
 * advance_after, which the caller sets when it needs them.
 */
void testutil_rollout_req(struct store_rollout_new *r, int64_t image_id,
    const char *const *groups, size_t group_count);

/* Returns 1 when the shell finds the command name on PATH, else 0. */
int testutil_have_command(const char *name);

/*
 * Runs every test of s, each in its own process, printing Check's normal
 * report; takes s over (it is freed here).  Returns EXIT_SUCCESS when all
 * tests passed, EXIT_FAILURE otherwise: main()'s exit status.
 */
int testutil_run_suite(Suite *s);

#endif
