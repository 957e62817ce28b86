/*
 * otactl_describe: the command describe: writes the signed descriptor of an
 * image. Takes the arguments after its own name; returns the exit status.
 */
#ifndef OTACTL_DESCRIBE_H
#define OTACTL_DESCRIBE_H

struct otactl;

int otactl_describe(struct otactl *ctx, int argc, char **argv);

#endif
