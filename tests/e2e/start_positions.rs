//! Where reading starts and resumes on Kafka: `latest` is pinned when a partition is first
//! assigned, `running` means assigned, and a subscription's rebalances and records come in one
//! order. Each test failed before its hole was closed.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use riff_actors::broker::kafka::{KafkaBroker, KafkaSettings};
use riff_actors::broker::{Broker, Delivery, OffsetReset};

use crate::kafka_support::*;
use crate::support::{Manifests, Runtime};

/// A processor reading `numbers` from `latest` (the default) and answering each window of
/// 20 records (closed by count only) with the array of its payloads (`window-contents`).
fn windows_of_20_from_latest(tansu: &Tansu) -> Manifests {
    let yaml = squarer_on_kafka(&tansu.bootstrap(), 1, "window-contents", "{count: 20}");
    let latest = yaml.replace(
        "{stream: numbers, startOffset: earliest}",
        "{stream: numbers}",
    );
    assert_ne!(yaml, latest);
    Manifests::new(&[("all.yaml", &latest)])
}

// Holes 2 and 3: `running` came before the group was assigned (records published right after
// it were skipped), and a restart before the first commit started again at the new end.
#[tokio::test(flavor = "multi_thread")]
async fn latest_reads_what_was_published_after_running_even_across_a_kill_before_any_commit() {
    let tansu = Tansu::memory();
    let manifests = windows_of_20_from_latest(&tansu);
    let kafka = Plain::new(&tansu.bootstrap());
    let mut runtime = Runtime::start_with(&[manifests.path()], &tansu_args());
    kafka.produce_numbers("default_numbers", 1..=10).await;
    // Ten records cannot close a window of 20: killed with nothing published nor committed
    // but the start, whenever the kill lands.
    runtime.kill();

    let _runtime = Runtime::start_with(&[manifests.path()], &tansu_args());
    kafka.produce_numbers("default_numbers", 11..=20).await;
    let windows = kafka
        .read("default_squares", 1, Duration::from_secs(40))
        .await;
    let mut numbers: Vec<u64> = serde_json::from_str::<Vec<String>>(&windows[0].value)
        .unwrap()
        .iter()
        .map(|n| n.trim().parse().unwrap())
        .collect();
    numbers.sort_unstable();
    let expected: Vec<u64> = (1..=20).collect();
    assert_eq!(
        (windows.len(), numbers),
        (1, expected),
        "one window of each number once: no loss, no repeat"
    );
}

/// A Kafka broker on a fresh tansu (2 s sessions), with topic `t` of 4 partitions and a task
/// publishing the numbers 0 to 2999 to it, 100 every 50 ms.
async fn publishing_3000() -> (Tansu, Arc<KafkaBroker>, tokio::task::JoinHandle<()>) {
    let tansu = Tansu::memory();
    let mut settings = KafkaSettings::new(tansu.bootstrap());
    settings.properties = vec![
        ("session.timeout.ms".into(), "2000".into()),
        ("heartbeat.interval.ms".into(), "500".into()),
    ];
    let broker = Arc::new(KafkaBroker::connect(settings).unwrap());
    broker.provision("t", 4, "text/plain").await.unwrap();
    let producing = {
        let broker = broker.clone();
        tokio::spawn(async move {
            for n in 0..3000u32 {
                let message = riff_actors::message::Message::new(n.to_string(), "text/plain");
                broker.publish("t", message).await.unwrap();
                if n % 100 == 0 {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        })
    };
    (tansu, broker, producing)
}

// Hole 4: rebalance events raced records, so a record could come for a partition whose
// assignment had not been delivered yet (and the gateway dropped it).
#[tokio::test(flavor = "multi_thread")]
async fn a_kafka_subscription_delivers_records_only_of_partitions_it_was_told_are_assigned() {
    let (_tansu, broker, producing) = publishing_3000().await;
    let mut first = broker
        .subscribe("t", "g", OffsetReset::Earliest)
        .await
        .unwrap();
    let mut second = None;
    let mut assigned = BTreeSet::new();
    let (mut records, mut revocations) = (0, 0);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    while revocations < 2 || records < 3000 {
        let next = tokio::time::timeout_at(deadline, first.deliveries.next()).await;
        match next.expect("deliveries within 40 s").unwrap().unwrap() {
            Delivery::Assigned(partitions) => assigned.extend(partitions),
            Delivery::Revoked(partitions) => {
                revocations += 1;
                partitions.iter().for_each(|p| _ = assigned.remove(p));
            }
            Delivery::Record(record) => {
                assert!(
                    assigned.contains(&record.partition),
                    "record {}/{} before its partition's assignment ({assigned:?})",
                    record.partition,
                    record.offset
                );
                records += 1;
                // A second member joins, then leaves: two rebalances while records flow.
                if records == 500 {
                    second = Some(broker.subscribe("t", "g", OffsetReset::Earliest).await);
                }
                if records == 1500 {
                    second = None;
                }
            }
        }
    }
    drop(second);
    producing.await.unwrap();
}

// Every rebalance of the eager protocol revokes all of a member's partitions and assigns them
// again: each one a processor got back was read again from the last commit, so every record
// read since then came twice (its window still held it, and committed it).
#[tokio::test(flavor = "multi_thread")]
async fn a_member_given_back_its_partitions_reads_on_from_where_it_stopped() {
    let (_tansu, broker, producing) = publishing_3000().await;
    // Nothing is committed but the start positions; the test keeps what it reads.
    let mut first = broker
        .subscribe_keeping("t", "g", OffsetReset::Earliest)
        .await
        .unwrap();
    let mut second = None;
    // The last offset delivered of each partition, and the partitions of the last revocation.
    let mut last = std::collections::BTreeMap::<u32, u64>::new();
    let (mut revoked, mut kept) = (BTreeSet::new(), BTreeSet::new());
    let (mut values, mut revocations, mut given_back) = (BTreeSet::new(), 0, 0);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    while revocations < 2 || values.len() < 3000 {
        let next = tokio::time::timeout_at(deadline, first.deliveries.next()).await;
        match next.expect("deliveries within 40 s").unwrap().unwrap() {
            Delivery::Revoked(partitions) => {
                revocations += 1;
                revoked = partitions.into_iter().collect();
            }
            Delivery::Assigned(partitions) => {
                // Held right before the assignment: read on; otherwise another member may have
                // read it meanwhile, and it starts from the committed position.
                let revoked = std::mem::take(&mut revoked);
                kept = (partitions.into_iter())
                    .filter(|p| revoked.contains(p))
                    .collect();
                given_back += kept.len();
            }
            Delivery::Record(record) => {
                let previous = last.insert(record.partition, record.offset);
                if let (true, Some(previous)) = (kept.contains(&record.partition), previous) {
                    assert!(
                        record.offset > previous,
                        "partition {} read again from {} after {previous}",
                        record.partition,
                        record.offset
                    );
                }
                values.insert(record.message.payload.clone());
                // A second member joins, then leaves: two rebalances while records flow.
                if values.len() == 500 && second.is_none() {
                    second = Some(broker.subscribe("t", "g", OffsetReset::Earliest).await);
                }
                if values.len() == 1500 {
                    second = None;
                }
            }
        }
    }
    assert!(given_back > 0, "no partition was given back");
    drop(second);
    producing.await.unwrap();
}
