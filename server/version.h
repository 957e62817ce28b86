/*
 * version: the one version string of otad and otactl (otad --version,
 * otactl --version, the server's log line and its User-Agent-like
 * figures).
 */
#ifndef OTAD_VERSION_H
#define OTAD_VERSION_H

#define OTAD_VERSION "0.1.0"

#endif
