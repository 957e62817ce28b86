/*
 * otactl_upload: the command upload: sends an image, its descriptor and
 * signatures to otad. Takes the arguments after its own name; returns the exit
 * status.
 */
#ifndef OTACTL_UPLOAD_H
#define OTACTL_UPLOAD_H

struct otactl;

int otactl_upload(struct otactl *ctx, int argc, char **argv);

#endif
