//! The test broker fetches as Kafka does where riff depends on it. riff commits the position
//! after each window, which may fall inside a record batch, so a consumer resuming from a
//! committed position fetches from inside a batch. tansu 0.6.0 mishandled such fetches
//! (tests/tansu/install.sh patches it; its notes say how): these fail on a stock tansu.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::util::Timeout;
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

use crate::kafka_support::Tansu;
use crate::support::eventually;

const TOPIC: &str = "batched";

/// A one-partition topic on a fresh memory broker, and a producer of record batches to it.
struct Batched {
    tansu: Tansu,
    producer: ThreadedProducer<DefaultProducerContext>,
}

impl Batched {
    fn new() -> Batched {
        let tansu = Tansu::memory();
        create_topic(&tansu);
        // It lingers longer than it takes to hand over a batch's records; a flush sends them.
        let producer = config(&tansu, &[("linger.ms", "100")]).create().unwrap();
        Batched { tansu, producer }
    }

    /// Appends one batch of `records` records of 50 bytes.
    fn batch(&self, records: usize) {
        let payload = "x".repeat(50);
        for _ in 0..records {
            let record = BaseRecord::<(), str>::to(TOPIC)
                .payload(&payload)
                .partition(0);
            self.producer
                .send(record)
                .map_err(|(error, _)| error)
                .unwrap();
        }
        self.producer
            .flush(Timeout::After(Duration::from_secs(10)))
            .unwrap();
    }

    /// The offsets a consumer configured with `extra` reads from `start`, until `count` came.
    fn read(&self, start: i64, count: usize, extra: &[(&str, &str)]) -> Vec<i64> {
        let mut extra = extra.to_vec();
        extra.extend([("group.id", "inside"), ("fetch.wait.max.ms", "10")]);
        let consumer: BaseConsumer = config(&self.tansu, &extra).create().unwrap();
        let mut list = TopicPartitionList::new();
        list.add_partition_offset(TOPIC, 0, Offset::Offset(start))
            .unwrap();
        consumer.assign(&list).unwrap();
        let mut offsets = Vec::new();
        eventually(
            format!("{count} records read from offset {start}"),
            Duration::from_secs(20),
            || {
                if let Some(Ok(record)) = consumer.poll(Duration::from_millis(100)) {
                    offsets.push(record.offset());
                }
                (offsets.len() >= count).then_some(())
            },
        );
        offsets
    }
}

/// Creates the one-partition topic.
fn create_topic(tansu: &Tansu) {
    let admin: AdminClient<_> = config(tansu, &[]).create().unwrap();
    let topic = NewTopic::new(TOPIC, 1, TopicReplication::Fixed(1));
    let created = admin.create_topics([&topic], &AdminOptions::new());
    for result in futures::executor::block_on(created).unwrap() {
        result.unwrap();
    }
}

fn config(tansu: &Tansu, extra: &[(&str, &str)]) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", tansu.bootstrap());
    for (key, value) in extra {
        config.set(*key, *value);
    }
    config
}

/// Kafka answers a fetch from inside a batch with that whole batch, and the client skips the
/// records before its offset; tansu answered from the next batch on.
#[test]
fn serves_a_fetch_that_starts_inside_a_batch() {
    let batched = Batched::new();
    batched.batch(10);
    assert_eq!(batched.read(5, 5, &[]), vec![5, 6, 7, 8, 9]);
}

/// tansu answers a fetch in rounds of storage reads; after a fetch from inside a batch it began
/// the next round at an offset counted past the end of the first round, skipping batches. A
/// storage read stops at the fetch's byte limit, so a small limit makes that next round happen
/// (under load, batches arriving between rounds did: the faults suite lost one batch).
#[test]
fn skips_no_batch_after_a_fetch_from_inside_a_batch() {
    let batched = Batched::new();
    batched.batch(20);
    for _ in 0..30 {
        batched.batch(1);
    }
    let small = [("fetch.max.bytes", "1500"), ("message.max.bytes", "1000")];
    assert_eq!(batched.read(19, 31, &small), (19..50).collect::<Vec<_>>());
}

/// The patched engine reads a partition's batches from an index rather than listing them on each
/// fetch; a topic deleted and created again starts a new index (a stale one would point at the
/// batches of the deleted topic: the fetch fails or serves them).
#[test]
fn reads_a_topic_created_again_after_its_deletion_from_its_new_batches() {
    let batched = Batched::new();
    batched.batch(10);
    batched.batch(5);
    assert_eq!(batched.read(0, 15, &[]), (0..15).collect::<Vec<_>>());

    let admin: AdminClient<_> = config(&batched.tansu, &[]).create().unwrap();
    let deleted = admin.delete_topics(&[TOPIC], &AdminOptions::new());
    for result in futures::executor::block_on(deleted).unwrap() {
        result.unwrap();
    }
    create_topic(&batched.tansu);
    batched.batch(12);
    assert_eq!(batched.read(0, 12, &[]), (0..12).collect::<Vec<_>>());
}
