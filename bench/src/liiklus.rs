//! An in-memory gateway reached as users reach it: through its liiklus gRPC API. Publishing
//! many records concurrently, watching a group's commits, reading a topic back, and timing
//! records one at a time from their publisher to a subscriber.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use futures::StreamExt;
use riff_actors::broker::liiklus::LiiklusBroker;
use riff_actors::broker::{Broker, Delivery, OffsetReset};
use riff_actors::message::Message;
use riff_protocol::liiklus::liiklus_service_client::LiiklusServiceClient;
use riff_protocol::liiklus::{
    publish_request, GetEndOffsetsRequest, GetOffsetsRequest, LiiklusEvent, PublishRequest,
};
use tonic::transport::Channel;

use crate::measure::{json_payload, Tally};

/// A liiklus client of the gateway at `address` (`host:port`).
pub async fn connect(address: &str) -> anyhow::Result<LiiklusServiceClient<Channel>> {
    Ok(LiiklusServiceClient::connect(format!("http://{address}")).await?)
}

/// Publishes the `count` payloads `payload(i)` to `topic` (keyless: the gateway spreads them over
/// the partitions), 32 calls at a time.
pub async fn publish(
    client: &LiiklusServiceClient<Channel>,
    topic: &str,
    count: usize,
    payload: impl Fn(usize) -> bytes::Bytes,
) -> anyhow::Result<()> {
    let requests = (0..count).map(|i| {
        let request = event_request(topic, i, payload(i));
        let mut client = client.clone();
        async move { client.publish(request).await }
    });
    let mut replies = futures::stream::iter(requests).buffer_unordered(32);
    while let Some(reply) = replies.next().await {
        reply.context("publishing through the gateway")?;
    }
    Ok(())
}

/// A liiklus event of `payload` (JSON), for `topic`.
fn event_request(topic: &str, id: usize, payload: bytes::Bytes) -> PublishRequest {
    let event = LiiklusEvent {
        id: id.to_string(),
        r#type: "bench".into(),
        source: "riff-bench".into(),
        data_content_type: "application/json".into(),
        data: payload,
        ..Default::default()
    };
    PublishRequest {
        topic: topic.to_owned(),
        event: Some(publish_request::Event::LiiklusEvent(event)),
        ..Default::default()
    }
}

/// `count` records published one after another to the empty `topic` of the gateway at
/// `address`, each once the one before reached the subscriber, both through one client of
/// riff's (one connection, as a cluster's processor reads its inputs from a gateway and writes
/// its outputs to it): how long each publish took to be acknowledged, and how long each record
/// took from its publish to the subscriber.
pub async fn round_trips(
    address: &str,
    topic: &str,
    count: usize,
) -> anyhow::Result<(Vec<Duration>, Vec<Duration>)> {
    let broker = LiiklusBroker::connect(address)?;
    let mut subscription = broker
        .subscribe(topic, "bench-round-trips", OffsetReset::Earliest)
        .await?;
    let (mut calls, mut arrivals) = (Vec::new(), Vec::new());
    for i in 0..count {
        let start = Instant::now();
        let message = Message::new(json_payload(i, crate::scenarios::SIZE), "application/json");
        broker
            .publish(topic, message)
            .await
            .context("publishing through the gateway")?;
        calls.push(start.elapsed());
        loop {
            let next =
                tokio::time::timeout(Duration::from_secs(10), subscription.deliveries.next());
            match next.await {
                Ok(Some(Ok(Delivery::Record(_)))) => break,
                Ok(Some(Ok(_))) => {}
                Ok(other) => bail!("reading {topic}: the subscription ended: {other:?}"),
                Err(_) => bail!("record {i} did not reach the subscriber of {topic} within 10 s"),
            }
        }
        arrivals.push(start.elapsed());
    }
    Ok((calls, arrivals))
}

/// The offset of the last record of each partition of `topic` that holds records.
pub async fn ends(
    client: &LiiklusServiceClient<Channel>,
    topic: &str,
) -> anyhow::Result<BTreeMap<u32, u64>> {
    let request = GetEndOffsetsRequest {
        topic: topic.to_owned(),
    };
    Ok(client
        .clone()
        .get_end_offsets(request)
        .await?
        .into_inner()
        .offsets
        .into_iter()
        .collect())
}

/// Waits until `group` committed every offset of `ends` on `topic`; fails when its commits made
/// no progress for `stall`. Returns when it saw them there.
pub async fn wait_for_commits(
    client: &LiiklusServiceClient<Channel>,
    topic: &str,
    group: &str,
    ends: &BTreeMap<u32, u64>,
    stall: Duration,
) -> anyhow::Result<Instant> {
    let mut progress = (0, Instant::now());
    loop {
        let request = GetOffsetsRequest {
            topic: topic.to_owned(),
            group: group.to_owned(),
            group_version: 0,
        };
        let committed = client
            .clone()
            .get_offsets(request)
            .await?
            .into_inner()
            .offsets;
        if ends
            .iter()
            .all(|(p, end)| committed.get(p).is_some_and(|c| c >= end))
        {
            return Ok(Instant::now());
        }
        let sum: u64 = committed.values().map(|c| c + 1).sum();
        if sum > progress.0 {
            progress = (sum, Instant::now());
        } else if progress.1.elapsed() > stall {
            let total: u64 = ends.values().map(|e| e + 1).sum();
            bail!(
                "the group committed about {sum} of {total} records and made no progress for {} s",
                stall.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Reads `topic` from the beginning into a tally of `count` records of `size` bytes: until
/// every record was seen and nothing more came for a second (duplicates), or nothing came for
/// [`IDLE`](crate::kafka::IDLE) (missing records); fails after `limit`.
pub async fn verify(
    address: &str,
    topic: &str,
    count: usize,
    size: usize,
    limit: Duration,
) -> anyhow::Result<Tally> {
    let broker = LiiklusBroker::connect(address)?;
    let mut subscription = broker
        .subscribe(topic, "bench-verify", OffsetReset::Earliest)
        .await?;
    let mut tally = Tally::new(count, size);
    let deadline = Instant::now() + limit;
    loop {
        let idle = if tally.missing() == 0 {
            Duration::from_secs(1)
        } else {
            crate::kafka::IDLE
        };
        if Instant::now() > deadline {
            bail!(
                "{topic}: read {} records in {} s, still reading",
                tally.records,
                limit.as_secs()
            );
        }
        match tokio::time::timeout(idle, subscription.deliveries.next()).await {
            Ok(Some(Ok(Delivery::Record(record)))) => tally.add(&record.message.payload),
            Ok(Some(Ok(_))) => {}
            Ok(other) => bail!("reading {topic}: the subscription ended: {other:?}"),
            Err(_) => return Ok(tally),
        }
    }
}
