//! Shared reads (`riff local run`'s default): one consumer reads each partition once for every
//! processor of the process, each processor's consumer group keeping its positions.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;
use riff_actors::broker::kafka::{KafkaBroker, KafkaSettings, Reads};
use riff_actors::broker::{Broker, Delivery, OffsetReset, Subscription};
use riff_actors::message::Message;

use crate::kafka_support::*;

/// Records published to topic `t`.
const RECORDS: u64 = 20_000;

/// A broker reading shared on a fresh tansu, with `RECORDS` records on the 2 partitions of `t`
/// (half on each).
async fn shared_broker_with_records(tansu: &Tansu) -> KafkaBroker {
    let mut settings = KafkaSettings::new(tansu.bootstrap());
    settings.reads = Reads::Shared;
    settings.properties = vec![("fetch.wait.max.ms".into(), "10".into())];
    let broker = KafkaBroker::connect(settings).unwrap();
    broker.provision("t", 2, "text/plain").await.unwrap();
    // A batch to each partition.
    for half in [0..RECORDS / 2, RECORDS / 2..RECORDS] {
        let messages = half
            .map(|n| Message::new(n.to_string(), "text/plain"))
            .collect();
        broker.publish_all("t", messages).await.unwrap();
    }
    broker
}

/// Reads `count` records from `subscription` within 60 s: the last offset read of each
/// partition; panics on a record out of order or seen twice, or one of an unassigned partition.
async fn read(subscription: &mut Subscription, count: u64) -> BTreeMap<u32, u64> {
    let mut last: BTreeMap<u32, u64> = BTreeMap::new();
    let mut assigned = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut read = 0;
    while read < count {
        let next = tokio::time::timeout_at(deadline, subscription.deliveries.next()).await;
        match next.expect("records within 60 s").unwrap().unwrap() {
            Delivery::Assigned(partitions) => assigned = partitions,
            Delivery::Revoked(partitions) => panic!("revoked {partitions:?}: nothing else reads"),
            Delivery::Record(record) => {
                assert!(assigned.contains(&record.partition), "{assigned:?}");
                let expected = last.get(&record.partition).map_or(0, |offset| offset + 1);
                assert_eq!(
                    record.offset, expected,
                    "partition {} read in order, each record once",
                    record.partition
                );
                last.insert(record.partition, record.offset);
                read += 1;
            }
        }
    }
    last
}

#[tokio::test(flavor = "multi_thread")]
async fn a_processor_taking_nothing_holds_back_no_other_and_later_reads_every_record_once() {
    let tansu = Tansu::memory();
    let broker = shared_broker_with_records(&tansu).await;
    let mut stuck = broker
        .subscribe_keeping("t", "stuck", OffsetReset::Earliest)
        .await
        .unwrap();
    let mut reading = broker
        .subscribe_keeping("t", "reading", OffsetReset::Earliest)
        .await
        .unwrap();

    // `stuck` takes nothing until `reading` has every record: far more than its read-ahead.
    let read_by_reading = read(&mut reading, RECORDS).await;
    let read_by_stuck = read(&mut stuck, RECORDS).await;
    assert_eq!(read_by_stuck, read_by_reading);

    // Each group's positions are its own, committed from outside the group.
    let positions: Vec<(u32, u64)> = read_by_stuck.into_iter().collect();
    stuck.committer.commit(&positions).await.unwrap();
    reading.committer.commit(&[(0, 9), (1, 19)]).await.unwrap();
    assert_eq!(
        broker.committed("t", "stuck").await.unwrap(),
        positions.into_iter().collect()
    );
    assert_eq!(
        broker.committed("t", "reading").await.unwrap(),
        BTreeMap::from([(0, 9), (1, 19)])
    );

    // A new subscription of a group reads on from its committed positions.
    drop(reading);
    let mut again = broker
        .subscribe_keeping("t", "reading", OffsetReset::Earliest)
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut first = BTreeMap::new();
    while first.len() < 2 {
        let next = tokio::time::timeout_at(deadline, again.deliveries.next()).await;
        if let Delivery::Record(record) = next.expect("records within 30 s").unwrap().unwrap() {
            first.entry(record.partition).or_insert(record.offset);
        }
    }
    assert_eq!(first, BTreeMap::from([(0, 10), (1, 20)]));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_group_without_positions_reading_from_latest_has_its_start_committed() {
    let tansu = Tansu::memory();
    let broker = shared_broker_with_records(&tansu).await;
    let ends = broker.end_offsets("t").await.unwrap();
    let _latest = broker
        .subscribe_keeping("t", "latest", OffsetReset::Latest)
        .await
        .unwrap();
    assert_eq!(broker.committed("t", "latest").await.unwrap(), ends);
}
