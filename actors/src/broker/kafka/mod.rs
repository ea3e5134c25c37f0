//! The Kafka broker: stream topics on a Kafka cluster, through librdkafka (bundled).
//!
//! - Provisioning creates topic `<namespace>_<stream>` (riff's kafka-provisioner naming) with the
//!   stream's partitions, replication factor 1; an existing topic is left alone.
//! - Records follow the CloudEvents Kafka binding, binary mode (see `records`), so any Kafka
//!   client reads and writes our streams.
//! - A subscription is a consumer-group member (`consumer`), or with shared reads one of the
//!   readers of the broker's one consumer (`shared`); positions are Kafka consumer-group
//!   offsets either way, so they survive restarts of the processor, the gateway and the broker.

mod batches;
mod config;
mod consumer;
mod diagnostics;
mod group_offsets;
mod queue;
mod records;
mod security;
mod shared;
mod wire_headers;

use std::collections::BTreeMap;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use async_trait::async_trait;
use dashmap::DashMap;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::bindings as rd;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

use super::{
    Acknowledgement, BatchAcknowledgement, Broker, BrokerError, Committer, OffsetReset,
    Subscription,
};
use crate::content_type;
use crate::message::Message;
pub use config::{check_property, KafkaSettings, Reads, CONSUMER_DEFAULTS};
use consumer::GroupConsumer;
use diagnostics::Diagnostics;
use group_offsets::{AdminCalls, OutsideCommitter};
use queue::{Batch, Delivered, OrderedQueue};
pub use records::PARTITION_KEY;
pub use security::{KafkaSecurity, SecretFiles, SecretValues, MOUNTED_SECRETS};
use shared::SharedReader;

/// A librdkafka queue handle of our own (librdkafka counts its references), released when
/// dropped; it must be dropped before its client.
pub(super) struct RdQueue(NonNull<rd::rd_kafka_queue_t>);

// SAFETY: librdkafka's queues may be used from any thread.
unsafe impl Send for RdQueue {}
unsafe impl Sync for RdQueue {}

impl RdQueue {
    /// Owns `queue`, a handle librdkafka gave out (`None`: it gave none).
    pub(super) fn new(queue: *mut rd::rd_kafka_queue_t) -> Option<Self> {
        NonNull::new(queue).map(RdQueue)
    }

    pub(super) fn as_ptr(&self) -> *mut rd::rd_kafka_queue_t {
        self.0.as_ptr()
    }
}

impl Drop for RdQueue {
    fn drop(&mut self) {
        unsafe { rd::rd_kafka_queue_destroy(self.0.as_ptr()) };
    }
}

/// How long metadata, watermark and admin calls may take.
const TIMEOUT: Duration = Duration::from_secs(10);
/// How long the readiness check waits for a broker (within the gateway's probe timeout).
const READY_TIMEOUT: Duration = Duration::from_secs(3);

/// A broker on a Kafka cluster.
pub struct KafkaBroker {
    settings: KafkaSettings,
    producer: OrderedQueue,
    admin: AdminClient<Diagnostics>,
    metadata: Arc<BaseConsumer<Diagnostics>>,
    /// Group positions read and written from outside the groups, through `metadata`.
    calls: Arc<AdminCalls>,
    /// The context of every client of this broker: one report of each librdkafka problem.
    diagnostics: Diagnostics,
    /// Content types of the streams provisioned through this broker, by topic.
    content_types: DashMap<String, String>,
    /// Live group members of this process, by (topic, group): commits for a group go through
    /// its member when there is one (Kafka refuses commits from outside an active group).
    members: DashMap<(String, String), Weak<GroupConsumer>>,
    /// The partitions of the topics provisioned through this broker, by topic: keyless records
    /// are spread over them a batch at a time.
    spreads: DashMap<String, Spread>,
    /// The one reader of every processor's inputs, when reads are [`Reads::Shared`].
    shared: Option<SharedReader>,
}

/// Spreads the keyless records of a topic over its partitions a batch at a time: each batch to
/// the next partition. (librdkafka's partitioner chooses per record, a tenth of the actor
/// thread's time in the Kafka pass-through profile.)
struct Spread {
    partitions: u32,
    next: AtomicU32,
}

impl Spread {
    fn next(&self) -> i32 {
        (self.next.fetch_add(1, Ordering::Relaxed) % self.partitions) as i32
    }
}

/// A librdkafka error as a broker error.
fn unavailable(error: KafkaError) -> BrokerError {
    BrokerError::Unavailable(error.to_string())
}

/// What Kafka stores for `offset`, a "last processed offset" position: the next offset to read.
fn next_offset(offset: u64) -> Result<i64, BrokerError> {
    i64::try_from(offset)
        .ok()
        .and_then(|offset| offset.checked_add(1))
        .ok_or_else(|| BrokerError::Unavailable(format!("offset {offset} is out of range")))
}

