//! Shared reads (`riff local run`'s default): one consumer outside any group reads every
//! partition any processor of the process reads, once, and hands each record to every
//! subscriber reading that partition; each subscriber's consumer group keeps its positions
//! (read and committed from outside the group, see `group_offsets`). A hundred processors on
//! one topic cost one client (four threads), one fetch loop and one copy of each record on the
//! wire, instead of a hundred of each.
//!
//! - Each subscriber gets every partition of its topic (there are no rebalances: one process
//!   reads for the whole group) and reads on from its own position: the group's committed one,
//!   or where its reset policy says, committed before the partition is read (as a member's).
//! - A partition is read from the lowest position its subscribers need; a record before a
//!   subscriber's position is not handed to it, so no subscriber sees a record twice.
//! - A subscriber that cannot take more (its read-ahead is full) is set aside while others can,
//!   and they read on. When it takes records again, the partitions it reads are read again from
//!   its position (the others skip what they already have). A partition no subscriber can take
//!   is not fetched at all. So a slow or stuck processor never holds back the others, and
//!   nothing is buffered for it beyond its read-ahead. When no subscriber can take more (one
//!   processor, busy), nothing is read meanwhile and nothing set aside: what librdkafka fetched
//!   waits in its queue instead of being dropped and fetched again.

use std::collections::HashMap;
use std::ffi::CStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use parking_lot::Mutex;
use rdkafka::bindings as rd;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio_stream::wrappers::ReceiverStream;

use super::batches::Batches;
use super::consumer::{Wakeup, IDLE_POLL, READ_AHEAD, READ_BATCH};
use super::diagnostics::Diagnostics;
use super::group_offsets::{AdminCalls, OutsideCommitter};
use super::{records, TIMEOUT};
use crate::broker::{BrokerError, Delivery, OffsetReset, Subscription};

/// What one hand-over to a subscriber carries: its assignment, then records, in order.
type Polled = Vec<Result<Delivery, BrokerError>>;

/// The one reader of a process's subscriptions on a cluster.
pub(super) struct SharedReader {
    joining: Arc<Mutex<Vec<Reader>>>,
    wakeup: Arc<Wakeup>,
    stopped: Arc<AtomicBool>,
    next_id: AtomicU64,
}

impl SharedReader {
    /// Starts the reader thread with a consumer configured by `config` (its group unused).
    pub fn start(config: &ClientConfig, diagnostics: Diagnostics) -> Result<Self, BrokerError> {
        let mut consumer: BaseConsumer<Diagnostics> = config
            .create_with_context(diagnostics)
            .map_err(super::unavailable)?;
        let wakeup = Arc::new(Wakeup::default());
        let woken = wakeup.clone();
        consumer.set_nonempty_callback(move || woken.wake());
        let batches = Batches::of(&consumer).ok_or_else(|| {
            BrokerError::Unavailable("the shared reader's consumer has no queue".into())
        })?;
        let reader = SharedReader {
            joining: Arc::default(),
            wakeup: wakeup.clone(),
            stopped: Arc::default(),
            next_id: AtomicU64::new(0),
        };
        let mut reading = Reading {
            batches,
            consumer,
            joining: reader.joining.clone(),
            wakeup,
            stopped: reader.stopped.clone(),
            readers: HashMap::new(),
            read_by: HashMap::new(),
            assigned: HashMap::new(),
            unassigned: false,
        };
        std::thread::Builder::new()
            .name("riff-read-shared".into())
            .spawn(move || reading.run())
            .map_err(|error| BrokerError::Unavailable(format!("cannot start a reader: {error}")))?;
        Ok(reader)
    }

