# Collective in a container: the wheel in a slim Python image, run as a non-root user, data on a volume.
#   docker build -t collective .
#   docker run -d --name collective -e DISCORD_TOKEN=... -v collective-data:/data collective
# A compose file with a TLS reverse proxy in front of the webhook port: deploy/compose.yaml.

FROM python:3.11-slim AS build
WORKDIR /src
COPY . .
# The same wheel .ci/wheel-smoke checks: nothing from the source tree is used at run time.
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /dist . \
 && python -m venv /opt/collective \
 && /opt/collective/bin/pip install --no-cache-dir /dist/collective-*.whl

FROM python:3.11-slim
COPY --from=build /opt/collective /opt/collective
RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin collective \
 && mkdir -p /data && chown collective:collective /data
ENV PATH=/opt/collective/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    COLLECTIVE_DATABASE__PATH=/data/collective.db \
    COLLECTIVE_DATABASE__BACKUP_DIR=/data/backups \
    COLLECTIVE_WEBHOOKS__HOST=0.0.0.0
# The database, its daily backups, the run lock and the heartbeat live here; config.toml may too.
VOLUME ["/data"]
WORKDIR /data
USER collective
# Only used when [webhooks] enabled = true; publish it through a TLS proxy, never directly.
EXPOSE 8080
# Reads the heartbeat the running bot writes every 15 s next to its database: works with or without webhooks.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 CMD ["collective", "health"]
# `docker stop` sends SIGTERM: the bot answers webhooks already received, closes the database and exits 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["collective"]
CMD ["run"]