/// Where `reset` starts `partition` of `topic` for a group that never committed a position on
/// it: the first record held, or the next one appended (the high watermark).
fn reset_start<C: ConsumerContext>(
    client: &BaseConsumer<C>,
    topic: &str,
    partition: i32,
    reset: OffsetReset,
    timeout: Duration,
) -> Result<i64, KafkaError> {
    let (low, high) = client.fetch_watermarks(topic, partition, timeout)?;
    Ok(match reset {
        OffsetReset::Earliest => low,
        OffsetReset::Latest => high,
    })
}

impl KafkaBroker {
    /// Clients for the cluster of `settings`; connections are made lazily.
    pub fn connect(settings: KafkaSettings) -> Result<Self, BrokerError> {
        let diagnostics = Diagnostics::new(&settings.cluster());
        let shared = match settings.reads {
            Reads::Shared => Some(SharedReader::start(
                &settings.reader(),
                diagnostics.clone(),
            )?),
            Reads::Groups => None,
        };
        let metadata: Arc<BaseConsumer<Diagnostics>> = Arc::new(
            settings
                .admin()
                .create_with_context(diagnostics.clone())
                .map_err(unavailable)?,
        );
        Ok(KafkaBroker {
            producer: OrderedQueue::new(
                queue::Producer::new(
                    settings
                        .producer()
                        .create_with_context(diagnostics.clone())
                        .map_err(unavailable)?,
                )
                .map_err(|error| {
                    BrokerError::Unavailable(format!("cannot start a producer: {error}"))
                })?,
            ),
            admin: settings
                .admin()
                .create_with_context(diagnostics.clone())
                .map_err(unavailable)?,
            calls: Arc::new(AdminCalls::new(metadata.clone()).map_err(|error| {
                BrokerError::Unavailable(format!("cannot start an admin thread: {error}"))
            })?),
            metadata,
            diagnostics,
            settings,
            content_types: DashMap::new(),
            members: DashMap::new(),
            spreads: DashMap::new(),
            shared,
        })
    }

    /// A member of `group` on `topic`; `keeping`: its subscriber keeps what it was delivered
    /// until committed, so partitions given back are read on where they stopped.
    fn join(
        &self,
        topic: &str,
        group: &str,
        reset: OffsetReset,
        keeping: bool,
    ) -> Result<Subscription, BrokerError> {
        let content_type = self.content_types.get(topic).map(|ct| ct.clone());
        let config = self.settings.consumer(group, reset);
        let start = consumer::Start { reset, keeping };
        let (member, subscription) = consumer::subscribe(
            &config,
            topic,
            start,
            content_type,
            self.diagnostics.clone(),
        )?;
        self.members.insert(
            (topic.to_owned(), group.to_owned()),
            Arc::downgrade(&member),
        );
        Ok(subscription)
    }

    /// The topic of `stream` in `namespace`: `<namespace>_<stream>`, as riff's kafka-provisioner
    /// (Kubernetes names cannot hold `_`, so two streams never share a topic).
    pub fn topic_name(namespace: &str, stream: &str) -> String {
        format!("{namespace}_{stream}")
    }

    /// Enqueues `messages` as one batch, after giving those without a content type the
    /// stream's; a message of an incompatible type refuses the whole batch.
    fn enqueue(
        &self,
        topic: &str,
        mut messages: Vec<Message>,
    ) -> impl std::future::Future<Output = Delivered> + Send + 'static {
        let refused = self.content_types.get(topic).and_then(|expected| {
            messages.iter_mut().find_map(|message| {
                if message.content_type.is_empty() {
                    message.content_type = expected.clone();
                    None
                } else if content_type::compatible(&expected, &message.content_type) {
                    None
                } else {
                    Some(BrokerError::IncompatibleContentType {
                        expected: expected.clone(),
                        actual: std::mem::take(&mut message.content_type),
                    })
                }
            })
        });
        let outcome = match refused {
            Some(error) => Err(error),
            None => {
                let partition = self.spreads.get(topic).map(|spread| spread.next());
                let (batch, outcome) = Batch::new(topic, partition, messages.len());
                self.producer.enqueue(&batch, messages);
                Ok(outcome)
            }
        };
        async move {
            outcome?
                .await
                .map_err(|_| BrokerError::Unavailable("the producer was closed".into()))?
        }
    }

    /// The partitions of `topic`.
    async fn partitions(&self, topic: &str) -> Result<Vec<i32>, BrokerError> {
        let (metadata, name) = (self.metadata.clone(), topic.to_owned());
        let found = tokio::task::spawn_blocking(move || {
            metadata.fetch_metadata(Some(&name), TIMEOUT).map(|m| {
                m.topics()
                    .first()
                    .map(|t| t.partitions().iter().map(|p| p.id()).collect::<Vec<_>>())
            })
        })
        .await
        .map_err(|error| BrokerError::Unavailable(error.to_string()))?
        .map_err(unavailable)?;
        match found {
            Some(partitions) if !partitions.is_empty() => Ok(partitions),
            _ => Err(BrokerError::UnknownTopic(topic.to_owned())),
        }
    }
}

