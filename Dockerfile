# herald's container image: `herald operator` and `herald agent`, one image.
# Builds with Docker, Podman or Buildah from the repository root:
#
#   docker build -t ghcr.io/herald-lb/herald:0.1.0 .
#   docker build --build-arg NODE_VERSION=22 ...        # another Node.js (20 or newer)
#
# The bases are build arguments too; scripts/build-image.sh passes Debian
# bases it builds itself, so this machine needs no image registry
# (docs/image.md). The builder and runtime bases must be the same Debian
# release, since the addon is linked against the builder's C library.
ARG NODE_VERSION=20
ARG BUILD_BASE=docker.io/library/node:${NODE_VERSION}-bookworm
ARG RUNTIME_BASE=docker.io/library/node:${NODE_VERSION}-bookworm-slim

# --- build: the packet-socket addon and the TypeScript, with every dependency
FROM ${BUILD_BASE} AS build
WORKDIR /src
# Dependencies and the addon first: this layer is reused until they change.
# npm ci runs the package's install script, which builds the addon
# (native/build.sh) against the builder's Node.js headers.
COPY package.json package-lock.json ./
COPY native/ native/
RUN npm ci --no-audit --no-fund --loglevel=error
COPY tsconfig.json ./
COPY src/ src/
# Only src/ is in the context, so tsc compiles only herald itself; then the
# dev dependencies go, and so do source maps and type declarations (a third
# of node_modules; nothing reads them at run time).
RUN npx tsc -p tsconfig.json \
 && npm prune --omit=dev --no-audit --no-fund --loglevel=error \
 && find dist node_modules -type f \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' \) -delete
# `herald` and `kubectl-herald` (the kubectl plugin: `kubectl herald explain ...`)
# are executables, linked onto PATH in the runtime stage as `npm install -g` would.
RUN chmod 0755 dist/src/cli/main.js dist/src/cli/kubectl-herald.js
# What `herald version` prints as the commit (the image has no git).
ARG HERALD_COMMIT=unknown
RUN printf '{"commit":"%s"}\n' "${HERALD_COMMIT}" > dist/build-info.json

# --- runtime: Node.js, iproute2 and herald's production files, nothing that
# installs or compiles software
FROM ${RUNTIME_BASE}
# The agent follows the node's links with `ip` (iproute2). A base without it
# gets it from apt. Then what installs software goes: npm, npx, corepack and
# yarn, apt and dpkg (dpkg's status file stays, so scanners can still tell
# which packages the image holds), and every set-user-ID bit. A base already
# without them (the ones scripts/build-image.sh makes) skips most of this.
RUN set -eu; \
    if ! command -v ip >/dev/null 2>&1; then \
      apt-get update -qq; \
      apt-get install -y -qq --no-install-recommends iproute2; \
    fi; \
    rm -rf /usr/local/lib/node_modules /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
      /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-* \
      /usr/bin/npm /usr/bin/npx /usr/bin/corepack /usr/share/nodejs/corepack; \
    if command -v dpkg >/dev/null 2>&1; then \
      rm -rf /var/lib/apt /var/cache/apt /etc/apt /usr/lib/apt /usr/bin/apt* /usr/share/doc /usr/share/man; \
      dpkg --purge --force-remove-essential --force-depends apt dpkg 2>/dev/null || true; \
      rm -rf /usr/bin/dpkg* /usr/sbin/dpkg* /usr/bin/update-alternatives; \
    fi; \
    find / -xdev -type f -perm /6000 -exec chmod ug-s {} +
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules/ node_modules/
COPY --from=build /src/dist/ dist/
COPY --from=build /src/native/build/Release/herald_packet.node native/build/Release/
RUN ln -s /app/dist/src/cli/main.js /usr/local/bin/herald \
 && ln -s /app/dist/src/cli/kubectl-herald.js /usr/local/bin/kubectl-herald
ENV NODE_ENV=production
# Not root by default. The operator needs nothing more; the agent's pod spec
# asks for UID 0 with CAP_NET_RAW only, because Kubernetes gives a non-root
# process no capabilities (docs/image.md).
USER 65532:65532
# Health, readiness and metrics: the operator on 9963, the agent on 9964.
EXPOSE 9963 9964
ENTRYPOINT ["node", "/app/dist/src/cli/main.js"]
ARG HERALD_COMMIT=unknown
LABEL org.opencontainers.image.title="herald" \
      org.opencontainers.image.description="Bare-metal LoadBalancer for Kubernetes: Cilium-compatible LB-IPAM and L2 announcements" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.revision="${HERALD_COMMIT}"
