/*
 * gate_sim: a Monte Carlo simulation of the rollout health gates
 * (rollout_gate_judge, the code otad runs): devices report one after the
 * other, each failing with a fixed true rate, and the gate looks after
 * every report, as the telemetry writer does.  Deterministic for a seed
 * (splitmix64), no I/O: bench/gate_sim_main.c prints its table and
 * tests/check_gate_sim.c asserts the properties docs/rollouts.md claims.
 */
#ifndef OTAD_GATE_SIM_H
#define OTAD_GATE_SIM_H

#include <stdint.h>

#include "rollout.h"

/* What gate_sim_pauses measured. */
struct gate_sim_result {
	unsigned runs, paused;
	/* Reports until the pause, the median over every run; horizon + 1
	 * when at least half of the runs never paused. */
	uint64_t median_reports;
};

/*
 * Runs runs rollouts of horizon reports (1..1000000) each under policy p,
 * each report failing with probability true_rate, the gate judging after
 * every report; a run ends at its first breach.  Run i draws from seed
 * and i only, so two policies with one seed see the same reports.
 * Returns 0, or OTA_EINVAL (bad counts, a rate outside [0, 1], a policy
 * the gate refuses) or OTA_ENOMEM.
 */
int gate_sim_pauses(const struct rollout_gate_policy *p, double true_rate,
    unsigned runs, unsigned horizon, uint64_t seed,
    struct gate_sim_result *out);

/*
 * How many reports, none failed, policy p needs before it allows the
 * automatic advance (healthy): the smallest n <= limit, or limit + 1.
 */
uint64_t gate_sim_advance_after(
    const struct rollout_gate_policy *p, uint64_t limit);

#endif
