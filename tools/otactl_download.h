/*
 * otactl_download: the command images download: fetches an image's bytes
 * to a file, kept only when they match its descriptor's size and sha256.
 * Takes the arguments after "download"; returns the exit status.
 */
#ifndef OTACTL_DOWNLOAD_H
#define OTACTL_DOWNLOAD_H

struct otactl;

int otactl_download(struct otactl *ctx, int argc, char **argv);

#endif
