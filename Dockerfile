# Tollgate gateway. TypeScript runs as-is on Node 24 (native type stripping); only the web console
# is built, in a stage of its own, so the image carries its files and none of its build tools.
FROM node:24-slim AS console

WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY client ./client
COPY console ./console
RUN npm run console:build

FROM node:24-slim

ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    TOLLGATE_DATA_DIR=/data \
    TOLLGATE_CONFIG=/etc/tollgate/tollgate.yaml

WORKDIR /app

# Dependencies first, so a source change reuses this layer. The install scripts only build the
# console, which the stage above did.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

COPY bin ./bin
COPY src ./src
COPY migrations ./migrations
COPY clickhouse ./clickhouse
COPY --from=console /app/console/dist ./console/dist

# Embedded storage (used only without DATABASE_URL) lives on a volume owned by the runtime user.
RUN mkdir -p /data /etc/tollgate && chown node:node /data
VOLUME ["/data"]

USER node

EXPOSE 8000

# The slim image has no curl or wget; Node's fetch does the probe.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# V8 would otherwise let the young generation grow to 128 MiB (64 MiB semi-spaces on a large host):
# 16 MiB semi-spaces hold 1,000 open streams in about 230 MiB instead of 330 for a few % more CPU.
# The old generation is collected at 1.25 times what was live after the last full collection, not up
# to 4 times, and glibc keeps 2 malloc arenas, not 8 per core: after a bench run, about 250 MiB
# instead of 380-460 (docs/memory.md). Flags and environment, since both are read at start-up.
ENV MALLOC_ARENA_MAX=2
CMD ["node", "--max-semi-space-size=16", "--heap-growing-percent=25", "bin/tollgate.mjs", "serve"]
