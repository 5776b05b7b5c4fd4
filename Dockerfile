# The Atelier server image: the same image runs the API (`... start.js api`) and workers (`... start.js worker`).
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production ONNXRUNTIME_NODE_INSTALL=skip
# In a container, loopback (the embedded default's address) is unreachable from outside:
# the published ports decide who reaches the server.
ENV HOST=0.0.0.0
COPY package.json package-lock.json .npmrc ./
COPY prisma ./prisma
COPY prisma.config.ts codegen.ts schema.graphql tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts ./scripts
# The web app (built into dist/web by npm ci's postinstall, served at / and /catalog).
COPY web ./web
COPY models ./models
RUN npm ci --include=dev && npm prune --omit=dev
EXPOSE 4000
HEALTHCHECK --interval=10s --timeout=3s --retries=5 CMD node -e "fetch('http://127.0.0.1:4000/readyz').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"
CMD ["node", "dist/src/main/start.js"]
