//! Hands records to librdkafka's producer queue in call order without ever blocking the caller's
//! thread: when the queue is full, the record and every later one wait in a backlog that a task
//! drains asynchronously as the queue frees up (Vector's answer to a full queue).
//!
//! Records are published in batches: every record of a batch carries the batch (an `Arc`, no
//! allocation per record) to librdkafka, whose delivery callback counts it down; the batch's
//! acknowledgement resolves once every record was delivered, or with the first failure.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message as _;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, ProducerContext};
use tokio::sync::oneshot;

use super::diagnostics::Diagnostics;
use super::records;
use crate::broker::BrokerError;
use crate::message::Message;

/// How long a record may wait for room in the queue before its publish fails.
const FULL_FOR: Duration = Duration::from_secs(30);
/// How often the backlog tries the queue again while it is full.
const RETRY: Duration = Duration::from_millis(1);

/// The outcome of a batch: the position of a one-record batch's record, or the first failure.
pub(super) type Delivered = Result<(u32, u64), BrokerError>;

/// Records published together, acknowledged together.
pub(super) struct Batch {
    topic: String,
    /// Where its records without a key go; `None`: where librdkafka's partitioner says.
    partition: Option<i32>,
    /// Records not yet delivered (or failed).
    remaining: AtomicUsize,
    /// The first failure.
    failure: OnceLock<BrokerError>,
    /// Where the record of a one-record batch was stored.
    position: OnceLock<(u32, u64)>,
    done: Mutex<Option<oneshot::Sender<Delivered>>>,
}

impl Batch {
    /// A batch of `records` records to `topic` (those without a key to `partition`), and where
    /// its outcome will be told.
    pub(super) fn new(
        topic: &str,
        partition: Option<i32>,
        records: usize,
    ) -> (Arc<Batch>, oneshot::Receiver<Delivered>) {
        let (done, outcome) = oneshot::channel();
        let batch = Arc::new(Batch {
            topic: topic.to_owned(),
            partition,
            remaining: AtomicUsize::new(records),
            failure: OnceLock::new(),
            position: OnceLock::new(),
            done: Mutex::new(Some(done)),
        });
        if records == 0 {
            batch.finish();
        }
        (batch, outcome)
    }

    /// One record of the batch was delivered at `position`, or failed.
    fn delivered(&self, delivered: Delivered) {
        match delivered {
            Ok(position) => _ = self.position.set(position),
            Err(error) => _ = self.failure.set(error),
        }
        if self.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.finish();
        }
    }

    fn finish(&self) {
        let result = match self.failure.get() {
            Some(error) => Err(error.clone()),
            None => Ok(self.position.get().copied().unwrap_or_default()),
        };
        if let Some(done) = self.done.lock().take() {
            _ = done.send(result);
        }
    }
}

/// The producer's deliveries, each counted down on its batch (its other events are reported
/// like the broker's other clients').
impl ProducerContext for Diagnostics {
    type DeliveryOpaque = Arc<Batch>;

    fn delivery(&self, result: &DeliveryResult<'_>, batch: Arc<Batch>) {
        let delivered = match result {
            Ok(record) => Ok((record.partition() as u32, record.offset() as u64)),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::UnknownTopicOrPartition), _)) => {
                Err(BrokerError::UnknownTopic(batch.topic.clone()))
            }
            Err((error, _)) => Err(super::unavailable(error.clone())),
        };
        batch.delivered(delivered);
    }
}

/// How long one poll for delivery reports lasts: also how long the polling thread outlives its
/// producer.
const DELIVERY_POLL: Duration = Duration::from_secs(1);

/// The producer of a Kafka broker, its delivery reports served by a thread of its own as they
/// arrive. (rdkafka's `ThreadedProducer` polls in 100 ms rounds and spins through the last
/// millisecond of each, its timeout being rounded down to whole milliseconds: 1% of a core for
/// an idle producer. Here a round lasts a second.)
pub(super) struct Producer {
    base: Arc<BaseProducer<Diagnostics>>,
    stop: Arc<AtomicBool>,
}

