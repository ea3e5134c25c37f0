//! The Kafka baseline: the best plain rdkafka consume→produce copy we could write, outside
//! riff's code, run as a process of its own (`riff-bench plain-copy …`) so that its CPU time
//! and memory are its own. One thread: a `BaseConsumer` assigned every partition polls records,
//! a `ThreadedProducer` sends each to the same partition of the output (keeping per-partition
//! order). At-least-once: only positions whose outputs were acknowledged are committed, either
//! after a flush of the producer ([`Commit::Flush`]) or, without stopping the copy, as the
//! producer's delivery callback reports them ([`Commit::Acked`]). It writes each input record's
//! headers, and with [`Headers::CloudEvents`] riff's CloudEvent attributes too (like for like).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::ValueEnum;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, Headers as _, Message as _, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{ClientConfig, ClientContext, Offset, TopicPartitionList};

/// The consumer's librdkafka settings.
pub const CONSUMER: [(&str, &str); 5] = [
    ("enable.auto.commit", "false"),
    ("auto.offset.reset", "earliest"),
    ("fetch.wait.max.ms", "5"),
    ("fetch.queue.backoff.ms", "10"),
    ("queued.max.messages.kbytes", "65536"),
];

/// The producer's librdkafka settings.
pub const PRODUCER: [(&str, &str); 4] = [
    ("acks", "all"),
    ("linger.ms", "5"),
    ("batch.num.messages", "10000"),
    ("queue.buffering.max.messages", "1000000"),
];

/// The headers the copy writes on each record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Headers {
    /// The input record's, as they are (the baseline).
    AsRead,
    /// Those and the CloudEvent attributes riff writes beside `content-type` (the CloudEvents
    /// Kafka binding, binary mode): [`CLOUD_EVENT_HEADERS`] and a fresh `ce_id` per record,
    /// shaped like riff's (a 32-digit hex prefix, a dash, a counter).
    CloudEvents,
}

impl Headers {
    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Headers::AsRead => "as-read",
            Headers::CloudEvents => "cloud-events",
        }
    }
}

/// The constant CloudEvent attributes of [`Headers::CloudEvents`].
pub const CLOUD_EVENT_HEADERS: [(&str, &str); 3] = [
    ("ce_specversion", "1.0"),
    ("ce_type", "riff-event"),
    ("ce_source", "riff-streaming"),
];

/// How often consumed positions are committed.
pub const COMMIT_EVERY: Duration = Duration::from_millis(500);

/// When positions are committed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Commit {
    /// Every [`COMMIT_EVERY`]: flush the producer, check every delivery, commit what was
    /// consumed (synchronously). The copy stops while the producer flushes.
    Flush,
    /// Every [`COMMIT_EVERY`]: commit (asynchronously) the positions whose outputs the delivery
    /// callback reported acknowledged (per partition they arrive in order); the copy never stops.
    Acked,
}

impl Commit {
    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Commit::Flush => "flush",
            Commit::Acked => "acked",
        }
    }

    fn describe(self) -> String {
        let every = COMMIT_EVERY.as_millis();
        match self {
            Commit::Flush => format!(
                "`flush`: every {every} ms flush the producer, check every delivery, commit the \
                 consumed positions (sync)"
            ),
            Commit::Acked => format!(
                "`acked`: every {every} ms commit (async) the positions whose outputs the \
                 delivery callback reported acknowledged (no flush: the copy never stops)"
            ),
        }
    }
}