    /// Reads `topic`'s `partitions` for `group`, each from the group's committed position or,
    /// without one, from where `reset` says (that start committed first); `calls` look the
    /// positions up and commit them.
    pub async fn subscribe(
        &self,
        calls: Arc<AdminCalls>,
        topic: &str,
        group: &str,
        partitions: Vec<i32>,
        reset: OffsetReset,
        content_type: Option<String>,
    ) -> Result<Subscription, BrokerError> {
        let starts = starts(&calls, topic, group, &partitions, reset).await?;
        let (handing, handed) = mpsc::channel(READ_AHEAD);
        let waiting = Arc::new(AtomicBool::new(false));
        let assigned = starts.keys().map(|&p| p as u32).collect();
        self.joining.lock().push(Reader {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            topic: topic.to_owned(),
            next: starts,
            pending: vec![Ok(Delivery::Assigned(assigned))],
            handing,
            waiting: waiting.clone(),
            taking: true,
            content_type,
        });
        self.wakeup.wake();
        let taken = Taken {
            batches: ReceiverStream::new(handed),
            waiting,
            wakeup: self.wakeup.clone(),
        };
        let committer = OutsideCommitter::new(calls, topic, group);
        Ok(Subscription {
            deliveries: taken.flat_map(futures::stream::iter).boxed(),
            committer: Box::new(committer),
        })
    }
}

impl Drop for SharedReader {
    fn drop(&mut self) {
        self.stopped.store(true, Ordering::Relaxed);
        self.wakeup.wake();
    }
}

