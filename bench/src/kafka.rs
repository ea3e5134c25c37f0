//! Kafka for the benchmarks, through plain rdkafka clients (none of riff's code): a tansu broker
//! child process, topics, preloading, watching a group's commits, exact verification of an
//! output topic, paced stamped producing and latency reading, and a flooding producer.

use std::path::Path;
use std::process::{Command, Stdio};

use riff_testkit::Child;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, Message as _, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use crate::function::wait_for_port;
use crate::measure::{field, free_port, json_payload, now_ns, stamped_payload, Tally};

/// A tansu broker (memory engine) on a free loopback port, killed when dropped.
pub struct Tansu {
    child: Child,
    /// `127.0.0.1:<port>`.
    pub bootstrap: String,
}

impl Tansu {
    /// Starts `binary broker` on a free port.
    pub fn start(binary: &Path) -> Tansu {
        let port = free_port();
        let url = format!("tcp://127.0.0.1:{port}");
        let child = Command::new(binary)
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
            ])
            .args(["--storage-engine", "memory://tansu/"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", binary.display()));
        wait_for_port(port);
        Tansu {
            child: child.into(),
            bootstrap: format!("127.0.0.1:{port}"),
        }
    }
}

impl Tansu {
    /// The broker's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

const TIMEOUT: Duration = Duration::from_secs(10);

/// Creates `topic` with `partitions` partitions.
pub fn create_topic(bootstrap: &str, topic: &str, partitions: i32) -> anyhow::Result<()> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()?;
    let topics = [NewTopic::new(topic, partitions, TopicReplication::Fixed(1))];
    let results = futures::executor::block_on(admin.create_topics(&topics, &AdminOptions::new()))?;
    for result in results {
        result.map_err(|(topic, code)| anyhow::anyhow!("cannot create {topic}: {code}"))?;
    }
    Ok(())
}

fn producer(bootstrap: &str, linger_ms: &str) -> ThreadedProducer<DefaultProducerContext> {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", linger_ms)
        .set("batch.num.messages", "10000")
        .set("queue.buffering.max.messages", "1000000")
        .set("acks", "all")
        .create()
        .expect("a producer")
}

fn content_type() -> OwnedHeaders {
    OwnedHeaders::new().insert(Header {
        key: "content-type",
        value: Some("application/json"),
    })
}

/// Sends `payload` to `partition` of `topic`, waiting while librdkafka's queue is full.
fn send(
    producer: &ThreadedProducer<DefaultProducerContext>,
    topic: &str,
    partition: Option<i32>,
    payload: &[u8],
) {
    send_event(producer, topic, partition, None, payload);
}

/// [`send`] with a key and the Kafka timestamp (its event time), when given.
fn send_event(
    producer: &ThreadedProducer<DefaultProducerContext>,
    topic: &str,
    partition: Option<i32>,
    event: Option<(&[u8], i64)>,
    payload: &[u8],
) {
    let mut record = BaseRecord::<[u8], [u8]>::to(topic)
        .payload(payload)
        .headers(content_type());
    if let Some(partition) = partition {
        record = record.partition(partition);
    }
    if let Some((key, timestamp)) = event {
        record = record.key(key).timestamp(timestamp);
    }
    loop {
        match producer.send(record) {
            Ok(()) => return,
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                record = back;
                std::thread::sleep(Duration::from_millis(1));
            }
            Err((error, _)) => panic!("cannot produce to {topic}: {error}"),
        }
    }
}

/// Produces records `0..count` of `size` bytes ([`json_payload`], header `content-type:
/// application/json`), record `i` to partition `i % partitions`, and waits until all are
/// acknowledged.
pub fn preload(bootstrap: &str, topic: &str, partitions: i32, count: usize, size: usize) {
    let producer = producer(bootstrap, "5");
    for i in 0..count {
        let partition = (i % partitions as usize) as i32;
        send(&producer, topic, Some(partition), &json_payload(i, size));
    }
    producer
        .flush(Duration::from_secs(120))
        .expect("the preload is acknowledged");
}

/// The payload of the records that close the event-time windows of a preload.
pub const CLOSER: &[u8] = b"{\"closer\": true}";

