//! The in-memory broker: topics of partitioned logs held in process memory, consumer groups that
//! share a topic's partitions round-robin, and committed positions that live as long as the
//! broker (nothing survives a restart, as liiklus' `MEMORY` storages).
//!
//! Delivery is pull-based: a subscription reads the next record straight from the partition log
//! when its consumer polls, so a slow consumer costs no memory beyond the log itself. Idle
//! subscribers sleep on `tokio::sync::watch` channels until a record is appended or their
//! assignment changes.
//!
//! - `topic`: partition logs, appends and partitioning.
//! - `group`: consumer groups, committed positions and rebalancing.
//! - `reader`: the state behind one subscription's deliveries.

mod group;
mod reader;
mod topic;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use dashmap::mapref::entry::Entry;
use dashmap::DashMap;
use futures::StreamExt;

use super::{
    Acknowledgement, BatchAcknowledgement, Broker, BrokerError, OffsetReset, Subscription,
};
use crate::message::Message;
use group::GroupCommitter;
use reader::Reader;
use topic::Topic;

/// A broker whose topics live in this process. Clones share the same topics.
///
/// - A topic is provisioned with a partition count (at least 1; 0 is raised to 1) and a content
///   type; publishing checks messages against it ([`content_type::compatible`]) and gives
///   messages without a content type the stream's.
/// - Keyed messages go to partition `fnv1a64(key) % partitions` (a stable hash); keyless ones
///   round-robin over the partitions.
/// - The subscribers of a group split the partitions round-robin in join order: partition `p`
///   belongs to the `p % n`-th of `n` subscribers. Every join and leave rebalances the group.
/// - A newly assigned partition starts at the group's last committed offset + 1 (read when the
///   subscriber takes the partition), else at the subscriber's [`OffsetReset`] as of the
///   rebalance: `Earliest` = 0, `Latest` = the partition's end at that moment.
///
/// [`content_type::compatible`]: crate::content_type::compatible
#[derive(Clone, Default)]
pub struct MemoryBroker {
    topics: Arc<DashMap<String, Arc<Topic>>>,
}

impl MemoryBroker {
    /// An empty broker.
    pub fn new() -> Self {
        Self::default()
    }

    /// The topic of `stream` in `namespace`: `<namespace>/<stream>`, as riff's nop provisioner.
    pub fn topic_name(namespace: &str, stream: &str) -> String {
        format!("{namespace}/{stream}")
    }

    fn topic(&self, name: &str) -> Result<Arc<Topic>, BrokerError> {
        self.topics
            .get(name)
            .map(|topic| Arc::clone(&topic))
            .ok_or_else(|| BrokerError::UnknownTopic(name.to_string()))
    }
}

#[async_trait]
impl Broker for MemoryBroker {
    fn topic_name(&self, namespace: &str, stream: &str) -> String {
        Self::topic_name(namespace, stream)
    }

    async fn provision(
        &self,
        topic: &str,
        partitions: u32,
        content_type: &str,
    ) -> Result<bool, BrokerError> {
        match self.topics.entry(topic.to_string()) {
            Entry::Occupied(_) => Ok(false),
            Entry::Vacant(vacant) => {
                vacant.insert(Arc::new(Topic::new(partitions, content_type)));
                Ok(true)
            }
        }
    }

    fn publish(&self, topic: &str, message: Message) -> Acknowledgement {
        let appended = self
            .topic(topic)
            .and_then(|topic| topic.append(owned(message)));
        Box::pin(futures::future::ready(appended))
    }

    fn publish_all(&self, topic: &str, messages: Vec<Message>) -> BatchAcknowledgement {
        let messages = messages.into_iter().map(owned).collect();
        let appended = self
            .topic(topic)
            .and_then(|topic| topic.append_all(messages));
        Box::pin(futures::future::ready(appended))
    }

    async fn subscribe(
        &self,
        topic: &str,
        group: &str,
        reset: OffsetReset,
    ) -> Result<Subscription, BrokerError> {
        let topic = self.topic(topic)?;
        let group = topic.group(group);
        let reader = Reader::join(topic, Arc::clone(&group), reset);
        let deliveries = futures::stream::unfold(reader, |mut reader| async move {
            let delivery = reader.next().await?;
            Some((Ok(delivery), reader))
        });
        Ok(Subscription {
            deliveries: deliveries.boxed(),
            committer: Box::new(GroupCommitter(group)),
        })
    }

    async fn commit(
        &self,
        topic: &str,
        group: &str,
        positions: &[(u32, u64)],
    ) -> Result<(), BrokerError> {
        self.topic(topic)?.group(group).commit(positions);
        Ok(())
    }

    async fn committed(&self, topic: &str, group: &str) -> Result<BTreeMap<u32, u64>, BrokerError> {
        let topic = self.topic(topic)?;
        let groups = topic.groups.lock();
        Ok(groups
            .get(group)
            .map(|group| group.committed.lock().clone())
            .unwrap_or_default())
    }

    async fn end_offsets(&self, topic: &str) -> Result<BTreeMap<u32, u64>, BrokerError> {
        let topic = self.topic(topic)?;
        Ok((0..topic.partition_count())
            .filter_map(|p| Some((p, topic.end(p).checked_sub(1)?)))
            .collect())
    }

    /// In-process: always.
    async fn reachable(&self) -> Result<(), BrokerError> {
        Ok(())
    }
}

/// `message` with a payload that owns its bytes: one that slices a received gRPC buffer would
/// keep the whole buffer alive as long as the record is stored (9 KiB per 100 B record).
fn owned(mut message: Message) -> Message {
    message.payload = Bytes::copy_from_slice(&message.payload);
    message
}