/// The settings, as one line for the report, with the commit modes measured (the best of
/// them is the baseline).
pub fn settings(modes: &[Commit]) -> String {
    let list = |settings: &[(&str, &str)]| {
        settings
            .iter()
            .map(|(k, v)| format!("`{k}={v}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let modes: Vec<String> = modes.iter().map(|m| m.describe()).collect();
    format!(
        "one thread; `BaseConsumer` assigned every partition ({}); `ThreadedProducer` with a \
         delivery callback, each record to the same partition of the output with the input's \
         headers (one like-for-like figure adds riff's CloudEvent attributes: \
         `--headers cloud-events`) ({}); commits, \
         measured each way, the best one is the baseline (`--plain-copy-commit` picks one): {}; \
         at the end: flush, then commit (sync)",
        list(&CONSUMER),
        list(&PRODUCER),
        modes.join("; ")
    )
}

/// Failed deliveries, and per input partition the highest input offset whose output was
/// acknowledged.
struct Deliveries {
    failed: AtomicUsize,
    acked: Vec<AtomicI64>,
}

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    /// The input position: `offset << 16 | partition`.
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, position: usize) {
        if result.is_err() {
            self.failed.fetch_add(1, Ordering::Relaxed);
        } else {
            let partition = position & 0xffff;
            self.acked[partition].fetch_max((position >> 16) as i64, Ordering::Relaxed);
        }
    }
}

/// Copies `count` records from the `partitions` partitions of `input` to `output`, writing
/// `written` headers, committing as group `group` the `mode` way. Prints `reading` when it
/// starts polling and `copied <n>` at the end, then waits until its standard input closes.
pub fn run(
    bootstrap: &str,
    input: &str,
    output: &str,
    partitions: i32,
    group: &str,
    count: usize,
    (mode, written): (Commit, Headers),
) {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group);
    for (key, value) in CONSUMER {
        config.set(key, value);
    }
    let consumer: BaseConsumer = config.create().expect("a consumer");
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", bootstrap);
    for (key, value) in PRODUCER {
        config.set(key, value);
    }
    let deliveries = Deliveries {
        failed: AtomicUsize::new(0),
        acked: (0..partitions).map(|_| AtomicI64::new(-1)).collect(),
    };
    let producer: ThreadedProducer<Deliveries> =
        config.create_with_context(deliveries).expect("a producer");

    let mut assignment = TopicPartitionList::new();
    for partition in 0..partitions {
        assignment
            .add_partition_offset(input, partition, Offset::Beginning)
            .unwrap();
    }
    consumer
        .assign(&assignment)
        .expect("the partitions are assigned");
    // Ready to write before reading: the output's metadata is known.
    producer
        .client()
        .fetch_metadata(Some(output), Duration::from_secs(10))
        .expect("the output topic's metadata");
    // The bench may have stopped reading: a closed pipe is no failure.
    _ = writeln!(std::io::stdout(), "reading");
    _ = std::io::stdout().flush();

    let mut event_ids = EventIds::new();
    let mut consumed: BTreeMap<i32, i64> = BTreeMap::new();
    let mut copied = 0;
    let mut last_commit = Instant::now();
    let check = || {
        let failed = producer.context().failed.load(Ordering::Relaxed);
        assert_eq!(failed, 0, "{failed} deliveries failed");
    };
    let commit = |positions: &mut dyn Iterator<Item = (i32, i64)>, mode: CommitMode| {
        let mut list = TopicPartitionList::new();
        for (partition, offset) in positions {
            list.add_partition_offset(input, partition, Offset::Offset(offset + 1))
                .unwrap();
        }
        if list.count() > 0 {
            consumer
                .commit(&list, mode)
                .expect("the positions are committed");
        }
    };
    // Every output acknowledged, then every consumed position committed.
    let flush_and_commit = |consumed: &BTreeMap<i32, i64>| {
        producer
            .flush(Duration::from_secs(60))
            .expect("the producer flushes");
        check();
        commit(
            &mut consumed.iter().map(|(p, o)| (*p, *o)),
            CommitMode::Sync,
        );
    };
    while copied < count {
        if let Some(message) = consumer.poll(Duration::from_millis(100)) {
            let message = message.expect("a record");
            let position = (message.offset() as usize) << 16 | message.partition() as usize;
            let mut record = BaseRecord::<[u8], [u8], usize>::with_opaque_to(output, position)
                .partition(message.partition());
            if let Some(payload) = message.payload() {
                record = record.payload(payload);
            }
            if let Some(key) = message.key() {
                record = record.key(key);
            }
            let read = message.headers();
            let headers = match written {
                Headers::AsRead => read.map(|read| read.detach()),
                Headers::CloudEvents => {
                    // One list sized for every header (a copy of the input's would grow twice).
                    let count = read.map_or(0, |read| read.count());
                    let mut list = OwnedHeaders::new_with_capacity(count + 4);
                    for header in read.into_iter().flat_map(|read| read.iter()) {
                        list = list.insert(header);
                    }
                    for (key, value) in CLOUD_EVENT_HEADERS {
                        list = list.insert(Header {
                            key,
                            value: Some(value),
                        });
                    }
                    let value = Some(event_ids.next());
                    Some(list.insert(Header {
                        key: "ce_id",
                        value,
                    }))
                }
            };
            if let Some(headers) = headers {
                record = record.headers(headers);
            }
            loop {
                match producer.send(record) {
                    Ok(()) => break,
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                        record = back;
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    Err((error, _)) => panic!("cannot produce: {error}"),
                }
            }
            consumed.insert(message.partition(), message.offset());
            copied += 1;
        }
        if last_commit.elapsed() >= COMMIT_EVERY {
            match mode {
                Commit::Flush => flush_and_commit(&consumed),
                Commit::Acked => {
                    check();
                    let acked = &producer.context().acked;
                    let mut positions = (0..partitions)
                        .map(|p| (p, acked[p as usize].load(Ordering::Relaxed)))
                        .filter(|(_, offset)| *offset >= 0);
                    commit(&mut positions, CommitMode::Async);
                }
            }
            last_commit = Instant::now();
        }
    }
    flush_and_commit(&consumed);
    _ = writeln!(std::io::stdout(), "copied {copied}");
    // Stays until the bench is done measuring this process (it closes stdin or kills it).
    _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
}

/// Event ids shaped like riff's, without a random draw: the process id and the start time as
/// the 32-digit hex prefix, then a counter.
struct EventIds {
    id: String,
    prefix: usize,
    next: u64,
}

impl EventIds {
    fn new() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos());
        let id = format!("{:032x}-", nanos ^ (u128::from(std::process::id()) << 96));
        let prefix = id.len();
        EventIds {
            id,
            prefix,
            next: 0,
        }
    }

    /// The next id (in a buffer reused for every id).
    fn next(&mut self) -> &str {
        use std::fmt::Write as _;
        self.id.truncate(self.prefix);
        _ = write!(self.id, "{}", self.next);
        self.next += 1;
        &self.id
    }
}
