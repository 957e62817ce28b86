/*
 * otactl_import: the command devices import: bulk provisioning from a CSV file.
 * Takes the arguments after its own name; returns the exit status.
 */
#ifndef OTACTL_IMPORT_H
#define OTACTL_IMPORT_H

struct otactl;

int otactl_import(struct otactl *ctx, int argc, char **argv);

#endif
