/*
 * otactl_images: the command images: lists the images otad stores.
 * Takes the arguments after its own name; returns the exit status.
 */
#ifndef OTACTL_IMAGES_H
#define OTACTL_IMAGES_H

struct otactl;

int otactl_images(struct otactl *ctx, int argc, char **argv);

#endif
