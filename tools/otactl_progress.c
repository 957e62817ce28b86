/*
 * otactl_progress: one bar, "\r<what> NN% [#####     ] a / b MiB", redrawn
 * in place only when its percentage moves (at most 101 redraws however
 * long the work), and only on a terminal.  otactl_err knows the line is
 * unfinished: a message ends the bar's line before it is printed.
 */
#include "otactl_progress.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "otactl_err.h"

#define BAR_WIDTH 30

void
otactl_progress_init(
    struct otactl_progress *p, const char *what, const char *unit)
{
	memset(p, 0, sizeof(*p));
	p->what = what;
	p->unit = unit;
	p->on = isatty(STDERR_FILENO);
	p->last_pct = -1;
}

void
otactl_progress_update(struct otactl_progress *p, int64_t done, int64_t total)
{
	char bar[BAR_WIDTH + 1];
	int64_t pct;
	int fill;

	if (!p->on || total <= 0)
		return;
	if (done > total)
		done = total;
	pct = done * 100 / total;
	if (pct == p->last_pct)
		return;
	p->last_pct = pct;
	fill = (int)(pct * BAR_WIDTH / 100);
	memset(bar, '#', (size_t)fill);
	memset(bar + fill, ' ', (size_t)(BAR_WIDTH - fill));
	bar[BAR_WIDTH] = '\0';
	if (p->unit == NULL)
		fprintf(stderr, "\r%s %3d%% [%s] %.1f / %.1f MiB", p->what,
		    (int)pct, bar, (double)done / 1048576.0,
		    (double)total / 1048576.0);
	else
		fprintf(stderr, "\r%s %3d%% [%s] %lld / %lld %s", p->what,
		    (int)pct, bar, (long long)done, (long long)total, p->unit);
	fflush(stderr);
	otactl_err_line_open();
}

void
otactl_progress_end(struct otactl_progress *p)
{
	(void)p;
	otactl_err_line_end();
}

/* libcurl's transfer callback: the bar of the direction p counts. */
static int
progress_xfer(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	struct otactl_progress *p = arg;

	if (p->upload)
		otactl_progress_update(p, (int64_t)ulnow, (int64_t)ultotal);
	else
		otactl_progress_update(p, (int64_t)dlnow, (int64_t)dltotal);
	return 0;
}

void
otactl_progress_curl(struct otactl_progress *p, CURL *curl, int upload)
{
	p->upload = upload;
	if (!p->on)
		return;
	curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, progress_xfer);
	curl_easy_setopt(curl, CURLOPT_XFERINFODATA, p);
	curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
}
