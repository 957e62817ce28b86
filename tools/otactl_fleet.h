/*
 * otactl_fleet: what the dashboard shows, on the command line: `otactl
 * whoami` (the token's role and name) and `otactl fleet` (devices by
 * installed version and hardware, and how many are stale).  Each takes
 * the arguments after its own name; returns the exit status.
 */
#ifndef OTACTL_FLEET_H
#define OTACTL_FLEET_H

struct otactl;

int otactl_fleet(struct otactl *ctx, int argc, char **argv);
int otactl_fleet_whoami(struct otactl *ctx, int argc, char **argv);

#endif