/// [`preload`] with keys and event times: record `i` is keyed `i % keys` and happened `i`
/// × `spacing_us` µs after `base_ms`. Then, when `closing`, one record (not a payload of the
/// preload) per partition an hour after the last, which moves the watermark past every window.
pub fn preload_events(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    count: usize,
    (keys, spacing_us, base_ms): (usize, u64, i64),
    closing: bool,
) {
    let producer = producer(bootstrap, "5");
    let time = |i: usize| base_ms + (i as u64 * spacing_us / 1000) as i64;
    for i in 0..count {
        let partition = (i % partitions as usize) as i32;
        let key = (i % keys).to_string();
        let payload = json_payload(i, super::scenarios::SIZE);
        send_event(
            &producer,
            topic,
            Some(partition),
            Some((key.as_bytes(), time(i))),
            &payload,
        );
    }
    for partition in (0..partitions).filter(|_| closing) {
        let later: (&[u8], i64) = (b"closer", time(count) + 3_600_000);
        send_event(&producer, topic, Some(partition), Some(later), CLOSER);
    }
    producer
        .flush(Duration::from_secs(120))
        .expect("the preload is acknowledged");
}

/// Produces the numbers `1..=count` (JSON, header `content-type: application/json`) to
/// partition 0 of `topic`, and waits until all are acknowledged.
pub fn preload_numbers(bootstrap: &str, topic: &str, count: usize) {
    let producer = producer(bootstrap, "5");
    for i in 1..=count {
        send(&producer, topic, Some(0), i.to_string().as_bytes());
    }
    producer
        .flush(Duration::from_secs(120))
        .expect("the preload is acknowledged");
}

/// The payloads of the `partitions` partitions of `topic`, read from the beginning until
/// `count` arrived and nothing more came for a second; fails after `limit`.
pub fn read_payloads(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    count: usize,
    limit: Duration,
) -> anyhow::Result<Vec<Vec<u8>>> {
    let consumer = from_beginning(bootstrap, &format!("bench-read-{topic}"), topic, partitions)?;
    let deadline = Instant::now() + limit;
    let (mut payloads, mut last) = (Vec::with_capacity(count), Instant::now());
    while payloads.len() < count || last.elapsed() < Duration::from_secs(1) {
        if Instant::now() > deadline {
            bail!("{topic}: read {} of {count} records", payloads.len());
        }
        if let Some(message) = consumer.poll(Duration::from_millis(100)) {
            let message = message.context("reading back")?;
            payloads.push(message.payload().unwrap_or_default().to_vec());
            last = Instant::now();
        }
    }
    Ok(payloads)
}

fn reader(bootstrap: &str, group: &str) -> BaseConsumer {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "5")
        .set("fetch.queue.backoff.ms", "10")
        .create()
        .expect("a consumer")
}

/// A reader (group `group`) assigned every partition of `topic` from its beginning.
fn from_beginning(
    bootstrap: &str,
    group: &str,
    topic: &str,
    partitions: i32,
) -> anyhow::Result<BaseConsumer> {
    let consumer = reader(bootstrap, group);
    let mut list = TopicPartitionList::new();
    for partition in 0..partitions {
        list.add_partition_offset(topic, partition, Offset::Beginning)?;
    }
    consumer.assign(&list)?;
    Ok(consumer)
}

/// The end offsets (next offset) of each partition of a fresh topic after [`preload`]: computed,
/// not asked (tansu 0.6.0 answers a high watermark with the last batch's base offset + 1).
pub fn preloaded_ends(count: usize, partitions: i32) -> Vec<i64> {
    let partitions = partitions as usize;
    (0..partitions)
        .map(|p| (count / partitions + usize::from(p < count % partitions)) as i64)
        .collect()
}

/// Watches the committed positions of a consumer group on a topic.
pub struct Commits {
    consumer: BaseConsumer,
    list: TopicPartitionList,
}

impl Commits {
    /// Watches `group` on the `partitions` partitions of `topic`.
    pub fn new(bootstrap: &str, topic: &str, group: &str, partitions: i32) -> Commits {
        let mut list = TopicPartitionList::new();
        for partition in 0..partitions {
            list.add_partition(topic, partition);
        }
        Commits {
            consumer: reader(bootstrap, group),
            list,
        }
    }

    /// The committed next offset of each partition (0 where none).
    pub fn committed(&self) -> Vec<i64> {
        match self.consumer.committed_offsets(self.list.clone(), TIMEOUT) {
            Ok(list) => list
                .elements()
                .iter()
                .map(|e| match e.offset() {
                    Offset::Offset(o) => o,
                    _ => 0,
                })
                .collect(),
            Err(_) => vec![0; self.list.count()],
        }
    }

