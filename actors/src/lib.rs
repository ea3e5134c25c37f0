//! The riff streaming actor runtime.
//!
//! - [`resources`]: the `streaming.projectriff.io/v1alpha1` kinds, their defaulting and validation.
//! - [`broker`]: where stream topics live (in-memory; Kafka later) behind one trait.
//! - [`gateway`]: the liiklus-compatible gRPC API and the provisioner HTTP API over a broker.
//! - [`processor`]: the data plane of a processor as supervised actix actors.
//! - [`local`]: the embedded platform (`riff local run`): everything in one process.
//! - [`platform`]: other platforms, Kubernetes first.

pub mod broker;
pub mod content_type;
pub mod gateway;
pub mod local;
pub mod message;
pub mod platform;
pub mod processor;
pub mod resources;
pub mod supervision;
