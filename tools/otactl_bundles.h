/*
 * otactl_bundles: the command bundles: uploads a signed release bundle
 * descriptor, lists, shows and deletes the bundles otad stores.  Takes
 * the arguments after its own name; returns the exit status.
 */
#ifndef OTACTL_BUNDLES_H
#define OTACTL_BUNDLES_H

struct otactl;

int otactl_bundles(struct otactl *ctx, int argc, char **argv);

#endif
