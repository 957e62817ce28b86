/*
 * otactl_keys: release signing without a server: keygen, sign, verify,
 * and the reader of detached signature files.
 */
#ifndef OTACTL_KEYS_H
#define OTACTL_KEYS_H

#include <sodium.h>

struct otactl;

/*
 * Reads a detached signature file, which must hold exactly the 64 raw
 * bytes.  Returns 0, or OTA_EIO / OTA_EINVAL after printing why.
 */
int otactl_keys_read_sig(
    const char *path, unsigned char out_sig[crypto_sign_BYTES]);

/* The commands keygen, sign and verify: each takes the arguments after
 * its own name and returns the exit status. */
int otactl_keys_gen(struct otactl *ctx, int argc, char **argv);
int otactl_keys_sign(struct otactl *ctx, int argc, char **argv);
int otactl_keys_verify(struct otactl *ctx, int argc, char **argv);

#endif
