//! The in-memory broker, through the `Broker` trait: partitioning, content types, consumer
//! groups, rebalancing and committed positions.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::StreamExt;
use riff_actors::broker::memory::MemoryBroker;
use riff_actors::broker::{Broker, BrokerError, Delivery, OffsetReset, Subscription};
use riff_actors::message::{Message, Record};

type Deliveries = BoxStream<'static, Result<Delivery, BrokerError>>;

fn text(payload: &str) -> Message {
    Message::new(payload.to_string(), "text/plain")
}

fn keyed(key: &str, payload: &str) -> Message {
    Message {
        key: Some(Bytes::from(key.to_string())),
        ..text(payload)
    }
}

async fn next(deliveries: &mut Deliveries) -> Delivery {
    tokio::time::timeout(Duration::from_secs(5), deliveries.next())
        .await
        .expect("a delivery within 5 s")
        .expect("the deliveries go on")
        .expect("a delivery, not an error")
}

async fn next_record(deliveries: &mut Deliveries) -> Record {
    match next(deliveries).await {
        Delivery::Record(record) => record,
        other => panic!("expected a record, got {other:?}"),
    }
}

/// `(partition, offset, payload)` of the next `n` records.
async fn records(deliveries: &mut Deliveries, n: usize) -> BTreeSet<(u32, u64, String)> {
    let mut records = BTreeSet::new();
    for _ in 0..n {
        let record = next_record(deliveries).await;
        let payload = String::from_utf8(record.message.payload.to_vec()).unwrap();
        records.insert((record.partition, record.offset, payload));
    }
    records
}

async fn quiet(deliveries: &mut Deliveries) {
    let next = tokio::time::timeout(Duration::from_millis(200), deliveries.next()).await;
    assert!(next.is_err(), "expected no delivery, got {next:?}");
}

async fn broker_with(topic: &str, partitions: u32, content_type: &str) -> MemoryBroker {
    let broker = MemoryBroker::new();
    assert_eq!(
        broker.provision(topic, partitions, content_type).await,
        Ok(true)
    );
    broker
}

async fn subscribe(broker: &MemoryBroker, group: &str, reset: OffsetReset) -> Subscription {
    broker.subscribe("t", group, reset).await.unwrap()
}

#[tokio::test]
async fn keyed_messages_go_to_the_partition_of_their_key_hash() {
    let broker = broker_with("t", 4, "text/plain").await;
    // fnv1a64("user-1") % 4 == 0, fnv1a64("user-2") % 4 == 1, fnv1a64("user-3") % 4 == 2
    assert_eq!(broker.publish("t", keyed("user-1", "a")).await, Ok((0, 0)));
    assert_eq!(broker.publish("t", keyed("user-2", "b")).await, Ok((1, 0)));
    assert_eq!(broker.publish("t", keyed("user-3", "c")).await, Ok((2, 0)));
    assert_eq!(broker.publish("t", keyed("user-1", "d")).await, Ok((0, 1)));
    assert_eq!(broker.publish("t", keyed("user-1", "e")).await, Ok((0, 2)));
}

#[tokio::test]
async fn keyless_messages_round_robin_over_partitions() {
    let broker = broker_with("t", 3, "text/plain").await;
    let mut placed = Vec::new();
    for n in 0..7 {
        placed.push(broker.publish("t", text(&n.to_string())).await.unwrap());
    }
    assert_eq!(
        placed,
        [(0, 0), (1, 0), (2, 0), (0, 1), (1, 1), (2, 1), (0, 2)]
    );
}

#[tokio::test]
async fn provision_is_idempotent_and_keeps_the_first_topic() {
    let broker = broker_with("t", 1, "application/json").await;
    assert_eq!(broker.provision("t", 8, "text/plain").await, Ok(false));
    assert_eq!(
        broker.publish("t", text("x")).await,
        Err(BrokerError::IncompatibleContentType {
            expected: "application/json".to_string(),
            actual: "text/plain".to_string(),
        })
    );
    let json = Message::new("{}", "application/json");
    for _ in 0..3 {
        assert_eq!(broker.publish("t", json.clone()).await.unwrap().0, 0);
    }
}

#[tokio::test]
async fn unknown_topics_are_refused() {
    let broker = MemoryBroker::new();
    let unknown = BrokerError::UnknownTopic("nope".to_string());
    assert_eq!(
        broker.publish("nope", text("x")).await,
        Err(unknown.clone())
    );
    assert_eq!(broker.end_offsets("nope").await, Err(unknown.clone()));
    assert_eq!(broker.committed("nope", "g").await, Err(unknown.clone()));
    assert_eq!(broker.commit("nope", "g", &[(0, 0)]).await, Err(unknown));
    let subscribed = broker.subscribe("nope", "g", OffsetReset::Earliest).await;
    assert!(matches!(subscribed, Err(BrokerError::UnknownTopic(topic)) if topic == "nope"));
}

