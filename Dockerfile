# syntax=docker/dockerfile:1
# Build stage: native modules (argon2, better-sqlite3) compile here, with the toolchain.
FROM node:20-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

# Runtime stage: no compiler, no dev dependencies, no root.
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    PORT=8100 \
    AUTH_DATA_DIR=/data/keys \
    DATABASE_URL=sqlite:/data/auth.db
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
RUN mkdir -p /data/keys && chown -R node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8100
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8100)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/src/start.cjs"]
