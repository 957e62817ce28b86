/*
 * http_deadline: a deadline for each connection's request headers that a
 * trickle of bytes cannot push back (libmicrohttpd's own timeout restarts
 * on every byte).  A connection is watched from its accept, and again
 * after each request it completes, until the headers of its next request
 * are in; one thread shuts down the sockets whose deadline passed, which
 * makes libmicrohttpd close them.  It never closes a socket itself: the
 * socket stays libmicrohttpd's until http_deadline_forget.
 */
#ifndef OTAD_HTTP_DEADLINE_H
#define OTAD_HTTP_DEADLINE_H

#include <stdint.h>

struct http_deadline;
struct http_deadline_conn;

/*
 * Starts the watcher: a connection that has not sent its headers within
 * timeout_ms is shut down at most tick_ms later.  Returns NULL (logged)
 * when a thread or lock cannot be made.  Stop with http_deadline_stop.
 */
struct http_deadline *http_deadline_start(int64_t timeout_ms, int64_t tick_ms);

/* Stops the thread and frees d (NULL is fine).  Every connection must be
 * forgotten first (libmicrohttpd's daemons stopped). */
void http_deadline_stop(struct http_deadline *d);

/*
 * Watches the socket fd of a new connection, from now; returns its handle
 * (NULL when out of memory: that connection goes unwatched).  Thread-safe,
 * like every function here.
 */
struct http_deadline_conn *http_deadline_watch(struct http_deadline *d, int fd);

/* The connection's request headers are in: no deadline until rearmed.
 * c may be NULL. */
void http_deadline_met(struct http_deadline *d, struct http_deadline_conn *c);

/* The connection finished a request and waits for the next: its headers
 * are due timeout_ms from now.  c may be NULL. */
void http_deadline_rearm(struct http_deadline *d, struct http_deadline_conn *c);

/*
 * The connection is closing: never touch its socket again; frees c (NULL
 * is fine).  Must run before the socket is closed: libmicrohttpd's
 * MHD_CONNECTION_NOTIFY_CLOSED does.
 */
void http_deadline_forget(
    struct http_deadline *d, struct http_deadline_conn *c);

/* The number of connections shut down for a missed deadline so far. */
uint64_t http_deadline_closed(struct http_deadline *d);

#endif