#[tokio::test]
async fn incompatible_content_type_is_refused_naming_both_types() {
    let broker = broker_with("t", 1, "application/json").await;
    let error = broker.publish("t", text("hi")).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        r#"content type "text/plain" is not compatible with the stream's content type "application/json""#
    );
    assert_eq!(broker.end_offsets("t").await, Ok(BTreeMap::new()));
}

#[tokio::test]
async fn messages_without_content_type_take_the_streams() {
    let broker = broker_with("t", 1, "application/json").await;
    broker.publish("t", Message::new("1", "")).await.unwrap();
    broker
        .publish("t", Message::new("2", "application/json; charset=utf-8"))
        .await
        .unwrap();
    let mut subscription = subscribe(&broker, "g", OffsetReset::Earliest).await;
    assert_eq!(
        next(&mut subscription.deliveries).await,
        Delivery::Assigned(vec![0])
    );
    let first = next_record(&mut subscription.deliveries).await;
    assert_eq!(first.message.content_type, "application/json");
    let second = next_record(&mut subscription.deliveries).await;
    assert_eq!(
        second.message.content_type,
        "application/json; charset=utf-8"
    );
}

#[tokio::test]
async fn earliest_reads_older_records_latest_only_new_ones() {
    let broker = broker_with("t", 1, "text/plain").await;
    broker.publish("t", text("old")).await.unwrap();
    let mut earliest = subscribe(&broker, "e", OffsetReset::Earliest).await;
    let mut latest = subscribe(&broker, "l", OffsetReset::Latest).await;
    assert_eq!(
        next(&mut earliest.deliveries).await,
        Delivery::Assigned(vec![0])
    );
    assert_eq!(
        next(&mut latest.deliveries).await,
        Delivery::Assigned(vec![0])
    );
    quiet(&mut latest.deliveries).await;

    // An idle subscriber is woken up by the publish.
    let (record, _) = tokio::join!(next_record(&mut latest.deliveries), async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        broker.publish("t", text("new")).await.unwrap();
    });
    assert_eq!(
        (record.offset, &record.message.payload[..]),
        (1, &b"new"[..])
    );

    let expected = BTreeSet::from([(0, 0, "old".to_string()), (0, 1, "new".to_string())]);
    assert_eq!(records(&mut earliest.deliveries, 2).await, expected);
}

#[tokio::test]
async fn commits_are_last_processed_offsets_and_resubscribing_resumes_after_them() {
    let broker = broker_with("t", 1, "text/plain").await;
    for n in 0..4 {
        broker.publish("t", text(&n.to_string())).await.unwrap();
    }
    let mut subscription = subscribe(&broker, "g", OffsetReset::Earliest).await;
    assert_eq!(
        next(&mut subscription.deliveries).await,
        Delivery::Assigned(vec![0])
    );
    next_record(&mut subscription.deliveries).await;
    let second = next_record(&mut subscription.deliveries).await;
    subscription
        .committer
        .commit(&[(0, second.offset)])
        .await
        .unwrap();
    assert_eq!(
        broker.committed("t", "g").await,
        Ok(BTreeMap::from([(0, 1)]))
    );
    assert_eq!(broker.committed("t", "other").await, Ok(BTreeMap::new()));
    drop(subscription);

    for reset in [OffsetReset::Latest, OffsetReset::Earliest] {
        let mut again = subscribe(&broker, "g", reset).await;
        assert_eq!(
            next(&mut again.deliveries).await,
            Delivery::Assigned(vec![0])
        );
        let record = next_record(&mut again.deliveries).await;
        assert_eq!((record.offset, &record.message.payload[..]), (2, &b"2"[..]));
    }

    broker.commit("t", "g", &[(0, 3)]).await.unwrap();
    assert_eq!(
        broker.committed("t", "g").await,
        Ok(BTreeMap::from([(0, 3)]))
    );
}

#[tokio::test]
async fn end_offsets_are_the_offsets_of_last_records() {
    let broker = broker_with("t", 3, "text/plain").await;
    assert_eq!(broker.end_offsets("t").await, Ok(BTreeMap::new()));
    for n in 0..4 {
        broker
            .publish("t", keyed("user-1", &n.to_string()))
            .await
            .unwrap();
    }
    broker.publish("t", keyed("user-3", "x")).await.unwrap();
    // fnv1a64 % 3: "user-1" → 2, "user-3" → 1
    assert_eq!(
        broker.end_offsets("t").await,
        Ok(BTreeMap::from([(1, 0), (2, 3)]))
    );
}

