//! A subscription on Kafka: a consumer-group member whose rebalances and records become one
//! ordered sequence of [`Delivery`]s, and whose commits go through the same member.
//!
//! - The member is polled on a thread of its own: librdkafka runs rebalances inside `poll`,
//!   and an assignment looks positions up on the broker, which must not block an async thread.
//!   The thread sleeps while the member's queues are empty and librdkafka wakes it when one
//!   fills (an idle member costs a wake-up a second, not a poll every few milliseconds: see
//!   [`Wakeup`]).
//! - Records are taken a batch at a time from a queue of their own, to which each assigned
//!   partition is forwarded ([`MemberRecords`]); the member's queue keeps its rebalances, and
//!   the records fetched before their partition was forwarded, which are taken first.
//! - A rebalance is delivered before any record polled after it, so a record never arrives for
//!   a partition its reader does not know is assigned, and none arrives after its revocation.
//! - A partition assigned without a committed position gets one before it is read: the start
//!   position the group's reset policy gives (the end for `latest`) is committed, so that
//!   `latest` means "from when the processor first read the partition", not "from every
//!   restart": records read but not processed before a crash are read again.
//! - When its subscriber keeps what it was delivered until it commits it (a processor's
//!   windows), a partition the member gets back right after it was revoked (the eager protocol
//!   revokes every partition at each rebalance) is read on from where the member stopped
//!   reading it, not from the committed position: reading the records delivered since the last
//!   commit again would only repeat their outputs. (If another member committed further
//!   meanwhile, reading starts there.)

use std::collections::HashMap;
use std::ffi::{c_void, CString};
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use parking_lot::{Condvar, Mutex};
use rdkafka::bindings as rd;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, RebalanceProtocol};
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{ClientConfig, ClientContext, Offset, TopicPartitionList};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::batches;
use super::diagnostics::Diagnostics;
use super::{records, RdQueue};
use crate::broker::{BrokerError, Committer, Delivery, OffsetReset, Subscription};

/// Batches read ahead of the pipeline, per subscription.
pub(super) const READ_AHEAD: usize = 8;
/// The most records read in one batch.
pub(super) const READ_BATCH: usize = 1024;
/// How long the reader sleeps at most while nothing arrives: librdkafka wants its member polled
/// regularly (within `max.poll.interval.ms`), whether or not it was woken.
pub(super) const IDLE_POLL: Duration = Duration::from_secs(1);
/// How long looking up or committing start positions may take during a rebalance.
const PIN_TIMEOUT: Duration = Duration::from_secs(10);

/// The member's context: rebalances, applied and queued as deliveries in the order they
/// happened; librdkafka's problems reported like the broker's other clients.
pub(super) struct GroupEvents {
    start: Start,
    rebalances: Mutex<Vec<Result<Delivery, BrokerError>>>,
    /// Where the member reads its partitions (when its subscriber keeps what it is delivered):
    /// the assigned ones' starts, and the revoked ones' next offsets at their revocation (until
    /// the next assignment).
    places: Mutex<Places>,
    /// Events a poll served without returning them (rebalances, commit results): a poll that
    /// returned nothing but served one did not find the queue empty.
    served: AtomicU64,
    /// The reader's records queue ([`MemberRecords`]) while the reader runs (else null): each
    /// partition assigned is forwarded to it.
    records: AtomicPtr<rd::rd_kafka_queue_t>,
    wakeup: Arc<Wakeup>,
    diagnostics: Diagnostics,
}

/// Wakes the reader: librdkafka calls it when the member's queue goes from empty to not empty,
/// and the subscription when it is dropped.
#[derive(Default)]
pub(super) struct Wakeup {
    woken: Mutex<bool>,
    ready: Condvar,
}

impl Wakeup {
    pub(super) fn wake(&self) {
        *self.woken.lock() = true;
        self.ready.notify_one();
    }

    /// Sleeps until woken (since the last wait), or `at_most`.
    pub(super) fn wait(&self, at_most: Duration) {
        let mut woken = self.woken.lock();
        if !*woken {
            self.ready.wait_for(&mut woken, at_most);
        }
        *woken = false;
    }
}

impl ClientContext for GroupEvents {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        self.diagnostics.log(level, facility, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.diagnostics.error(error, reason);
    }
}