    /// Waits until every partition's committed offset reaches `ends`; fails when the commits
    /// made no progress for `stall`. Returns when it saw them there.
    pub fn wait_for(&self, ends: &[i64], stall: Duration) -> anyhow::Result<Instant> {
        let total: i64 = ends.iter().sum();
        let mut progress = (0, Instant::now());
        loop {
            let committed = self.committed();
            if committed.iter().zip(ends).all(|(c, e)| c >= e) {
                return Ok(Instant::now());
            }
            let sum: i64 = committed.iter().sum();
            if sum > progress.0 {
                progress = (sum, Instant::now());
            } else if progress.1.elapsed() > stall {
                bail!(
                    "the group committed {sum} of {total} records and made no progress for {} s",
                    stall.as_secs()
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// Reads the `partitions` partitions of `topic` from the beginning into a tally of `count`
/// records of `size` bytes: until every record was seen and nothing more came for a second
/// (duplicates), or nothing came for [`IDLE`] (missing records); fails after `limit`.
pub fn verify(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    count: usize,
    size: usize,
    limit: Duration,
) -> anyhow::Result<Tally> {
    let mut tally = Tally::new(count, size);
    let consumer = from_beginning(bootstrap, "bench-verify", topic, partitions)?;
    let deadline = Instant::now() + limit;
    let mut last = Instant::now();
    loop {
        let idle = if tally.missing() == 0 {
            Duration::from_secs(1)
        } else {
            IDLE
        };
        if last.elapsed() > idle {
            return Ok(tally);
        }
        if Instant::now() > deadline {
            bail!(
                "{topic}: read {} records in {} s, still reading",
                tally.records,
                limit.as_secs()
            );
        }
        if let Some(message) = consumer.poll(Duration::from_millis(100)) {
            let message = message.context("reading the output")?;
            tally.add(message.payload().unwrap_or_default());
            last = Instant::now();
        }
    }
}

/// How long reading an output back waits for missing records.
pub const IDLE: Duration = Duration::from_secs(10);

/// Produces `count` stamped 100-byte records ([`stamped_payload`]) to `topic` at `rate` per
/// second, without batching delays (`linger.ms=0`).
pub fn paced(bootstrap: &str, topic: &str, count: usize, rate: f64) {
    let producer = producer(bootstrap, "0");
    let start = Instant::now();
    for i in 0..count {
        let due = start + Duration::from_secs_f64(i as f64 / rate);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        send(&producer, topic, None, &stamped_payload(i, 100));
    }
    producer
        .flush(Duration::from_secs(60))
        .expect("the paced records are acknowledged");
}

/// Reads `count` stamped records from the `partitions` partitions of `topic` (assigned from
/// the beginning) and returns each one's number and latency: its arrival minus its stamp.
/// Fails after `limit`.
pub fn latencies(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    count: usize,
    limit: Duration,
) -> anyhow::Result<Vec<(u64, Duration)>> {
    let consumer = from_beginning(bootstrap, "bench-latency", topic, partitions)?;
    let deadline = Instant::now() + limit;
    let mut latencies = Vec::with_capacity(count);
    while latencies.len() < count {
        if Instant::now() > deadline {
            bail!(
                "{topic}: {} of {count} stamped records arrived",
                latencies.len()
            );
        }
        if let Some(message) = consumer.poll(Duration::from_millis(100)) {
            let message = message.context("reading the output")?;
            let payload = message.payload().unwrap_or_default();
            if let (Some(n), Some(sent)) = (field(payload, "n"), field(payload, "t")) {
                latencies.push((n, Duration::from_nanos(now_ns().saturating_sub(sent))));
            }
        }
    }
    Ok(latencies)
}

/// Produces 100-byte JSON records to `topic` as fast as the broker takes them, for `duration`.
pub fn flood(bootstrap: &str, topic: &str, duration: Duration) {
    let producer = producer(bootstrap, "5");
    let end = Instant::now() + duration;
    let mut i = 0;
    while Instant::now() < end {
        send(&producer, topic, None, &json_payload(i, 100));
        i += 1;
    }
    _ = producer.flush(Duration::from_secs(10));
}
