/*
 * otactl_token: the command token: API tokens, directly in otad's database
 * (otactl_ctx_config).  Takes the arguments after its own name; returns
 * the exit status.
 */
#ifndef OTACTL_TOKEN_H
#define OTACTL_TOKEN_H

struct otactl;

int otactl_token(struct otactl *ctx, int argc, char **argv);

#endif