impl ConsumerContext for GroupEvents {
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        event: RDKafkaRespErr,
        list: &mut TopicPartitionList,
    ) {
        let partitions: Vec<u32> = list
            .elements()
            .iter()
            .map(|e| e.partition() as u32)
            .collect();
        let cooperative = matches!(
            consumer.rebalance_protocol(),
            RebalanceProtocol::Cooperative
        );
        let delivery = match event {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                let stopped_at = std::mem::take(&mut self.places.lock().stopped_at);
                match assign_pinned(consumer, list, self.start.reset, &stopped_at, cooperative) {
                    Ok(starts) => {
                        let records = self.records.load(Ordering::Relaxed);
                        for element in list.elements() {
                            forward(consumer, element.topic(), element.partition(), records);
                        }
                        if self.start.keeping {
                            self.places.lock().starts.extend(starts);
                        }
                        Ok(Delivery::Assigned(partitions))
                    }
                    Err(error) => {
                        _ = revoke(consumer, list, cooperative);
                        Err(BrokerError::Unavailable(format!(
                            "cannot set the start positions of partitions {partitions:?}: {error}"
                        )))
                    }
                }
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                if self.start.keeping {
                    self.places.lock().revoked(consumer, &partitions);
                }
                _ = revoke(consumer, list, cooperative);
                Ok(Delivery::Revoked(partitions))
            }
            error => {
                tracing::warn!(?error, "consumer group rebalance failed");
                _ = revoke(consumer, list, cooperative);
                self.served.fetch_add(1, Ordering::Relaxed);
                return;
            }
        };
        self.rebalances.lock().push(delivery);
        self.served.fetch_add(1, Ordering::Relaxed);
    }

    fn commit_callback(&self, _: KafkaResult<()>, _: &TopicPartitionList) {
        self.served.fetch_add(1, Ordering::Relaxed);
    }
}

/// Forwards the records of `topic`'s `partition` to `records` (nothing when it is null): from
/// now on they are enqueued there, and those fetched already are moved there.
fn forward(
    consumer: &GroupConsumer,
    topic: &str,
    partition: i32,
    records: *mut rd::rd_kafka_queue_t,
) {
    let Ok(topic) = CString::new(topic) else {
        return;
    };
    let rk = consumer.client().native_ptr();
    let queue = unsafe { rd::rd_kafka_queue_get_partition(rk, topic.as_ptr(), partition) };
    // A partition without a queue keeps its records on the member's queue, read as well.
    if let (Some(queue), false) = (RdQueue::new(queue), records.is_null()) {
        // The forwarding outlives this handle; librdkafka undoes it when the fetch stops.
        unsafe { rd::rd_kafka_queue_forward(queue.as_ptr(), records) };
    }
}

/// The reader's queue of records, to which each assigned partition is forwarded
/// ([`GroupEvents::records`]), taken a batch at a time ([`batches::take`]). The member's own
/// queue cannot be: it carries the member's rebalances, which `rd_kafka_consume_batch_queue`
/// would serve by unassigning every partition (rdkafka sets no rebalance callback; it reads
/// rebalances as events in `poll`).
struct MemberRecords {
    /// Released before `consumer` (fields drop in order): librdkafka wants a client's queues
    /// released before the client.
    queue: RdQueue,
    consumer: Arc<GroupConsumer>,
    /// The member's topic, for forwarding its partitions again.
    topic: String,
}

impl MemberRecords {
    /// A queue for `consumer`'s records on `topic` whose filling wakes the reader (the
    /// member's [`Wakeup`], which lives as long as the member's client).
    fn new(consumer: Arc<GroupConsumer>, topic: &str) -> Option<Self> {
        let queue =
            RdQueue::new(unsafe { rd::rd_kafka_queue_new(consumer.client().native_ptr()) })?;
        let opaque = Arc::as_ptr(&consumer.context().wakeup) as *mut c_void;
        unsafe { rd::rd_kafka_queue_cb_event_enable(queue.as_ptr(), Some(wake_reader), opaque) };
        consumer
            .context()
            .records
            .store(queue.as_ptr(), Ordering::Relaxed);
        Some(MemberRecords {
            queue,
            consumer,
            topic: topic.to_owned(),
        })
    }
}

impl Drop for MemberRecords {
    fn drop(&mut self) {
        let events = self.consumer.context();
        events
            .records
            .store(std::ptr::null_mut(), Ordering::Relaxed);
        // Partitions still forwarded may fill the queue after this handle is gone: no reader
        // is woken any more.
        unsafe {
            rd::rd_kafka_queue_cb_event_enable(self.queue.as_ptr(), None, std::ptr::null_mut())
        };
    }
}

/// librdkafka's callback when a records queue fills: wakes its reader.
unsafe extern "C" fn wake_reader(_: *mut rd::rd_kafka_t, opaque: *mut c_void) {
    // SAFETY: the member's `Wakeup`, which its context holds as long as its client lives.
    unsafe { &*(opaque as *const Wakeup) }.wake();
}

/// Where a member reads its partitions, by partition.
#[derive(Default)]
pub(super) struct Places {
    /// The offset each assigned partition was assigned from.
    starts: HashMap<i32, i64>,
    /// The next offset to read of each partition of the last revocation.
    stopped_at: HashMap<i32, i64>,
}

