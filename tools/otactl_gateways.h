/*
 * otactl_gateways: the command gateways: the gateway token commands.
 * Takes the arguments after its own name; returns the exit status.
 */
#ifndef OTACTL_GATEWAYS_H
#define OTACTL_GATEWAYS_H

struct otactl;

int otactl_gateways(struct otactl *ctx, int argc, char **argv);

#endif
