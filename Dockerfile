# syntax=docker/dockerfile:1
# Agentry: one image for every role (`serve --role api|worker|all`, `migrate`, the CLI).

FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# The workspace package (@agentry/client) must be there for npm ci; its sources are the typed client's.
COPY packages/client/package.json ./packages/client/
# No install scripts: the build below is the only one the image needs.
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY bin ./bin
COPY scripts/build.mjs scripts/build-web.mjs ./scripts/
COPY src ./src
COPY packages/client/src ./packages/client/src
COPY web ./web
COPY examples ./examples
COPY scaffold ./scaffold
# The server, then the web console (Vite, a development dependency, is pruned after).
RUN node scripts/build.mjs && node scripts/build-web.mjs --force \
  && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:22-bookworm-slim
ENV NODE_ENV=production \
    NODE_OPTIONS=--max-semi-space-size=64 \
    AGENTRY_HOST=0.0.0.0 \
    AGENTRY_PORT=7070 \
    AGENTRY_DATA_DIR=/var/lib/agentry/data \
    AGENTRY_CREDENTIALS_FILE=/var/lib/agentry/credentials.json
WORKDIR /app
# Root owns the program (read-only to the server); the server's user owns only its data directory.
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/bin ./bin
COPY --from=build /app/scripts ./scripts
COPY --from=build /app/src ./src
COPY --from=build /app/examples ./examples
COPY --from=build /app/scaffold ./scaffold
# After src: bin/agentry.js rebuilds dist/ when a source is newer, and the program is not writable here.
COPY --from=build /app/dist ./dist
# The built console only: without web/src, `serve` never tries to rebuild it.
COPY --from=build /app/web/dist ./web/dist
RUN mkdir -p /var/lib/agentry && chown node:node /var/lib/agentry
USER node
EXPOSE 7070
# Workers answer /health/ready too (their only endpoints besides /health and /metrics).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.AGENTRY_PORT}/health/ready`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "bin/agentry.js"]
CMD ["serve"]