#[async_trait]
impl Broker for KafkaBroker {
    fn topic_name(&self, namespace: &str, stream: &str) -> String {
        Self::topic_name(namespace, stream)
    }

    async fn provision(
        &self,
        topic: &str,
        partitions: u32,
        content_type: &str,
    ) -> Result<bool, BrokerError> {
        self.content_types
            .insert(topic.to_owned(), content_type.to_owned());
        let new_topic = NewTopic::new(topic, partitions.max(1) as i32, TopicReplication::Fixed(1));
        let options = AdminOptions::new()
            .operation_timeout(Some(TIMEOUT))
            .request_timeout(Some(TIMEOUT));
        let results = self
            .admin
            .create_topics([&new_topic], &options)
            .await
            .map_err(|error| self.diagnostics.explain(unavailable(error)))?;
        let created = match results.into_iter().next() {
            Some(Ok(_)) => true,
            Some(Err((_, RDKafkaErrorCode::TopicAlreadyExists))) => false,
            Some(Err((_, code))) => {
                return Err(BrokerError::Unavailable(format!(
                    "cannot create topic {topic:?}: {code}"
                )))
            }
            None => {
                return Err(BrokerError::Unavailable(format!(
                    "no answer creating topic {topic:?}"
                )))
            }
        };
        // An existing topic keeps its partitions, whatever the stream says.
        let partitions = match created {
            true => partitions.max(1),
            false => self.partitions(topic).await?.len() as u32,
        };
        let next = AtomicU32::new(0);
        self.spreads
            .insert(topic.to_owned(), Spread { partitions, next });
        Ok(created)
    }

    fn publish(&self, topic: &str, message: Message) -> Acknowledgement {
        let delivered = self.enqueue(topic, vec![message]);
        Box::pin(delivered)
    }

    fn publish_all(&self, topic: &str, messages: Vec<Message>) -> BatchAcknowledgement {
        let delivered = self.enqueue(topic, messages);
        Box::pin(async move { delivered.await.map(|_| ()) })
    }

    async fn subscribe(
        &self,
        topic: &str,
        group: &str,
        reset: OffsetReset,
    ) -> Result<Subscription, BrokerError> {
        self.join(topic, group, reset, false)
    }

    async fn subscribe_keeping(
        &self,
        topic: &str,
        group: &str,
        reset: OffsetReset,
    ) -> Result<Subscription, BrokerError> {
        let Some(shared) = &self.shared else {
            return self.join(topic, group, reset, true);
        };
        let partitions = self.partitions(topic).await?;
        let content_type = self.content_types.get(topic).map(|ct| ct.clone());
        let calls = self.calls.clone();
        (shared.subscribe(calls, topic, group, partitions, reset, content_type)).await
    }

    async fn commit(
        &self,
        topic: &str,
        group: &str,
        positions: &[(u32, u64)],
    ) -> Result<(), BrokerError> {
        let member = self
            .members
            .get(&(topic.to_owned(), group.to_owned()))
            .and_then(|m| m.upgrade());
        match member {
            Some(member) => consumer::commit(member, topic, positions).await,
            None => {
                let outsider = OutsideCommitter::new(self.calls.clone(), topic, group);
                outsider.commit(positions).await
            }
        }
    }

    /// Asked from outside the group (no client of its own: a lag lookup per scrape costs one
    /// request, not a consumer).
    async fn committed(&self, topic: &str, group: &str) -> Result<BTreeMap<u32, u64>, BrokerError> {
        let partitions = self.partitions(topic).await?;
        let committed = (self.calls.list(group, topic, &partitions, TIMEOUT).await)
            .map_err(BrokerError::Unavailable)?;
        Ok(committed
            .into_iter()
            .filter(|&(_, next)| next > 0)
            .map(|(partition, next)| (partition as u32, next as u64 - 1))
            .collect())
    }

    async fn end_offsets(&self, topic: &str) -> Result<BTreeMap<u32, u64>, BrokerError> {
        let partitions = self.partitions(topic).await?;
        let (metadata, topic) = (self.metadata.clone(), topic.to_owned());
        tokio::task::spawn_blocking(move || {
            let mut ends = BTreeMap::new();
            for partition in partitions {
                let (_, high) = metadata
                    .fetch_watermarks(&topic, partition, TIMEOUT)
                    .map_err(unavailable)?;
                if high > 0 {
                    ends.insert(partition as u32, high as u64 - 1);
                }
            }
            Ok(ends)
        })
        .await
        .map_err(|error| BrokerError::Unavailable(error.to_string()))?
    }

    /// A broker of the cluster answers a metadata request within [`READY_TIMEOUT`].
    async fn reachable(&self) -> Result<(), BrokerError> {
        let metadata = self.metadata.clone();
        tokio::task::spawn_blocking(move || metadata.fetch_metadata(None, READY_TIMEOUT))
            .await
            .map_err(|error| BrokerError::Unavailable(error.to_string()))?
            .map(|_| ())
            .map_err(unavailable)
    }
}