impl Places {
    /// `partitions` are revoked: each stopped after the last record polled from it, or where
    /// it started if none was polled since.
    fn revoked(&mut self, consumer: &BaseConsumer<GroupEvents>, partitions: &[u32]) {
        let polled = consumer.position().unwrap_or_default();
        self.stopped_at.clear();
        for &partition in partitions {
            let partition = partition as i32;
            let start = self.starts.remove(&partition);
            let next = (polled.elements().iter())
                .find(|e| e.partition() == partition)
                .and_then(|e| match e.offset() {
                    Offset::Offset(next) => Some(next),
                    _ => None,
                });
            if let Some(next) = next.or(start) {
                self.stopped_at.insert(partition, next);
            }
        }
    }
}

/// Assigns `list`, each partition from its committed position, or from where the member
/// stopped reading it (`stopped_at`) if that is further; a partition without either starts
/// where `reset` says, and that start is committed before the partition is read. Returns each
/// partition's start.
fn assign_pinned(
    consumer: &BaseConsumer<GroupEvents>,
    list: &mut TopicPartitionList,
    reset: OffsetReset,
    stopped_at: &HashMap<i32, i64>,
    cooperative: bool,
) -> KafkaResult<Vec<(i32, i64)>> {
    let committed = consumer.committed_offsets(list.clone(), PIN_TIMEOUT)?;
    let mut pins = TopicPartitionList::new();
    let mut starts = Vec::new();
    for element in committed.elements() {
        let (topic, partition) = (element.topic(), element.partition());
        let stopped = stopped_at.get(&partition).copied();
        let start = match (element.offset(), stopped) {
            (Offset::Offset(next), Some(stopped)) => next.max(stopped),
            (Offset::Offset(next), None) => next,
            // Its windows commit what it read; pinning `stopped` would commit past them.
            (_, Some(stopped)) => stopped,
            (_, None) => {
                let start = super::reset_start(consumer, topic, partition, reset, PIN_TIMEOUT)?;
                pins.add_partition_offset(topic, partition, Offset::Offset(start))?;
                start
            }
        };
        list.set_partition_offset(topic, partition, Offset::Offset(start))?;
        starts.push((partition, start));
    }
    if cooperative {
        consumer.incremental_assign(list)?;
    } else {
        consumer.assign(list)?;
    }
    if pins.count() > 0 {
        consumer.commit(&pins, CommitMode::Sync)?;
        tracing::info!(pins = ?positions(&pins), "start positions committed");
    }
    Ok(starts)
}

/// Gives up `list` (all partitions, for the eager protocol).
fn revoke(
    consumer: &BaseConsumer<GroupEvents>,
    list: &TopicPartitionList,
    cooperative: bool,
) -> KafkaResult<()> {
    if cooperative {
        consumer.incremental_unassign(list)
    } else {
        consumer.unassign()
    }
}

/// `(partition, next offset)` pairs of `list`, for logs.
fn positions(list: &TopicPartitionList) -> Vec<(i32, i64)> {
    list.elements()
        .iter()
        .filter_map(|e| e.offset().to_raw().map(|offset| (e.partition(), offset)))
        .collect()
}

/// A group member on one topic.
pub(super) type GroupConsumer = BaseConsumer<GroupEvents>;

/// Where a member reads a partition it is assigned.
#[derive(Debug, Clone, Copy)]
pub(super) struct Start {
    /// Where on partitions the group never committed.
    pub reset: OffsetReset,
    /// Whether the subscriber keeps what it was delivered until it commits it: then a
    /// partition given back right after its revocation is read on where it stopped.
    pub keeping: bool,
}

/// Joins the group configured in `config` on `topic`, reading partitions from where `start`
/// says; records without a content type get `content_type`.
pub(super) fn subscribe(
    config: &ClientConfig,
    topic: &str,
    start: Start,
    content_type: Option<String>,
    diagnostics: Diagnostics,
) -> Result<(Arc<GroupConsumer>, Subscription), BrokerError> {
    let wakeup = Arc::new(Wakeup::default());
    let events = GroupEvents {
        start,
        rebalances: Mutex::default(),
        places: Mutex::default(),
        served: AtomicU64::new(0),
        records: AtomicPtr::default(),
        wakeup: wakeup.clone(),
        diagnostics,
    };
    let mut consumer: GroupConsumer = config
        .create_with_context(events)
        .map_err(super::unavailable)?;
    let woken = wakeup.clone();
    consumer.set_nonempty_callback(move || woken.wake());
    let consumer = Arc::new(consumer);
    let member = MemberRecords::new(consumer.clone(), topic).ok_or_else(|| {
        BrokerError::Unavailable("librdkafka gave no queue for the member's records".into())
    })?;
    consumer.subscribe(&[topic]).map_err(super::unavailable)?;
    let (deliveries, delivered) = mpsc::channel(READ_AHEAD);
    std::thread::Builder::new()
        .name(format!("riff-read-{topic}"))
        .spawn(move || read(&member, &deliveries, content_type))
        .map_err(|error| BrokerError::Unavailable(format!("cannot start a reader: {error}")))?;
    let committer = GroupCommitter {
        consumer: consumer.clone(),
        topic: topic.to_owned(),
    };
    let reading = Reading {
        batches: ReceiverStream::new(delivered),
        wakeup,
    };
    Ok((
        consumer,
        Subscription {
            deliveries: reading.flat_map(futures::stream::iter).boxed(),
            committer: Box::new(committer),
        },
    ))
}

