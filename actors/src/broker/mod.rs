//! Brokers: where stream topics live. One trait, several backends: in memory, Kafka, and a
//! remote gateway through its liiklus API.

pub mod kafka;
pub mod liiklus;
pub mod memory;

use std::collections::BTreeMap;

use async_trait::async_trait;
use futures::future::BoxFuture;
use futures::stream::BoxStream;

use crate::message::{Message, Record};

/// The most partitions a stream's topic may have: a bound on what one request may allocate.
pub const MAX_PARTITIONS: u32 = 4096;

/// Where a consumer group starts reading a partition that has no committed position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OffsetReset {
    /// From the first record still held.
    Earliest,
    /// From the next record appended (riff's default).
    #[default]
    Latest,
}

/// What a subscription yields, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// These partitions are now read by this subscriber (after a join or rebalance).
    Assigned(Vec<u32>),
    /// These partitions are no longer read by this subscriber; uncommitted work on them will be
    /// redelivered to their new owner.
    Revoked(Vec<u32>),
    /// The next record of an assigned partition.
    Record(Record),
}

/// Errors of a broker operation.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum BrokerError {
    /// The topic was never provisioned.
    #[error("topic {0:?} does not exist")]
    UnknownTopic(String),
    /// The message's content type is not compatible with the stream's.
    #[error(
        "content type {actual:?} is not compatible with the stream's content type {expected:?}"
    )]
    IncompatibleContentType {
        /// The stream's content type.
        expected: String,
        /// The message's content type.
        actual: String,
    },
    /// The broker could not be reached or failed.
    #[error("broker unavailable: {0}")]
    Unavailable(String),
    /// The subscription was closed (e.g. the broker shut down).
    #[error("subscription closed")]
    Closed,
}

/// The broker's acknowledgement of one published message: its `(partition, offset)`.
pub type Acknowledgement = BoxFuture<'static, Result<(u32, u64), BrokerError>>;

/// The broker's acknowledgement of messages published together: `Ok` once every one was accepted,
/// else the first failure.
pub type BatchAcknowledgement = BoxFuture<'static, Result<(), BrokerError>>;

/// A live group membership on one topic: deliveries plus a way to commit positions.
pub struct Subscription {
    /// Assignments, revocations and records, in order.
    pub deliveries: BoxStream<'static, Result<Delivery, BrokerError>>,
    /// Commits positions of this group on this topic.
    pub committer: Box<dyn Committer>,
}

/// Commits consumer-group positions ("last processed offset" per partition, as liiklus).
#[async_trait]
pub trait Committer: Send + Sync {
    /// Stores `offset` as the last processed offset of each `(partition, offset)` pair.
    async fn commit(&self, positions: &[(u32, u64)]) -> Result<(), BrokerError>;
}

/// A messaging system holding stream topics.
#[async_trait]
pub trait Broker: Send + Sync + 'static {
    /// The topic of stream `stream` of `namespace` on this broker (its provisioner's naming).
    fn topic_name(&self, namespace: &str, stream: &str) -> String;

    /// Creates `topic` with `partitions` partitions and `content_type` if it does not exist.
    /// Returns true when it was created, false when it already existed (idempotent).
    async fn provision(
        &self,
        topic: &str,
        partitions: u32,
        content_type: &str,
    ) -> Result<bool, BrokerError>;

    /// Appends a message. Its place, after every earlier publish, is taken before this returns,
    /// without blocking (so successive publishes keep their order without waiting for each
    /// other); the returned future resolves with its `(partition, offset)` once the broker
    /// accepted it.
    fn publish(&self, topic: &str, message: Message) -> Acknowledgement;

    /// Appends `messages` in order, as that many [`Broker::publish`] calls would (their places
    /// taken before this returns), acknowledged together.
    fn publish_all(&self, topic: &str, messages: Vec<Message>) -> BatchAcknowledgement {
        let acks: Vec<_> = messages
            .into_iter()
            .map(|message| self.publish(topic, message))
            .collect();
        Box::pin(async move {
            futures::future::try_join_all(acks).await?;
            Ok(())
        })
    }

    /// Joins consumer `group` on `topic`. Partitions are shared among a group's subscribers.
    /// A partition revoked and assigned again is read again from the group's committed
    /// position: what the subscriber had not committed is delivered again.
    async fn subscribe(
        &self,
        topic: &str,
        group: &str,
        reset: OffsetReset,
    ) -> Result<Subscription, BrokerError>;

    /// Like [`Broker::subscribe`], for a subscriber that keeps every record delivered to it
    /// until it commits it, revocations or not (a processor's windows): a partition assigned
    /// again right after its revocation is read on after the last record delivered, so those
    /// records are not delivered twice. Brokers that cannot tell subscribe as usual.
    async fn subscribe_keeping(
        &self,
        topic: &str,
        group: &str,
        reset: OffsetReset,
    ) -> Result<Subscription, BrokerError> {
        self.subscribe(topic, group, reset).await
    }

    /// Stores positions for `group` on `topic` ("last processed offset" per partition).
    async fn commit(
        &self,
        topic: &str,
        group: &str,
        positions: &[(u32, u64)],
    ) -> Result<(), BrokerError>;

    /// The committed positions of `group` on `topic` (last processed offset per partition).
    async fn committed(&self, topic: &str, group: &str) -> Result<BTreeMap<u32, u64>, BrokerError>;

    /// The offset of the last record of each partition of `topic` that holds records.
    async fn end_offsets(&self, topic: &str) -> Result<BTreeMap<u32, u64>, BrokerError>;

    /// Whether the broker answers now (a gateway is ready only while its broker is).
    async fn reachable(&self) -> Result<(), BrokerError>;
}
