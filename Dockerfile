# syntax=docker/dockerfile:1
# One image for every Strand process: `strand head`, `strand runner`, and drivers (`strand run`).
#   docker build -t strand:dev .
# Kubernetes manifests: deploy/kubernetes (docs/deploy.md#kubernetes).

ARG NODE_IMAGE=node:20-bookworm-slim

# Compile TypeScript to dist/ with the full (dev) dependency set.
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# Production dependencies only, installed apart so that no dev package reaches the image.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE}
# tini runs as PID 1: it passes SIGTERM on to strand (which drains) and reaps zombies, which
# Kubernetes leaves to the image. openssl: the tls overlay's init container signs each pod's
# certificate with it (deploy/kubernetes/components/pod-certs).
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini openssl \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# package.json makes dist/ ES modules and lets scripts under /app import "strand" by name.
COPY package.json ./
COPY bin ./bin
# The runner's code cache: writable by the runtime user (Kubernetes mounts an emptyDir here).
RUN ln -s /app/bin/strand.js /usr/local/bin/strand \
  && mkdir -p /var/cache/strand \
  && chown 1000:1000 /var/cache/strand
# A numeric user (the base image's "node"), so that Kubernetes' runAsNonRoot can check it.
USER 1000:1000
# The port of --health that HEALTHCHECK asks (the default command serves it; so must yours).
ENV STRAND_HEALTH_PORT=8080
# head, runner, health, metrics
EXPOSE 7600 7700 8080 9464
# Kubernetes ignores HEALTHCHECK (the manifests declare probes); docker and compose use it.
# No curl in a slim image: Node's fetch asks /healthz.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.STRAND_HEALTH_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--", "strand"]
CMD ["runner", "--listen", "0.0.0.0:7700", "--health", "0.0.0.0:8080", "--cache-dir", "/var/cache/strand"]
