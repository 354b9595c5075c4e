# ml-ids in a container: a build stage with the Rust toolchain, clang and a CMake new enough for
# LightGBM, and a small Debian runtime stage with only libpcap, the OpenMP runtime and the binary.
#
#   docker build -t ml-ids .
#   docker run --rm -p 8080:8080 -e MLIDS_TOKEN=change-me ml-ids                # serve (default)
#   docker run --rm -v "$PWD:/data" ml-ids extract /data/capture.pcap -o /data/flows.csv
#   docker run --rm --network host --cap-add NET_RAW --cap-add NET_ADMIN ml-ids \
#       watch -i eth0 --model /usr/share/ml-ids/models/default
FROM rust:1-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends clang libclang-dev libpcap-dev python3-pip \
 && pip3 install --break-system-packages --no-cache-dir "cmake>=3.28" \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p ml-ids \
 && strip target/release/ml-ids

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpcap0.8 libgomp1 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --no-create-home --shell /usr/sbin/nologin ml-ids
COPY --from=build /src/target/release/ml-ids /usr/local/bin/ml-ids
COPY models/default /usr/share/ml-ids/models/default
COPY samples /usr/share/ml-ids/samples
ENV OMP_WAIT_POLICY=PASSIVE
USER ml-ids
EXPOSE 8080
ENTRYPOINT ["ml-ids"]
# Inside a container the published port must be reachable, so bind all addresses; the server then
# refuses to start without MLIDS_TOKEN.
CMD ["serve", "--model", "/usr/share/ml-ids/models/default", "--bind", "0.0.0.0:8080"]
