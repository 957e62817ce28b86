/*
 * otactl_upload: the command upload: sends an image, its descriptor and
 * signatures to otad. Takes the arguments after its own name; returns the exit
 * status.
 */
#ifndef OTACTL_UPLOAD_H
#define OTACTL_UPLOAD_H

#include <jansson.h>

struct otactl;

int otactl_upload(struct otactl *ctx, int argc, char **argv);

/*
 * Adds {"keyid": ..., "sig": base64} for one "KEYID:SIGFILE" argument (a
 * raw 64-byte signature file, as `otactl sign` writes) to arr, refusing a key
 * id already present.  Returns 0 or -1 (printed).  Shared with `bundles
 * upload`.
 */
int otactl_upload_add_sig(json_t *arr, const char *arg);

#endif
