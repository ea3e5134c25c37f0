# The `riff` image: one binary for every mode (`riff system controller`, `riff gateway`,
# `riff processor`, `riff local ...`).
#
#   docker build -t ghcr.io/riff-streaming/riff:0.1.0 .

# Build: the rust image (Debian bookworm's buildpack-deps: gcc, g++, make, zlib1g-dev) has all
# the workspace needs: protox compiles the .proto files in Rust (no protoc); rdkafka-sys builds
# its bundled librdkafka with its ./configure and `make libs` (its default build, not the
# cmake-build feature; SSL, SASL, curl and zstd off) and libz-sys links the system zlib (or
# builds its own); ring needs only the C compiler. No cmake, OpenSSL or protoc.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p riff-streaming --bin riff \
    && install -m 0755 target/release/riff /usr/local/bin/riff

# Runtime: glibc and zlib (both in bookworm-slim) plus the CA certificates for TLS to the
# Kubernetes API and brokers; a non-root user with a fixed uid (65532) that Kubernetes'
# runAsNonRoot can verify.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 65532 riff \
    && useradd --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin riff
COPY --from=build /usr/local/bin/riff /usr/local/bin/riff
USER 65532:65532
ENTRYPOINT ["riff"]