#[tokio::test]
async fn group_members_split_partitions_and_rebalance_without_loss_after_commit() {
    let broker = broker_with("t", 2, "text/plain").await;
    for n in 0..4 {
        broker.publish("t", text(&format!("a{n}"))).await.unwrap();
    }
    let mut first = subscribe(&broker, "g", OffsetReset::Earliest).await;
    assert_eq!(
        next(&mut first.deliveries).await,
        Delivery::Assigned(vec![0, 1])
    );
    let expected = BTreeSet::from([
        (0, 0, "a0".to_string()),
        (0, 1, "a2".to_string()),
        (1, 0, "a1".to_string()),
        (1, 1, "a3".to_string()),
    ]);
    assert_eq!(records(&mut first.deliveries, 4).await, expected);
    first.committer.commit(&[(0, 1), (1, 1)]).await.unwrap();

    // A second member takes partition 1 and starts after the group's commit, not at 0.
    let mut second = subscribe(&broker, "g", OffsetReset::Earliest).await;
    assert_eq!(
        next(&mut first.deliveries).await,
        Delivery::Revoked(vec![1])
    );
    assert_eq!(
        next(&mut second.deliveries).await,
        Delivery::Assigned(vec![1])
    );
    for n in 4..8 {
        broker.publish("t", text(&format!("b{n}"))).await.unwrap();
    }
    let expected = BTreeSet::from([(0, 2, "b4".to_string()), (0, 3, "b6".to_string())]);
    assert_eq!(records(&mut first.deliveries, 2).await, expected);
    let expected = BTreeSet::from([(1, 2, "b5".to_string()), (1, 3, "b7".to_string())]);
    assert_eq!(records(&mut second.deliveries, 2).await, expected);
    second.committer.commit(&[(1, 3)]).await.unwrap();
    quiet(&mut first.deliveries).await;

    // When it leaves, partition 1 comes back to the first member after the second's commit.
    drop(second);
    assert_eq!(
        next(&mut first.deliveries).await,
        Delivery::Assigned(vec![1])
    );
    for n in 8..10 {
        broker.publish("t", text(&format!("c{n}"))).await.unwrap();
    }
    let expected = BTreeSet::from([(0, 4, "c8".to_string()), (1, 4, "c9".to_string())]);
    assert_eq!(records(&mut first.deliveries, 2).await, expected);
    quiet(&mut first.deliveries).await;
}

#[tokio::test]
async fn partitions_are_dealt_round_robin_in_join_order() {
    let broker = broker_with("t", 5, "text/plain").await;
    let mut members = Vec::new();
    for _ in 0..3 {
        members.push(subscribe(&broker, "g", OffsetReset::Latest).await);
    }
    let mut shares = Vec::new();
    for member in &mut members {
        shares.push(settled_partitions(&mut member.deliveries).await);
    }
    assert_eq!(shares, [vec![0, 3], vec![1, 4], vec![2]]);
}

/// The partitions held once assignments and revocations stop coming.
async fn settled_partitions(deliveries: &mut Deliveries) -> Vec<u32> {
    let mut partitions = BTreeSet::new();
    while let Ok(delivery) =
        tokio::time::timeout(Duration::from_millis(200), deliveries.next()).await
    {
        match delivery.expect("the deliveries go on").unwrap() {
            Delivery::Assigned(added) => partitions.extend(added),
            Delivery::Revoked(revoked) => partitions.retain(|p| !revoked.contains(p)),
            Delivery::Record(record) => panic!("unexpected {record:?}"),
        }
    }
    partitions.into_iter().collect()
}

#[tokio::test]
async fn a_subscriber_that_does_not_poll_never_blocks_publishers() {
    let broker = broker_with("t", 1, "text/plain").await;
    let mut idle = subscribe(&broker, "g", OffsetReset::Earliest).await;
    for n in 0..10_000u64 {
        assert_eq!(broker.publish("t", text("x")).await, Ok((0, n)));
    }
    assert_eq!(
        next(&mut idle.deliveries).await,
        Delivery::Assigned(vec![0])
    );
    assert_eq!(next_record(&mut idle.deliveries).await.offset, 0);
}

// Hole: `latest` started again at the end after a rebuild that came before the first commit.
#[tokio::test]
async fn latest_is_pinned_where_the_group_first_read_so_a_new_member_reads_what_was_not_committed()
{
    let broker = broker_with("t", 1, "text/plain").await;
    broker.publish("t", text("before")).await.unwrap();
    let mut first = subscribe(&broker, "g", OffsetReset::Latest).await;
    assert_eq!(
        next(&mut first.deliveries).await,
        Delivery::Assigned(vec![0])
    );
    broker
        .publish("t", text("read, never committed"))
        .await
        .unwrap();
    next_record(&mut first.deliveries).await;
    drop(first);
    broker.publish("t", text("after")).await.unwrap();

    let mut again = subscribe(&broker, "g", OffsetReset::Latest).await;
    assert_eq!(
        next(&mut again.deliveries).await,
        Delivery::Assigned(vec![0])
    );
    let expected = BTreeSet::from([
        (0, 1, "read, never committed".to_string()),
        (0, 2, "after".to_string()),
    ]);
    assert_eq!(records(&mut again.deliveries, 2).await, expected);
}

#[tokio::test]
async fn a_member_without_partitions_is_told_so() {
    let broker = broker_with("t", 1, "text/plain").await;
    let mut first = subscribe(&broker, "g", OffsetReset::Latest).await;
    let mut second = subscribe(&broker, "g", OffsetReset::Latest).await;
    assert_eq!(
        next(&mut first.deliveries).await,
        Delivery::Assigned(vec![0])
    );
    assert_eq!(
        next(&mut second.deliveries).await,
        Delivery::Assigned(vec![])
    );
}
