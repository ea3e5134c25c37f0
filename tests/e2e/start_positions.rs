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

/// The squarer of [`squarer_on_kafka`] reading its input from `latest` (the default).
fn squarer_from_latest(tansu: &Tansu, window: &str) -> Manifests {
    let yaml = squarer_on_kafka(&tansu.bootstrap(), 1, "square", window);
    let latest = yaml.replace(
        "{stream: numbers, startOffset: earliest}",
        "{stream: numbers}",
    );
    assert_ne!(yaml, latest);
    Manifests::new(&[("all.yaml", &latest)])
}

/// The squares read back, in order.
async fn read_squares(kafka: &Plain, count: usize) -> Vec<u64> {
    let records = kafka
        .read("default_squares", count, Duration::from_secs(40))
        .await;
    records
        .iter()
        .map(|r| r.value.trim().parse::<f64>().unwrap() as u64)
        .collect()
}

// Holes 2 and 3: `running` came before the group was assigned (records published right after
// it were skipped), and a restart before the first commit started again at the new end.
#[tokio::test(flavor = "multi_thread")]
async fn latest_reads_what_was_published_after_running_even_across_a_kill_before_any_commit() {
    let tansu = Tansu::memory();
    let manifests = squarer_from_latest(&tansu, "{duration: 3s}");
    let kafka = Plain::new(&tansu.bootstrap());
    let mut runtime = Runtime::start_with(&[manifests.path()], &tansu_args());
    kafka.produce_numbers("default_numbers", 1..=10).await;
    // Killed while the window holding them is open: nothing was committed but the start.
    runtime.kill();

    let _runtime = Runtime::start_with(&[manifests.path()], &tansu_args());
    kafka.produce_numbers("default_numbers", 11..=20).await;
    let mut squares = read_squares(&kafka, 20).await;
    squares.sort();
    let expected: Vec<u64> = (1..=20).map(|n| n * n).collect();
    assert_eq!(squares, expected, "each number once: no loss, no repeat");
}

// Hole 4: rebalance events raced records, so a record could come for a partition whose
// assignment had not been delivered yet (and the gateway dropped it).
#[tokio::test(flavor = "multi_thread")]
async fn a_kafka_subscription_delivers_records_only_of_partitions_it_was_told_are_assigned() {
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
