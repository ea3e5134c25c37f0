//! A subscription on Kafka: a consumer-group member whose records and rebalances become
//! [`Delivery`]s, and whose commits go through the same member.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::error::KafkaError;
use rdkafka::{ClientConfig, ClientContext, Offset, TopicPartitionList};
use tokio::sync::mpsc;
use tokio_stream::wrappers::{ReceiverStream, UnboundedReceiverStream};

use super::diagnostics::Diagnostics;
use super::records;
use crate::broker::{BrokerError, Committer, Delivery, Subscription};

/// Records read ahead of the pipeline, per subscription.
const READ_AHEAD: usize = 256;

/// Turns rebalances into deliveries; reports librdkafka's problems like the broker's other
/// clients.
pub(super) struct RebalanceEvents {
    events: mpsc::UnboundedSender<Result<Delivery, BrokerError>>,
    diagnostics: Diagnostics,
}

impl ClientContext for RebalanceEvents {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        self.diagnostics.log(level, facility, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.diagnostics.error(error, reason);
    }
}

impl ConsumerContext for RebalanceEvents {
    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let partitions = |list: &TopicPartitionList| {
            list.elements()
                .iter()
                .map(|e| e.partition() as u32)
                .collect()
        };
        let delivery = match rebalance {
            Rebalance::Assign(list) => Delivery::Assigned(partitions(list)),
            Rebalance::Revoke(list) => Delivery::Revoked(partitions(list)),
            Rebalance::Error(error) => {
                tracing::warn!(%error, "consumer group rebalance failed");
                return;
            }
        };
        _ = self.events.send(Ok(delivery));
    }
}

/// A group member on one topic.
pub(super) type GroupConsumer = StreamConsumer<RebalanceEvents>;

/// Joins the group configured in `config` on `topic`; records without a content type get
/// `content_type`.
pub(super) fn subscribe(
    config: &ClientConfig,
    topic: &str,
    content_type: Option<String>,
    diagnostics: Diagnostics,
) -> Result<(Arc<GroupConsumer>, Subscription), BrokerError> {
    let (events, rebalances) = mpsc::unbounded_channel();
    let consumer: Arc<GroupConsumer> = Arc::new(
        config
            .create_with_context(RebalanceEvents {
                events,
                diagnostics,
            })
            .map_err(super::unavailable)?,
    );
    consumer.subscribe(&[topic]).map_err(super::unavailable)?;
    let (records, read) = mpsc::channel(READ_AHEAD);
    tokio::spawn(read_records(consumer.clone(), records, content_type));
    let deliveries = futures::stream::select(
        UnboundedReceiverStream::new(rebalances),
        ReceiverStream::new(read),
    );
    let committer = GroupCommitter {
        consumer: consumer.clone(),
        topic: topic.to_owned(),
    };
    Ok((
        consumer,
        Subscription {
            deliveries: deliveries.boxed(),
            committer: Box::new(committer),
        },
    ))
}

/// Reads records until the subscription is dropped. Broker errors are logged and retried by
/// librdkafka; they never end the subscription.
async fn read_records(
    consumer: Arc<GroupConsumer>,
    records: mpsc::Sender<Result<Delivery, BrokerError>>,
    content_type: Option<String>,
) {
    loop {
        let received = tokio::select! {
            received = consumer.recv() => received,
            _ = records.closed() => return,
        };
        let delivery = match received {
            Ok(record) => {
                let mut record = records::decode(&record);
                if record.message.content_type.is_empty() {
                    record.message.content_type = content_type.clone().unwrap_or_default();
                }
                Delivery::Record(record)
            }
            Err(error) => {
                tracing::warn!(%error, "reading from Kafka failed; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        if records.send(Ok(delivery)).await.is_err() {
            return;
        }
    }
}

/// Commits through the group member that read the records.
pub(super) struct GroupCommitter {
    consumer: Arc<GroupConsumer>,
    topic: String,
}

#[async_trait]
impl Committer for GroupCommitter {
    async fn commit(&self, positions: &[(u32, u64)]) -> Result<(), BrokerError> {
        commit(self.consumer.clone(), &self.topic, positions).await
    }
}

/// Commits "last processed offset" positions: Kafka stores the next offset to read.
pub(super) async fn commit<C: Consumer<X> + Send + Sync + 'static, X: ConsumerContext>(
    consumer: Arc<C>,
    topic: &str,
    positions: &[(u32, u64)],
) -> Result<(), BrokerError> {
    let mut list = TopicPartitionList::new();
    for (partition, offset) in positions {
        list.add_partition_offset(topic, *partition as i32, Offset::Offset(*offset as i64 + 1))
            .map_err(super::unavailable)?;
    }
    tokio::task::spawn_blocking(move || consumer.commit(&list, CommitMode::Sync))
        .await
        .map_err(|error| BrokerError::Unavailable(error.to_string()))?
        .map_err(super::unavailable)
}
