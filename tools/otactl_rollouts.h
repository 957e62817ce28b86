/*
 * otactl_rollouts: the command rollouts: the rollout commands.
 * Takes the arguments after its own name; returns the exit status.
 */
#ifndef OTACTL_ROLLOUTS_H
#define OTACTL_ROLLOUTS_H

struct otactl;

int otactl_rollouts(struct otactl *ctx, int argc, char **argv);

#endif
