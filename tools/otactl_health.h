/*
 * otactl_health: `rollouts health ID` and `rollouts watch ID`, rollout
 * health as a table with a bar per stage, once or refreshed.
 */
#ifndef OTACTL_HEALTH_H
#define OTACTL_HEALTH_H

struct otactl;

/*
 * rollouts health ID [--json]: the state, the gate, one row per stage
 * (its counters, failure rate and a bar), the total, and the failures by
 * LwM2M result code.  Returns the exit status.
 */
int otactl_health_show(struct otactl *ctx, int argc, char **argv);

/*
 * rollouts watch ID [--interval SEC] [--count N]: the health again every
 * SEC seconds (default 5), redrawn in place when stdout is a terminal, or
 * one line per reading otherwise; stops after N readings or when the
 * rollout is completed or aborted.  Returns the exit status.
 */
int otactl_health_watch(struct otactl *ctx, int argc, char **argv);

#endif
