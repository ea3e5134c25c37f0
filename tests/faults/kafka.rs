//! The suite's own Kafka clients, plain rdkafka outside riff: the numbered load, readers of whole
//! topics, and a probe of the processor group's committed positions.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{DeliveryResult, Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, Producer, ProducerContext, ThreadedProducer};
use rdkafka::{ClientConfig, ClientContext, Message, Offset, TopicPartitionList};

/// Partitions of the input and output streams.
pub const PARTITIONS: i32 = 4;
/// Distinct keys of the load: record `n` has key `k{n % KEYS}`, on partition `n % PARTITIONS`
/// (a multiple of the partitions, so that a key stays on one partition).
const KEYS: u64 = 4 * PARTITIONS as u64;

/// How many of the records `0..sent` go to `partition`.
pub fn on_partition(sent: u64, partition: usize) -> u64 {
    (sent + PARTITIONS as u64 - 1 - partition as u64) / PARTITIONS as u64
}

/// Counts the broker's acknowledgements of the load.
#[derive(Default)]
struct Acks {
    acked: AtomicU64,
    failures: Mutex<Vec<String>>,
}

impl ClientContext for Acks {}

impl ProducerContext for Acks {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => _ = self.acked.fetch_add(1, Ordering::Relaxed),
            Err((error, _)) => self.failures.lock().unwrap().push(error.to_string()),
        }
    }
}

/// What the load did.
pub struct Produced {
    /// Records the load was to produce.
    pub records: u64,
    /// Records the broker acknowledged.
    pub acked: u64,
    /// From the first record sent to the last acknowledgement.
    pub took: Duration,
}

/// A sustained, paced, keyed load of numbered records (payload: the number as JSON) on a
/// background thread; stopped when dropped.
pub struct Load {
    records: u64,
    sent: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Result<Produced, String>>>,
}

