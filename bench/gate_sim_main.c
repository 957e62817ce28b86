/*
 * gate_sim: prints the table of docs/rollouts.md, "Choosing a gate":
 * how often each health gate pauses a rollout that is fine (false
 * pauses) and how soon it pauses one that is not, by simulation with a
 * fixed seed (bench/gate_sim.c), so every run prints the same figures.
 * Run it with `make gate-sim`.
 */
#include <stdio.h>

#include "errors.h"
#include "gate_sim.h"

#define SEED 0x6f74616467617465u /* "otadgate" */
#define RUNS 10000
#define HORIZON 1000

static const double fine_rates[] = {0.01, 0.02, 0.04, 0.05};
static const double bad_rates[] = {0.10, 0.20, 0.50};
static const double thresholds[] = {0.01, 0.02, 0.05, 0.10, 0.25, 0.50};

/* Prints one row: the rate, then the figure of each gate. */
static int
row(const struct rollout_gate_policy *g, size_t ng, double rate, int delays)
{
	struct gate_sim_result r;
	int rc;

	printf("| %g%% |", rate * 100.0);
	for (size_t i = 0; i < ng; i++) {
		if ((rc = gate_sim_pauses(
		         &g[i], rate, RUNS, HORIZON, SEED, &r)) != 0)
			return rc;
		if (!delays)
			printf(" %.2f%% |", 100.0 * r.paused / r.runs);
		else if (r.median_reports > HORIZON)
			printf(" > %d |", HORIZON);
		else
			printf(" %llu |", (unsigned long long)r.median_reports);
	}
	printf("\n");
	return 0;
}

int
main(void)
{
	const struct rollout_gate_policy g[] = {
	    {ROLLOUT_GATE_SIMPLE, 0.05, 10, ROLLOUT_CONFIDENCE_DEFAULT},
	    {ROLLOUT_GATE_WILSON, 0.05, 10, ROLLOUT_CONFIDENCE_DEFAULT},
	};
	size_t ng = sizeof(g) / sizeof(g[0]);
	int rc = 0;

	printf("Health gates at failure_threshold 0.05, min_reports 10 "
	       "(wilson: confidence 0.95); %d simulated rollouts of %d "
	       "reports each, the gate judging after every report, seed "
	       "%#llx.\n\n",
	    RUNS, HORIZON, (unsigned long long)SEED);
	printf("| true failure rate | simple: runs paused | wilson: runs "
	       "paused |\n|---|---|---|\n");
	for (size_t i = 0;
	     rc == 0 && i < sizeof(fine_rates) / sizeof(*fine_rates); i++)
		rc = row(g, ng, fine_rates[i], 0);
	printf("\n| true failure rate | simple: median reports until the "
	       "pause | wilson: median reports until the pause |\n"
	       "|---|---|---|\n");
	for (size_t i = 0;
	     rc == 0 && i < sizeof(bad_rates) / sizeof(*bad_rates); i++)
		rc = row(g, ng, bad_rates[i], 1);
	printf("\nReports in a row without a failure before the wilson gate "
	       "(confidence 0.95, min_reports 10) allows the automatic "
	       "advance:\n\n| failure_threshold | reports |\n|---|---|\n");
	for (size_t i = 0;
	     rc == 0 && i < sizeof(thresholds) / sizeof(*thresholds); i++) {
		struct rollout_gate_policy w = g[1];
		uint64_t n;

		w.failure_threshold = thresholds[i];
		n = gate_sim_advance_after(&w, 10000000);
		printf("| %g%% | %llu |\n", thresholds[i] * 100.0,
		    (unsigned long long)n);
	}
	if (rc != 0) {
		fprintf(stderr, "gate_sim: %s\n", ota_strerror(rc));
		return 1;
	}
	return 0;
}
