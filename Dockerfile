# Warden: api + ingest + analyzer workers. Runs TypeScript with tsx (the web apps and the ONNX model are built).
FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends pocketsphinx pocketsphinx-en-us espeak-ng ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN bash scripts/build-console.sh --force   # the web apps: /console, /studio, /watch
RUN bin/warden models build                # the frame model compiled to ONNX and checked against TF.js
ENV HTTP_HOST=0.0.0.0 RTMP_HOST=0.0.0.0 DATA_DIR=/data
VOLUME /data
EXPOSE 8080 1935
ENTRYPOINT ["bin/warden"]
CMD ["serve"]
