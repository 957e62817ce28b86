# otad container image.  See docs/operations.md, "Running in Docker".
#
#   docker build -t otad .
#   docker run -d --name otad -p 8443:8443 -v otad-data:/var/lib/otad otad
#
# The daemon runs as uid 10001 (otad) with its state on the volume at
# /var/lib/otad.  Every config key can be set as OTAD_<KEY> (-e ...).
# The store is SQLite in the volume unless OTAD_DATABASE names a
# PostgreSQL server (postgresql://otad@db:5432/otad, with
# OTAD_DATABASE_PASSWORD_FILE, OTAD_DATABASE_SSLMODE,
# OTAD_DATABASE_SSLROOTCERT): several containers then share it, each with
# the same server key (OTAD_SERVER_KEY_FILE, a mounted secret).  See
# deploy/compose.yaml and docs/operations.md, "Several nodes".

# ---------------------------------------------------------------- build
FROM debian:bookworm-slim AS build

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential pkg-config libmicrohttpd-dev libsodium-dev \
      libjansson-dev libsqlite3-dev libgnutls28-dev libcurl4-gnutls-dev \
      libmosquitto-dev libpq-dev libicu-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .
RUN make -j"$(nproc)" VARIANT=release \
 && build/release/otad --help >/dev/null

# ---------------------------------------------------------------- runtime
FROM debian:bookworm-slim

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libmicrohttpd12 libsodium23 libjansson4 libsqlite3-0 libgnutls30 \
      libcurl3-gnutls ca-certificates curl libmosquitto1 libpq5 libicu72 \
 && rm -rf /var/lib/apt/lists/*

# A fixed uid so volumes and bind mounts can be prepared on the host
# (chown 10001:10001).  The data directory exists in the image, owned by
# otad, so a fresh named volume starts out writable by it.
RUN groupadd --system --gid 10001 otad \
 && useradd --system --uid 10001 --gid otad --home-dir /var/lib/otad \
      --no-create-home --shell /usr/sbin/nologin otad \
 && install -d -o otad -g otad -m 0700 /var/lib/otad

COPY --from=build /src/build/release/otad /src/build/release/otactl /usr/local/bin/
COPY --from=build /src/config/otad.conf /etc/otad/otad.conf

# Environment beats the config file.  Inside a container otad must listen
# on all interfaces for -p to reach it.
ENV OTAD_DATA_DIR=/var/lib/otad \
    OTAD_LISTEN_ADDRESS=0.0.0.0

VOLUME /var/lib/otad
# 8443: HTTPS.  8080 is the conventional port for the optional plain HTTP
# listener: -e OTAD_HTTP_PORT=8080 -p 8080:8080.
EXPOSE 8443

USER otad
WORKDIR /var/lib/otad

# -k: the first-start certificate is self-signed.  Follows OTAD_HTTPS_PORT.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD curl -fsk -o /dev/null "https://127.0.0.1:${OTAD_HTTPS_PORT:-8443}/healthz" || exit 1

# otad drains for shutdown_timeout_sec (30 s) on SIGTERM: use
# `docker stop -t 35` (or --stop-timeout 35 on docker run).
STOPSIGNAL SIGTERM
ENTRYPOINT ["otad"]
CMD ["--config", "/etc/otad/otad.conf"]
