# syntax=docker/dockerfile:1
# Multi-stage build: cgo is on because the embedded database is SQLite
# (mattn/go-sqlite3); the runtime image has only the binary and its libc.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=1 go build -trimpath -ldflags="-s -w" -o /out/fieldsync ./cmd/fieldsync

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 fieldsync \
    && useradd --system --uid 10001 --gid fieldsync --home-dir /data --shell /usr/sbin/nologin fieldsync \
    && mkdir -p /data && chown fieldsync:fieldsync /data
COPY --from=build /out/fieldsync /usr/local/bin/fieldsync
USER fieldsync:fieldsync
VOLUME ["/data"]
ENV FIELDSYNC_DATA_DIR=/data FIELDSYNC_ADDR=:8080
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["fieldsync", "healthcheck", "--url", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["fieldsync"]
CMD ["serve"]
