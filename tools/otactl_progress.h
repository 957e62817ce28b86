/*
 * otactl_progress: the progress bar of work that takes time (uploads,
 * downloads, imports), drawn on stderr only when stderr is a terminal and
 * silent otherwise, so a pipe, a file or a log never sees it.
 */
#ifndef OTACTL_PROGRESS_H
#define OTACTL_PROGRESS_H

#include <stdint.h>

#include <curl/curl.h>

/* What one bar shows.  Set up by otactl_progress_init; no resources. */
struct otactl_progress {
	const char *what; /* "upload", "download", "import" (borrowed) */
	const char *unit; /* NULL: amounts are bytes, shown in MiB */
	int upload;       /* for the curl hook: count sent, not received */
	int on;           /* stderr is a terminal (the caller may clear it) */
	int64_t last_pct;
};

/*
 * Sets up p for work named what (borrowed): amounts in bytes when unit is
 * NULL (shown as MiB), else counts of unit ("devices", borrowed).  Draws
 * nothing unless stderr is a terminal.
 */
void otactl_progress_init(
    struct otactl_progress *p, const char *what, const char *unit);

/* Redraws the bar for done of total (total > 0) when its percentage
 * moved; nothing when off or total <= 0. */
void otactl_progress_update(
    struct otactl_progress *p, int64_t done, int64_t total);

/* Ends the bar's line (when one was drawn), so that what follows starts
 * on a line of its own.  otactl_err does the same before a message. */
void otactl_progress_end(struct otactl_progress *p);

/*
 * Makes curl's transfer on handle drive p: the bytes sent when upload is
 * 1, else the bytes received.  Nothing when stderr is not a terminal.
 * p must outlive the transfer.
 */
void otactl_progress_curl(struct otactl_progress *p, CURL *curl, int upload);

#endif
