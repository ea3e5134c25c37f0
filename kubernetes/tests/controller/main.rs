//! The controller against an in-memory Kubernetes API (real HTTP, real kube-rs watchers) and a
//! real provisioner API: every reconciler behaviour of docs/riff-compatibility.md §1 and §2 (12–40), each kind
//! through its whole life, bad input, failing API calls, and leader election.

mod gateways;
mod kafka_security;
mod leader;
mod lifecycle;
mod processors;
mod scope;
mod streams;
mod support;