/// Where `group` starts each of `partitions` of `topic`: its committed position, or where
/// `reset` says, which is then committed (so `latest` means "from when the processor first
/// read the partition", not "from every restart").
async fn starts(
    calls: &AdminCalls,
    topic: &str,
    group: &str,
    partitions: &[i32],
    reset: OffsetReset,
) -> Result<HashMap<i32, i64>, BrokerError> {
    let refused = |error: String| {
        BrokerError::Unavailable(format!(
            "cannot read the positions of group {group:?} on {topic:?}: {error}"
        ))
    };
    let mut starts: HashMap<i32, i64> = (calls.list(group, topic, partitions, TIMEOUT).await)
        .map_err(refused)?
        .into_iter()
        .collect();
    let unpinned: Vec<i32> = (partitions.iter().copied())
        .filter(|partition| !starts.contains_key(partition))
        .collect();
    if unpinned.is_empty() {
        return Ok(starts);
    }
    let pins = {
        let (client, topic) = (calls.client().clone(), topic.to_owned());
        tokio::task::spawn_blocking(move || {
            (unpinned.into_iter())
                .map(|partition| {
                    super::reset_start(&*client, &topic, partition, reset, TIMEOUT)
                        .map(|start| (partition, start))
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .await
        .map_err(|error| BrokerError::Unavailable(error.to_string()))?
        .map_err(super::unavailable)?
    };
    starts.extend(pins.iter().copied());
    (calls.alter(group, topic, &pins, TIMEOUT).await).map_err(refused)?;
    tracing::info!(?pins, group, topic, "start positions committed");
    Ok(starts)
}

/// The records handed to one subscriber; dropped, its reader forgets it.
struct Taken {
    batches: ReceiverStream<Polled>,
    /// Set by the reader while it waits for room in `batches`.
    waiting: Arc<AtomicBool>,
    wakeup: Arc<Wakeup>,
}

impl futures::Stream for Taken {
    type Item = Polled;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Polled>> {
        let taken = self.batches.poll_next_unpin(cx);
        if taken.is_ready() && self.waiting.swap(false, Ordering::Relaxed) {
            self.wakeup.wake();
        }
        taken
    }
}

impl Drop for Taken {
    fn drop(&mut self) {
        self.batches.close();
        self.wakeup.wake();
    }
}

/// One subscriber, as the reader thread sees it.
struct Reader {
    id: u64,
    topic: String,
    /// The next offset to hand it, by partition.
    next: HashMap<i32, i64>,
    /// What it was handed and has no room for yet.
    pending: Polled,
    handing: mpsc::Sender<Polled>,
    waiting: Arc<AtomicBool>,
    /// Whether it takes records now: set aside while it has no room for its pending ones and
    /// others read on.
    taking: bool,
    content_type: Option<String>,
}

impl Reader {
    /// Hands its pending deliveries over if it has room; false once it is gone.
    fn hand_over(&mut self) -> bool {
        if self.pending.is_empty() {
            return !self.handing.is_closed();
        }
        self.waiting.store(true, Ordering::Relaxed);
        match self.handing.try_send(std::mem::take(&mut self.pending)) {
            Ok(()) => {
                self.waiting.store(false, Ordering::Relaxed);
                true
            }
            Err(TrySendError::Full(pending)) => {
                self.pending = pending;
                true
            }
            Err(TrySendError::Closed(_)) => false,
        }
    }
}

/// The reader thread's state.
struct Reading {
    /// Dropped before the consumer whose queues it holds.
    batches: Batches,
    consumer: BaseConsumer<Diagnostics>,
    joining: Arc<Mutex<Vec<Reader>>>,
    wakeup: Arc<Wakeup>,
    stopped: Arc<AtomicBool>,
    readers: HashMap<u64, Reader>,
    /// The readers taking records, by topic and partition.
    read_by: HashMap<String, HashMap<i32, Vec<u64>>>,
    /// The partitions read, by topic, each with the next offset it yields.
    assigned: HashMap<String, HashMap<i32, i64>>,
    /// Whether the last assignment failed (it is tried again).
    unassigned: bool,
}

impl Reading {
    /// Reads until the shared reader is dropped: hands pending deliveries over, reads each
    /// partition from where its readers need, hands each record to them, and sleeps while
    /// nothing comes and nobody has room.
    fn run(&mut self) {
        while !self.stopped.load(Ordering::Relaxed) {
            let joined = std::mem::take(&mut *self.joining.lock());
            let mut changed = !joined.is_empty() || self.unassigned;
            for reader in joined {
                self.readers.insert(reader.id, reader);
            }
            let mut handed = false;
            self.readers.retain(|_, reader| {
                let had = reader.pending.len();
                let live = reader.hand_over();
                changed |= !live;
                handed |= live && had > 0 && reader.pending.is_empty();
                live
            });
            if self
                .readers
                .values()
                .all(|reader| !reader.pending.is_empty())
            {
                // Nobody can take a record: read nothing, and librdkafka keeps what it fetched
                // (setting everyone aside would drop it, to be fetched again).
                if changed {
                    self.reassign();
                }
                if !handed {
                    self.wakeup.wait(IDLE_POLL);
                }
                continue;
            }
            // Those that cannot take more are set aside while the others read on.
            for reader in self.readers.values_mut() {
                let taking = reader.pending.is_empty();
                changed |= taking != reader.taking;
                reader.taking = taking;
            }
            if changed {
                self.reassign();
            }
            let polled = self.poll();
            if polled == 0 && !handed {
                self.wakeup.wait(IDLE_POLL);
            }
        }
    }

    /// Reads each partition some reader takes from the lowest position they need (skipping
    /// none of theirs), if that is not where it is read already.
    fn reassign(&mut self) {
        let mut wanted: HashMap<String, HashMap<i32, i64>> = HashMap::new();
        let mut read_by: HashMap<String, HashMap<i32, Vec<u64>>> = HashMap::new();
        for reader in self.readers.values().filter(|r| r.taking) {
            let positions = wanted.entry(reader.topic.clone()).or_default();
            let readers = read_by.entry(reader.topic.clone()).or_default();
            for (&partition, &next) in &reader.next {
                let lowest = positions.entry(partition).or_insert(next);
                *lowest = (*lowest).min(next);
                readers.entry(partition).or_default().push(reader.id);
            }
        }
        self.read_by = read_by;
        if wanted == self.assigned {
            self.unassigned = false;
            return;
        }
        let mut list = TopicPartitionList::new();
        for (topic, positions) in &wanted {
            for (&partition, &next) in positions {
                if let Err(error) =
                    list.add_partition_offset(topic, partition, Offset::Offset(next))
                {
                    tracing::warn!(%error, topic, partition, "cannot read a partition");
                }
            }
        }
        self.unassigned = match self.consumer.assign(&list) {
            Ok(()) => {
                self.assigned = wanted;
                false
            }
            Err(error) => {
                tracing::warn!(%error, "cannot assign the partitions read; retrying");
                true
            }
        };
    }

    /// Polls up to [`READ_BATCH`] records and hands each to the readers of its partition that
    /// still need it; returns how many were polled. Records come in runs of one partition: its
    /// readers are looked up once a run.
    fn poll(&mut self) -> usize {
        self.batches.serve_events();
        let mut polled = 0;
        let mut run: Option<Run> = None;
        let mut failed = false;
        let batch = self.batches.take(READ_BATCH);
        let taken = batch.len();
        for message in batch {
            let message = match message {
                Ok(message) => message,
                Err(error) => {
                    // One partition's problem: the records after it are read on.
                    tracing::warn!(%error, "reading from Kafka failed; retrying");
                    failed = true;
                    continue;
                }
            };
            polled += 1;
            let raw = message.raw();
            let (partition, offset) = (raw.partition, raw.offset);
            if !run.as_ref().is_some_and(|r| r.of(raw.rkt, partition)) {
                if let Some(ended) = run.take() {
                    read_up_to(&mut self.assigned, &ended);
                }
                run = Some(Run::of_partition(&self.read_by, raw.rkt, partition));
            }
            let run = run.as_mut().expect("started above");
            run.last = offset;
            let mut record = None;
            for (i, id) in run.readers.iter().enumerate() {
                let Some(reader) = self.readers.get_mut(id) else {
                    continue;
                };
                let next = reader.next.entry(partition).or_insert(offset);
                if offset < *next || !reader.taking {
                    continue;
                }
                *next = offset + 1;
                // Decoded once, cloned for all but the last reader.
                let record = match i + 1 == run.readers.len() {
                    true => (record.take()).unwrap_or_else(|| records::decode(raw)),
                    false => (record.get_or_insert_with(|| records::decode(raw))).clone(),
                };
                let record =
                    records::with_stream_content_type(record, reader.content_type.as_ref());
                if reader.pending.len() == reader.pending.capacity() {
                    // Room for the rest of the batch at once, not a reallocation every doubling.
                    reader.pending.reserve(taken + 1 - polled);
                }
                reader.pending.push(Ok(Delivery::Record(record)));
            }
        }
        if let Some(ended) = run {
            read_up_to(&mut self.assigned, &ended);
        }
        if failed {
            // A problem that repeats is not retried in a busy loop.
            std::thread::sleep(Duration::from_millis(500));
        }
        polled
    }
}

/// The partition of `run` was read up to its last record: `assigned` is where each partition is
/// read.
fn read_up_to(assigned: &mut HashMap<String, HashMap<i32, i64>>, run: &Run) {
    if let Some(next) =
        (assigned.get_mut(&run.topic)).and_then(|positions| positions.get_mut(&run.partition))
    {
        *next = run.last + 1;
    }
}

/// Consecutive records of one partition, and its readers.
struct Run {
    /// librdkafka's handle on the topic, the same for all its records.
    handle: *mut rd::rd_kafka_topic_t,
    topic: String,
    partition: i32,
    last: i64,
    readers: Vec<u64>,
}

impl Run {
    /// The readers of `partition` of the topic `handle` names, for a run of its records.
    fn of_partition(
        read_by: &HashMap<String, HashMap<i32, Vec<u64>>>,
        handle: *mut rd::rd_kafka_topic_t,
        partition: i32,
    ) -> Run {
        // SAFETY: librdkafka's name of a topic handle its messages hold.
        let topic = unsafe { CStr::from_ptr(rd::rd_kafka_topic_name(handle)) }.to_string_lossy();
        let readers = (read_by.get(topic.as_ref()))
            .and_then(|partitions| partitions.get(&partition))
            .cloned()
            .unwrap_or_default();
        Run {
            handle,
            topic: topic.into_owned(),
            partition,
            last: -1,
            readers,
        }
    }

    fn of(&self, handle: *mut rd::rd_kafka_topic_t, partition: i32) -> bool {
        self.partition == partition && self.handle == handle
    }
}
