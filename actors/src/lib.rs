//! The riff streaming actor runtime.
//!
//! - [`resources`]: the `streaming.projectriff.io/v1alpha1` kinds, their defaulting and validation.
//! - [`broker`]: where stream topics live behind one trait: in memory, Kafka, or a remote
//!   gateway's liiklus API.
//! - [`gateway`]: the liiklus-compatible gRPC API and the provisioner HTTP API over a broker.
//! - [`processor`]: the data plane of a processor as supervised actix actors.
//! - [`local`]: the embedded platform (`riff local run`): everything in one process.
//! - [`message`], [`content_type`]: the message model and content-type rules.
//! - [`supervision`]: backoff and the supervision log lines.
//! - [`metrics`]: the process's Prometheus metrics and `GET /metrics`.
//! - [`traces`]: the OpenTelemetry span of each call and the trace context of its outputs.

pub mod broker;
pub mod content_type;
pub mod gateway;
pub mod local;
pub mod message;
pub mod metrics;
pub mod processor;
pub mod resources;
pub mod supervision;
pub mod traces;
