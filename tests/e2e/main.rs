//! End-to-end tests: `riff local run` with real function processes, real gRPC and the real
//! riff node invoker. One test binary for all the slow suites.

mod bad_input;
mod cluster;
mod controller;
mod dashboard;
mod delivery;
mod kafka;
mod kafka_security;
mod kafka_support;
mod live_edits;
mod metrics;
mod node_invoker;
mod pipeline;
mod recovery;
mod shared_reads;
mod sidecar;
mod start_positions;
mod streaming_cli;
mod support;
mod test_broker;
mod tls_proxy;
mod traces;
mod windows;
