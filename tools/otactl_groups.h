/*
 * otactl_groups: the command groups: the device group commands.
 * Takes the arguments after its own name; returns the exit status.
 */
#ifndef OTACTL_GROUPS_H
#define OTACTL_GROUPS_H

struct otactl;

int otactl_groups(struct otactl *ctx, int argc, char **argv);

#endif
