# rasad in a container: `docker build -t rasad .` then
# `docker run -v rasad-data:/data rasad` (see README.md).
FROM node:22-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 builds from source when no prebuilt binary matches.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY probes ./probes
COPY lab ./lab
RUN npx tsc -p tsconfig.json && npm prune --omit=dev

FROM node:22-bookworm-slim
WORKDIR /app
# UV_THREADPOOL_SIZE: see bin/rasad (system DNS lookups run on libuv's pool).
ENV NODE_ENV=production RASAD_DB=/data/rasad.db UV_THREADPOOL_SIZE=64
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json targets.txt ./
COPY bin ./bin
COPY fingerprints ./fingerprints
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
ENTRYPOINT ["bin/rasad"]
CMD ["run"]
