//! What the generic verbs need to know of a kind: its names in messages, its list columns, its
//! conditions and the pods whose logs `--tail` shows.

use std::fmt::Debug;

use k8s_openapi::NamespaceResourceScope;
use riff_actors::resources::{Admission, Condition};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The pods whose logs `--tail` shows: those labelled `<label>=<resource name>`.
pub struct PodLogs {
    /// The label key naming the resource.
    pub label: &'static str,
    /// The containers to follow; every container of the pod when empty.
    pub containers: &'static [&'static str],
}

/// The pods of a concrete gateway: those of its Gateway, every container.
pub const GATEWAY_PODS: PodLogs = PodLogs {
    label: "streaming.projectriff.io/gateway",
    containers: &[],
};

/// A kind the CLI manages.
pub trait Kind:
    kube::Resource<Scope = NamespaceResourceScope, DynamicType = ()>
    + Admission
    + Clone
    + Debug
    + Serialize
    + DeserializeOwned
    + Send
    + Sync
    + 'static
{
    /// How messages name one resource: `kafka gateway`.
    const NOUN: &'static str;
    /// How messages name several: `kafka gateways`.
    const NOUNS: &'static str;
    /// Its subcommand of `riff streaming`: `kafka-gateway`.
    const COMMAND: &'static str;
    /// The list columns between Name and Status.
    const COLUMNS: &'static [&'static str];
    /// How long `create --tail` waits for Ready by default (a Go duration): riff's minute for
    /// gateways.
    const WAIT_TIMEOUT: &'static str = "1m";
    /// The pods whose logs `create --tail` shows, if any.
    const LOGS: Option<PodLogs> = None;
    /// Whether `riff streaming <COMMAND> tail` exists.
    const TAIL_COMMAND: bool = false;

    /// The cells of [`Kind::COLUMNS`] for this resource.
    fn cells(&self) -> Vec<String>;

    /// The conditions of its status (none when it has no status yet).
    fn conditions(&self) -> &[Condition];
}

/// `Kafka gateway "<namespace>/<name>" not found`.
pub fn not_found<K: Kind>(namespace: &str, name: &str) -> anyhow::Error {
    let mut noun = K::NOUN.to_owned();
    noun[..1].make_ascii_uppercase();
    anyhow::anyhow!("{noun} \"{namespace}/{name}\" not found")
}