impl Load {
    /// Starts producing records `0..records` to `topic` at `rate` records a second.
    pub fn start(bootstrap: &str, topic: &str, records: u64, rate: u64) -> Load {
        let producer: ThreadedProducer<Acks> = ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("linger.ms", "5")
            .set("acks", "all")
            // Rides out a broker restart: records wait and are retried, never given up.
            .set("message.timeout.ms", "180000")
            .set("queue.buffering.max.messages", "1000000")
            .create_with_context(Acks::default())
            .expect("a producer");
        let sent = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (counter, stopped, topic) = (sent.clone(), stop.clone(), topic.to_owned());
        let thread = std::thread::spawn(move || {
            let headers = OwnedHeaders::new().insert(Header {
                key: "content-type",
                value: Some("application/json"),
            });
            let start = Instant::now();
            for n in 0..records {
                if stopped.load(Ordering::Relaxed) {
                    return Err("the load was stopped".to_owned());
                }
                if n % 50 == 0 {
                    let due = start + Duration::from_secs_f64(n as f64 / rate as f64);
                    std::thread::sleep(due.saturating_duration_since(Instant::now()));
                }
                let (payload, key) = (n.to_string(), format!("k{}", n % KEYS));
                let mut record = BaseRecord::to(&topic)
                    .payload(&payload)
                    .key(&key)
                    .partition((n % PARTITIONS as u64) as i32)
                    .headers(headers.clone());
                loop {
                    match producer.send(record) {
                        Ok(()) => break,
                        Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                            record = back;
                            std::thread::sleep(Duration::from_millis(5));
                        }
                        Err((error, _)) => return Err(format!("record {n} not sent: {error}")),
                    }
                }
                counter.store(n + 1, Ordering::Relaxed);
            }
            // The last batch was due before the load's full length.
            let end = start + Duration::from_secs_f64(records as f64 / rate as f64);
            std::thread::sleep(end.saturating_duration_since(Instant::now()));
            producer
                .flush(Duration::from_secs(180))
                .map_err(|error| format!("the load was not all acknowledged: {error}"))?;
            let acks = producer.context();
            let failures = acks.failures.lock().unwrap();
            if let Some(first) = failures.first() {
                return Err(format!(
                    "{} records refused, first: {first}",
                    failures.len()
                ));
            }
            Ok(Produced {
                records,
                acked: acks.acked.load(Ordering::Relaxed),
                took: start.elapsed(),
            })
        });
        Load {
            records,
            sent,
            stop,
            thread: Some(thread),
        }
    }

    /// Records handed to the producer so far.
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Whether every record was handed to the producer.
    pub fn all_sent(&self) -> bool {
        self.sent() >= self.records
    }

    /// Waits until `percent` % of the records were handed to the producer.
    pub fn wait_share(&self, percent: u64) {
        self.wait_sent(self.records * percent / 100);
    }

    /// Waits until `count` records were handed to the producer.
    pub fn wait_sent(&self, count: u64) {
        crate::support::eventually(
            format!("{count} records of the load sent"),
            Duration::from_secs(120),
            || (self.sent.load(Ordering::Relaxed) >= count).then_some(()),
        );
    }

    /// Waits until the load was produced and acknowledged.
    pub fn finish(mut self) -> Result<Produced, String> {
        let thread = self.thread.take().expect("finished once");
        thread.join().expect("the load thread does not panic")
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A reader of every partition of a topic from its beginning, outside any group.
pub struct Reader {
    consumer: BaseConsumer,
}

impl Reader {
    pub fn new(bootstrap: &str, topic: &str) -> Reader {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("group.id", format!("faults-{}", uuid::Uuid::new_v4()))
            .set("enable.auto.commit", "false")
            .set("fetch.wait.max.ms", "10")
            .create()
            .expect("a consumer");
        let mut list = TopicPartitionList::new();
        for partition in 0..PARTITIONS {
            list.add_partition_offset(topic, partition, Offset::Beginning)
                .unwrap();
        }
        consumer.assign(&list).expect("partitions assigned");
        Reader { consumer }
    }

    /// The records that arrive within `wait` as `(partition, offset, number)`; it returns as
    /// soon as no more came for 100 ms after some did.
    pub fn poll(&mut self, wait: Duration) -> Vec<(usize, i64, u64)> {
        let deadline = Instant::now() + wait;
        let mut records = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.consumer.poll(left.min(Duration::from_millis(100))) {
                Some(Ok(record)) => {
                    let text = String::from_utf8_lossy(record.payload().unwrap_or_default());
                    let number = text
                        .trim()
                        .parse()
                        .unwrap_or_else(|_| panic!("not a record number: {text:?}"));
                    records.push((record.partition() as usize, record.offset(), number));
                }
                // Not counted, but shown: a reader that errs instead of reading explains a count.
                Some(Err(error)) => eprintln!("faults: reading failed: {error}"),
                None if !records.is_empty() || left.is_zero() => return records,
                None => {}
            }
        }
    }
}

/// Looks up the processor group's committed positions.
///
/// Not the topics' end offsets: tansu 0.6.0 answers ListOffsets `latest` with the base offset of
/// a partition's last record batch plus one, short of the end when that batch holds several
/// records. The suite finds the ends by reading.
pub struct Probe {
    consumer: BaseConsumer,
    input: String,
}

impl Probe {
    /// A probe of `group` on `input`; it never joins the group.
    pub fn new(bootstrap: &str, group: &str, input: &str) -> Probe {
        let consumer = ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .create()
            .expect("a consumer");
        Probe {
            consumer,
            input: input.into(),
        }
    }

    /// The group's next offset to read on each input partition (0 where it committed none), or
    /// `None` if the broker did not answer.
    pub fn committed(&self) -> Option<Vec<i64>> {
        let mut list = TopicPartitionList::new();
        for partition in 0..PARTITIONS {
            list.add_partition(&self.input, partition);
        }
        let committed = self
            .consumer
            .committed_offsets(list, Duration::from_secs(5))
            .ok()?;
        let mut positions = vec![0; PARTITIONS as usize];
        for element in committed.elements() {
            if let Offset::Offset(next) = element.offset() {
                positions[element.partition() as usize] = next;
            }
        }
        Some(positions)
    }
}
