//! Hands records to librdkafka's producer queue in call order without ever blocking the caller's
//! thread: when the queue is full, the record and every later one wait in a backlog that a task
//! drains asynchronously as the queue frees up (Vector's answer to a full queue).
//!
//! Records are published in batches, each handed to librdkafka in one call (the vendored
//! `rd_kafka_produce_batch_headers`: one topic lock, partition lookup and clock read per batch,
//! not per record): every record of a batch carries the batch (an `Arc`, no allocation per
//! record) to librdkafka, whose delivery callback counts it down; the batch's acknowledgement
//! resolves once every record was delivered, or with the first failure.

use std::collections::VecDeque;
use std::ffi::{c_void, CString};
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use dashmap::DashMap;
use parking_lot::Mutex;
use rdkafka::bindings as rd;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message as _;
use rdkafka::producer::{BaseProducer, DeliveryResult, Producer as _, ProducerContext};
use tokio::sync::oneshot;

use super::diagnostics::Diagnostics;
use super::records;
use crate::broker::BrokerError;
use crate::message::{now_ms, Message};

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
    /// Its records' timestamp (ms since the epoch): when it was published, read once for all
    /// of them (librdkafka would read the clock for each).
    timestamp_ms: i64,
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
            timestamp_ms: now_ms(),
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
    /// The handles of the topics produced to (dropped before the producer itself).
    topics: DashMap<String, Arc<TopicHandle>>,
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
        Ok(Producer {
            topics: DashMap::new(),
            base,
            stop,
        })
    }

    /// librdkafka's handle on `topic`, made on its first record (a record produced by name
    /// would look the topic up, and copy its name into a C string, each time).
    fn topic(&self, topic: &str) -> Result<Arc<TopicHandle>, BrokerError> {
        if let Some(handle) = self.topics.get(topic) {
            return Ok(handle.clone());
        }
        let name = CString::new(topic)
            .map_err(|_| BrokerError::Unavailable(format!("topic name {topic:?} holds a NUL")))?;
        let rk = self.base.client().native_ptr();
        let handle =
            NonNull::new(unsafe { rd::rd_kafka_topic_new(rk, name.as_ptr(), ptr::null_mut()) })
                .ok_or_else(|| {
                    BrokerError::Unavailable(format!("librdkafka refused topic {topic:?}"))
                })?;
        let handle = Arc::new(TopicHandle(handle));
        self.topics.insert(topic.to_owned(), handle.clone());
        Ok(handle)
    }
}

/// librdkafka's handle on a topic (one reference of its own, released when dropped).
struct TopicHandle(NonNull<rd::rd_kafka_topic_t>);

// librdkafka's topic handles may be used from any thread.
unsafe impl Send for TopicHandle {}
unsafe impl Sync for TopicHandle {}

impl Drop for TopicHandle {
    fn drop(&mut self) {
        unsafe { rd::rd_kafka_topic_destroy(self.0.as_ptr()) };
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
        let topic = match self.producer.topic(&batch.topic) {
            Ok(topic) => topic,
            Err(error) => {
                for _ in &messages {
                    batch.delivered(Err(error.clone()));
                }
                return;
            }
        };
        let mut backlog = self.backlog.lock();
        let queued = match backlog.is_empty() {
            true => send(&topic, batch, &messages),
            false => 0,
        };
        if queued == messages.len() {
            return;
        }
        if backlog.is_empty() {
            tokio::spawn(drain(self.producer.clone(), self.backlog.clone()));
        }
        let since = Instant::now();
        backlog.extend(messages.into_iter().skip(queued).map(|message| Waiting {
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
                // Queued, or failed: off the backlog either way.
                let settled = match producer.topic(&waiting.batch.topic) {
                    Ok(topic) => {
                        let message = std::slice::from_ref(&waiting.message);
                        send(&topic, &waiting.batch, message) == 1
                    }
                    Err(error) => {
                        waiting.batch.delivered(Err(error));
                        true
                    }
                };
                match settled {
                    false if waiting.since.elapsed() < FULL_FOR => break,
                    false => waiting
                        .batch
                        .delivered(Err(BrokerError::Unavailable(format!(
                            "librdkafka's producer queue stayed full for {FULL_FOR:?}"
                        )))),
                    true => {}
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

/// Hands `messages` of `batch` to librdkafka in one call, in order, and returns how many it
/// took before its queue was full (the rest are not queued). Each record carries its batch (an
/// `Arc` reference, given back by [`ProducerContext::delivery`]); one librdkafka refused for
/// another cause fails its batch.
fn send(topic: &TopicHandle, batch: &Arc<Batch>, messages: &[Message]) -> usize {
    let encoded: Vec<_> = messages.iter().map(records::encode).collect();
    let mut headers: Vec<_> = encoded
        .iter()
        .map(|(_, headers)| headers.as_ptr())
        .collect();
    let mut records: Vec<_> = messages
        .iter()
        .zip(&encoded)
        .map(|(message, (key, _))| {
            let (key_ptr, key_len) = key
                .as_deref()
                .map_or((ptr::null(), 0), |key| (key.as_ptr(), key.len()));
            rd::rd_kafka_message_t {
                err: rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR,
                rkt: ptr::null_mut(),
                partition: match (key, batch.partition) {
                    (None, Some(partition)) => partition,
                    // RD_KAFKA_PARTITION_UA: where the partitioner says.
                    _ => -1,
                },
                payload: message.payload.as_ptr() as *mut c_void,
                len: message.payload.len(),
                key: key_ptr as *mut c_void,
                key_len,
                offset: 0,
                _private: Arc::into_raw(batch.clone()) as *mut c_void,
            }
        })
        .collect();
    unsafe {
        rd::rd_kafka_produce_batch_headers(
            topic.0.as_ptr(),
            rd::RD_KAFKA_MSG_F_COPY,
            records.as_mut_ptr(),
            headers.as_mut_ptr(),
            batch.timestamp_ms,
            records.len() as i32,
        )
    };
    let mut queued = messages.len();
    for (index, ((record, (_, list)), left)) in records.iter().zip(encoded).zip(headers).enumerate()
    {
        if left.is_null() {
            list.taken();
        }
        if record.err == rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
            continue;
        }
        // Not queued: the batch reference comes back (headers left are freed with `list`).
        drop(unsafe { Arc::from_raw(record._private as *const Batch) });
        match RDKafkaErrorCode::from(record.err) {
            RDKafkaErrorCode::QueueFull => queued = queued.min(index),
            code => batch.delivered(Err(super::unavailable(KafkaError::MessageProduction(code)))),
        }
    }
    queued
}
