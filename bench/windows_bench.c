/*
 * windows_bench: what maintenance windows cost a poll (bench/windows.sh).
 * The offer decision of a poll (offers_pick, then offers_when) over one
 * running rollout, for a million device ids: without windows, with the
 * rollout's windows (spans cached in the snapshot), with the rollout's and
 * a group's (their intersection), and the slow path that computes the
 * spans again through ICU (a clock outside the snapshot's cover), which
 * the cache avoids on every poll.  Prints nanoseconds per poll.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "errors.h"
#include "offers.h"
#include "store_images.h"
#include "store_rollouts.h"
#include "timeutil.h"

#define POLLS 1000000
#define SLOW_POLLS 2000

static double
mono_sec(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* A running rollout of one image to groups 5 and 9, with windows w. */
static struct offers_snapshot *
snapshot_with(const char *w)
{
	struct store_image *img = calloc(1, sizeof(*img));
	struct offers_snapshot *s = NULL;
	struct store_rollout r;

	if (img == NULL)
		return NULL;
	memset(&r, 0, sizeof(r));
	r.id = 1;
	r.image_id = 7;
	r.state = ROLLOUT_RUNNING;
	r.stage_count = 1;
	r.stages_bp[0] = 10000;
	r.groups[0].id = 5;
	r.groups[1].id = 9;
	r.group_count = 2;
	snprintf(r.windows, sizeof(r.windows), "%s", w);
	img->id = 7;
	snprintf(img->desc.name, sizeof(img->desc.name), "fw");
	snprintf(img->desc.version, sizeof(img->desc.version), "2.0.0");
	snprintf(img->desc.hardware[0], sizeof(img->desc.hardware[0]), "revA");
	img->desc.hardware_count = 1;
	memset(img->desc.sha256_hex, 'a', 64);
	img->descriptor = (unsigned char *)strdup("{}");
	img->descriptor_len = 2;
	img->signatures = strdup("[]");
	if (offers_snapshot_build(&r, &img, 1, &s) != 0)
		s = NULL;
	store_image_free(img);
	return s;
}

/* ns per poll of n polls at now; -1 when a poll failed. */
static double
run(const struct offers_snapshot *s, int n, int64_t now)
{
	static const int64_t groups[] = {5, 9};
	const struct offer_rollout *o;
	struct offers_when w;
	char id[32];
	double t0 = mono_sec();

	for (int i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "dev-%d", i);
		if (offers_pick(s, id, "revA", "1.0.0", groups, 2, &o) != 0 ||
		    offers_when(s, o, groups, 2, now, &w) != 0)
			return -1;
	}
	return (mono_sec() - t0) / n * 1e9;
}

int
main(void)
{
	const char *win = "mon-fri 22:00 4h Europe/Berlin";
	struct offers_snapshot *s[3];
	struct offer_group_windows *gw;
	int64_t now = timeutil_now_sec();
	double ns[4];

	if (crypto_init() != 0)
		return 1;
	s[0] = snapshot_with("");
	s[1] = snapshot_with(win);
	s[2] = snapshot_with(win);
	gw = calloc(1, sizeof(*gw));
	if (s[0] == NULL || s[1] == NULL || s[2] == NULL || gw == NULL)
		return 1;
	gw->group_id = 5;
	if (mwindow_parse("daily 00:00 2h UTC", &gw->set, NULL, 0) != 0 ||
	    offers_snapshot_windows(s[2], gw, 1, now) != 0)
		return 1;
	ns[0] = run(s[0], POLLS, now);
	ns[1] = run(s[1], POLLS, now);
	ns[2] = run(s[2], POLLS, now);
	/* A month later: outside the cover, every poll calls ICU. */
	ns[3] = run(s[1], SLOW_POLLS, now + 30 * 86400);
	for (int i = 0; i < 3; i++)
		offers_snapshot_unref(s[i]);
	if (ns[0] < 0 || ns[1] < 0 || ns[2] < 0 || ns[3] < 0)
		return 1;
	printf("| offer decision of one poll (offers_pick + offers_when) | "
	       "ns |\n|---|---|\n");
	printf("| no windows | %.0f |\n", ns[0]);
	printf("| the rollout's windows, spans from the snapshot | %.0f |\n",
	    ns[1]);
	printf(
	    "| the rollout's and a group's (intersection) | %.0f |\n", ns[2]);
	printf(
	    "| spans computed again through ICU (no cache) | %.0f |\n", ns[3]);
	return 0;
}
