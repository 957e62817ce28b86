/*
 * otactl_devices: the command devices: the device inventory commands.
 * Takes the arguments after its own name; returns the exit status.
 */
#ifndef OTACTL_DEVICES_H
#define OTACTL_DEVICES_H

struct otactl;

int otactl_devices(struct otactl *ctx, int argc, char **argv);

#endif
