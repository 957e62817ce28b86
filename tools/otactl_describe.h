/*
 * otactl_describe: the command describe: writes the signed descriptor of an
 * image. Takes the arguments after its own name; returns the exit status.
 */
#ifndef OTACTL_DESCRIBE_H
#define OTACTL_DESCRIBE_H

struct otactl;
struct ota_descriptor;

int otactl_describe(struct otactl *ctx, int argc, char **argv);

/*
 * Streams the file at path through SHA-256, filling d's size, sha256 and
 * sha256_hex (the rest of d untouched).  Returns 0 or -1 after printing
 * why.  Shared with `bundles describe`.
 */
int otactl_describe_hash(const char *path, struct ota_descriptor *d);

#endif
