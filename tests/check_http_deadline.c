/*
 * check_http_deadline: sockets (socket pairs here) whose headers are not
 * in by their deadline are shut down; met or forgotten ones are left
 * alone; a rearmed one gets a new deadline.
 */
#include <check.h>
#include <errno.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http_deadline.h"
#include "testutil.h"
#include "timeutil.h"

#define TIMEOUT_MS 150
#define TICK_MS 20

/* 1 when fd's read side was shut down (recv sees end of stream), 0 when
 * it is open with nothing to read. */
static int
is_shut(int fd)
{
	char b;
	ssize_t n = recv(fd, &b, 1, MSG_DONTWAIT);

	if (n == 0)
		return 1;
	ck_assert_int_eq((int)n, -1);
	ck_assert(errno == EAGAIN || errno == EWOULDBLOCK);
	return 0;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* Waits (up to 5 s: the machine may be loaded) until fd is shut down;
 * returns the milliseconds waited, or -1. */
static long
wait_shut(int fd)
{
	int64_t t0 = timeutil_mono_ms(), now;

	do {
		if (is_shut(fd))
			return (long)(timeutil_mono_ms() - t0);
		sleep_ms(5);
		now = timeutil_mono_ms();
	} while (now - t0 < 5000);
	return -1;
}

START_TEST(test_http_deadline_watch)
{
	struct http_deadline *d = http_deadline_start(TIMEOUT_MS, TICK_MS);
	struct http_deadline_conn *late, *met, *gone, *again;
	int a[2], b[2], c[2], e[2];
	long waited;

	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, b), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, c), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, e), 0);
	late = http_deadline_watch(d, a[0]);
	met = http_deadline_watch(d, b[0]);
	gone = http_deadline_watch(d, c[0]);
	again = http_deadline_watch(d, e[0]);
	ck_assert_ptr_nonnull(late);
	http_deadline_met(d, met);
	http_deadline_forget(d, gone);
	http_deadline_met(d, again);
	ck_assert_int_eq(is_shut(a[0]), 0);
	ck_assert_int_ge(wait_shut(a[0]), 0);
	ck_assert_int_eq(is_shut(b[0]), 0);
	ck_assert_int_eq(is_shut(c[0]), 0);
	ck_assert_int_eq(is_shut(e[0]), 0);
	/* A request done: the next headers are due TIMEOUT_MS from now. */
	http_deadline_rearm(d, again);
	waited = wait_shut(e[0]);
	ck_assert_int_ge(waited, TIMEOUT_MS - TICK_MS);
	ck_assert_uint_eq(http_deadline_closed(d), 2);
	ck_assert_int_eq(is_shut(b[0]), 0);
	http_deadline_forget(d, late);
	http_deadline_forget(d, met);
	http_deadline_forget(d, again);
	http_deadline_forget(d, NULL);
	http_deadline_met(d, NULL);
	ck_assert_ptr_null(http_deadline_watch(d, -1));
	http_deadline_stop(d);
	http_deadline_stop(NULL);
	for (int i = 0; i < 2; i++) {
		close(a[i]);
		close(b[i]);
		close(c[i]);
		close(e[i]);
	}
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("http_deadline");
	TCase *tc = tcase_create("http_deadline_watch");

	tcase_add_test(tc, test_http_deadline_watch);
	suite_add_tcase(s, tc);
	return testutil_run_suite(s);
}
