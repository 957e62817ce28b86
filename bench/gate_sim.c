/*
 * gate_sim: the health gates under simulated reports (gate_sim.h).  Only
 * the pseudo-random draws are here; every decision is rollout.c's.
 */
#include "gate_sim.h"

#include <stdlib.h>

#include "errors.h"

#define GATE_SIM_HORIZON_MAX 1000000

/* splitmix64: small, fast, and the same sequence on every machine. */
static uint64_t
gate_sim_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

/* A uniform double in [0, 1) from the top 53 bits. */
static double
gate_sim_uniform(uint64_t *state)
{
	return (double)(gate_sim_next(state) >> 11) * 0x1.0p-53;
}

/* One run: the report at which p first pauses, horizon + 1 if never, or
 * a negative OTA_E* code. */
static int64_t
gate_sim_one(const struct rollout_gate_policy *p, double true_rate,
    unsigned horizon, uint64_t state)
{
	struct rollout_gate_verdict v;
	uint64_t bad = 0;
	int rc;

	for (uint64_t n = 1; n <= horizon; n++) {
		if (gate_sim_uniform(&state) < true_rate)
			bad++;
		if ((rc = rollout_gate_judge(p, n - bad, bad, 0, &v)) != 0)
			return rc;
		if (v.breached)
			return (int64_t)n;
	}
	return (int64_t)horizon + 1;
}

static int
gate_sim_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

int
gate_sim_pauses(const struct rollout_gate_policy *p, double true_rate,
    unsigned runs, unsigned horizon, uint64_t seed, struct gate_sim_result *out)
{
	uint64_t *at;
	int64_t n;
	int rc = 0;

	if (p == NULL || out == NULL || runs == 0 || horizon == 0 ||
	    horizon > GATE_SIM_HORIZON_MAX ||
	    !(true_rate >= 0.0 && true_rate <= 1.0))
		return OTA_EINVAL;
	if ((at = calloc(runs, sizeof(*at))) == NULL)
		return OTA_ENOMEM;
	out->runs = runs;
	out->paused = 0;
	for (unsigned i = 0; i < runs; i++) {
		/* Run i's own stream: seed and i through one mixing step. */
		uint64_t state = seed ^ ((uint64_t)i * 0xd1b54a32d192ed03u);

		if ((n = gate_sim_one(p, true_rate, horizon, state)) < 0) {
			rc = (int)n;
			goto out;
		}
		at[i] = (uint64_t)n;
		out->paused += (uint64_t)n <= horizon;
	}
	qsort(at, runs, sizeof(*at), gate_sim_cmp);
	out->median_reports = at[(runs - 1) / 2];
out:
	free(at);
	return rc;
}

uint64_t
gate_sim_advance_after(const struct rollout_gate_policy *p, uint64_t limit)
{
	struct rollout_gate_verdict v;

	for (uint64_t n = 1; n <= limit; n++)
		if (rollout_gate_judge(p, n, 0, 0, &v) == 0 && v.healthy)
			return n;
	return limit + 1;
}