/// The batches the reader hands over; dropped, it stops the reader at once (which then leaves
/// the group).
struct Reading {
    batches: ReceiverStream<Polled>,
    wakeup: Arc<Wakeup>,
}

impl futures::Stream for Reading {
    type Item = Polled;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Polled>> {
        self.batches.poll_next_unpin(cx)
    }
}

impl Drop for Reading {
    fn drop(&mut self) {
        self.batches.close();
        self.wakeup.wake();
    }
}

/// What one round of polling hands over: rebalances and records, in order.
type Polled = Vec<Result<Delivery, BrokerError>>;

/// Polls the member until the subscription is dropped, delivering rebalances and records in the
/// order they happened, what is ready at once together (up to [`READ_BATCH`] records: one
/// hand-over between threads per batch, not per record), and sleeping while the queues are
/// empty. Broker errors are logged and retried by librdkafka; they never end the subscription.
///
/// The member's queue is served first: its rebalances, then any record fetched before its
/// partition was forwarded (older than what its partition forwarded since). Such a partition
/// is forwarded again, and the records queue is read only once the member's queue is empty.
///
/// Polls never wait inside librdkafka: rdkafka's poll loops until its timeout, spinning through
/// the last millisecond (its timeout is rounded down to whole milliseconds), and a wake-up
/// could not end it early.
fn read(member: &MemberRecords, deliveries: &mpsc::Sender<Polled>, content_type: Option<String>) {
    let consumer = &member.consumer;
    let events = consumer.context();
    let mut taken = Vec::new();
    let decoded = |message: &rd::rd_kafka_message_t| {
        let record = records::decode(message);
        let record = records::with_stream_content_type(record, content_type.as_ref());
        Ok(Delivery::Record(record))
    };
    while !deliveries.is_closed() {
        let mut batch = Vec::new();
        let mut unforwarded: Vec<i32> = Vec::new();
        while batch.len() < READ_BATCH {
            let served = events.served.load(Ordering::Relaxed);
            let polled = consumer.poll(Duration::ZERO);
            // Rebalances run inside poll: they come before the record it returned.
            batch.append(&mut events.rebalances.lock());
            match polled {
                None if events.served.load(Ordering::Relaxed) != served => continue,
                None => break,
                Some(Ok(record)) => {
                    // SAFETY: the message lives as long as `record`.
                    let message = unsafe { &*record.ptr() };
                    if !unforwarded.contains(&message.partition) {
                        unforwarded.push(message.partition);
                    }
                    batch.push(decoded(message));
                }
                Some(Err(error)) => {
                    tracing::warn!(%error, "reading from Kafka failed; retrying");
                    std::thread::sleep(Duration::from_millis(500));
                    break;
                }
            }
        }
        let records = member.queue.as_ptr();
        for &partition in &unforwarded {
            forward(consumer, &member.topic, partition, records);
        }
        if unforwarded.is_empty() && batch.len() < READ_BATCH {
            let room = READ_BATCH - batch.len();
            // Room for a whole batch once records come (an idle read allocates nothing).
            let ready = batches::take(&member.queue, &mut taken, room);
            if ready.len() > 0 {
                batch.reserve_exact(room);
            }
            for message in ready {
                match message {
                    Ok(message) => batch.push(decoded(message.raw())),
                    // One partition's problem: the records after it are read on.
                    Err(error) => tracing::warn!(%error, "reading from Kafka failed; retrying"),
                }
            }
        }
        if batch.is_empty() {
            events.wakeup.wait(IDLE_POLL);
        } else if deliveries.blocking_send(batch).is_err() {
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
    for &(partition, offset) in positions {
        let next = super::next_offset(offset)?;
        list.add_partition_offset(topic, partition as i32, Offset::Offset(next))
            .map_err(super::unavailable)?;
    }
    tokio::task::spawn_blocking(move || consumer.commit(&list, CommitMode::Sync))
        .await
        .map_err(|error| BrokerError::Unavailable(error.to_string()))?
        .map_err(super::unavailable)
}