impl Producer {
    pub(super) fn new(base: BaseProducer<Diagnostics>) -> std::io::Result<Self> {
        let (base, stop) = (Arc::new(base), Arc::new(AtomicBool::new(false)));
        let (polled, stopped) = (base.clone(), stop.clone());
        std::thread::Builder::new()
            .name("riff-deliveries".into())
            .spawn(move || {
                while !stopped.load(Ordering::Relaxed) {
                    polled.poll(DELIVERY_POLL);
                }
            })?;
        Ok(Producer { base, stop })
    }
}

/// The polling thread ends within [`DELIVERY_POLL`] (nothing waits for it), and the producer
/// with it.
impl Drop for Producer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// One record waiting for room.
struct Waiting {
    message: Message,
    since: Instant,
    batch: Arc<Batch>,
}

/// The producer and the records waiting for room in its queue, in call order.
pub(super) struct OrderedQueue {
    producer: Arc<Producer>,
    backlog: Arc<Mutex<VecDeque<Waiting>>>,
}

impl OrderedQueue {
    pub(super) fn new(producer: Producer) -> Self {
        OrderedQueue {
            producer: Arc::new(producer),
            backlog: Arc::default(),
        }
    }

    /// Enqueues `messages` of `batch` after every record enqueued before them.
    pub(super) fn enqueue(&self, batch: &Arc<Batch>, messages: Vec<Message>) {
        let mut backlog = self.backlog.lock();
        let mut messages = messages.into_iter();
        if backlog.is_empty() {
            for message in messages.by_ref() {
                match try_send(&self.producer, batch, &message) {
                    Ok(()) => {}
                    Err(Some(error)) => batch.delivered(Err(error)),
                    Err(None) => {
                        backlog.push_back(Waiting {
                            message,
                            since: Instant::now(),
                            batch: batch.clone(),
                        });
                        tokio::spawn(drain(self.producer.clone(), self.backlog.clone()));
                        break;
                    }
                }
            }
        }
        let since = Instant::now();
        backlog.extend(messages.map(|message| Waiting {
            message,
            since,
            batch: batch.clone(),
        }));
    }
}

/// Moves the backlog into librdkafka's queue as room frees up; ends when it is empty.
async fn drain(producer: Arc<Producer>, backlog: Arc<Mutex<VecDeque<Waiting>>>) {
    loop {
        {
            let mut backlog = backlog.lock();
            while let Some(waiting) = backlog.front() {
                match try_send(&producer, &waiting.batch, &waiting.message) {
                    Err(None) if waiting.since.elapsed() < FULL_FOR => break,
                    Err(None) => waiting
                        .batch
                        .delivered(Err(BrokerError::Unavailable(format!(
                            "librdkafka's producer queue stayed full for {FULL_FOR:?}"
                        )))),
                    Err(Some(error)) => waiting.batch.delivered(Err(error)),
                    Ok(()) => {}
                }
                backlog.pop_front();
            }
            if backlog.is_empty() {
                return;
            }
        }
        tokio::time::sleep(RETRY).await;
    }
}

/// Hands one record to librdkafka: `Err(None)` when its queue is full.
fn try_send(
    producer: &Producer,
    batch: &Arc<Batch>,
    message: &Message,
) -> Result<(), Option<BrokerError>> {
    let (key, headers) = records::encode(message);
    let mut record = BaseRecord::with_opaque_to(&batch.topic, batch.clone())
        .payload(message.payload.as_ref())
        .headers(headers);
    match (key.as_deref(), batch.partition) {
        (Some(key), _) => record = record.key(key),
        (None, Some(partition)) => record = record.partition(partition),
        (None, None) => {}
    }
    producer
        .base
        .send(record)
        .map_err(|(error, _)| match error {
            KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull) => None,
            error => Some(super::unavailable(error)),
        })
}
