//! Driving a processor in-process over any broker, and the raw copy it is compared with.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::Addr;
use futures::StreamExt;
use riff_actors::broker::{Broker, Delivery, OffsetReset};
use riff_actors::message::{Message, Record};
use riff_actors::processor::{
    self, Capacity, InputBinding, OutputBinding, PipelineConfig, ProcessorActor,
};
use riff_actors::resources::ResolvedWindow;

use crate::measure::now_ns;

/// Header carrying the publish time (ns since the epoch) for latency.
pub const SENT_AT: &str = "sent-at";

/// Starts processor `group` from `input` to `output` through the function at `function`, and
/// waits until its input is read.
pub async fn start_processor(
    broker: &Arc<dyn Broker>,
    input: &str,
    output: &str,
    function: &str,
    window: ResolvedWindow,
    group: &str,
) -> Addr<ProcessorActor> {
    let config = PipelineConfig {
        resource: format!("processor bench/{group}"),
        group: group.into(),
        inputs: vec![InputBinding {
            name: "in".into(),
            broker: broker.clone(),
            topic: input.into(),
            reset: OffsetReset::Earliest,
            content_type: "application/json".into(),
        }],
        outputs: vec![OutputBinding {
            name: "out".into(),
            broker: broker.clone(),
            topic: output.into(),
            content_type: "application/json".into(),
        }],
        function: function.into(),
        window,
        capacity: Capacity {
            records: 10_000,
            ..Capacity::default()
        },
    };
    let processor = processor::start(config).unwrap();
    processor::subscribed(&processor).await;
    processor
}

/// Stops a processor started by [`start_processor`].
pub fn stop_processor(processor: Addr<ProcessorActor>) {
    processor.do_send(processor::messages::Stop);
}

/// Windows of `count` messages (closing after 50 ms at the latest).
pub fn count_window(count: u64) -> ResolvedWindow {
    ResolvedWindow {
        duration: Some(Duration::from_millis(50)),
        count: Some(count),
    }
}

/// Publishes `messages` to `topic`, pipelined, and waits for every acknowledgement.
pub async fn publish_all(
    broker: &Arc<dyn Broker>,
    topic: &str,
    messages: impl Iterator<Item = Message>,
) {
    let mut acks = futures::stream::FuturesUnordered::new();
    for message in messages {
        acks.push(broker.publish(topic, message));
        if acks.len() >= 10_000 {
            acks.next().await.unwrap().unwrap();
        }
    }
    while let Some(ack) = acks.next().await {
        ack.unwrap();
    }
}

/// What a consumer saw of `count` records.
pub struct Consumed {
    /// When the first and the last record arrived.
    pub first: Instant,
    pub last: Instant,
    /// Each record's latency (arrival − its `sent-at` header), for records that carry one.
    pub latencies: Vec<Duration>,
}

impl Consumed {
    /// Records per second between the first and the last arrival.
    pub fn rate(&self, count: usize) -> f64 {
        (count - 1) as f64 / (self.last - self.first).as_secs_f64()
    }
}

/// A fresh consumer group reading a topic from the beginning, assigned and ready.
pub struct Counter {
    subscription: riff_actors::broker::Subscription,
}

impl Counter {
    /// Joins a fresh group on `topic` and waits for its assignment.
    pub async fn join(broker: &Arc<dyn Broker>, topic: &str) -> Counter {
        let group = format!("counter-{}", uuid::Uuid::new_v4());
        let mut subscription = broker
            .subscribe(topic, &group, OffsetReset::Earliest)
            .await
            .unwrap();
        loop {
            match subscription.deliveries.next().await {
                Some(Ok(Delivery::Assigned(partitions))) if !partitions.is_empty() => break,
                Some(Ok(_)) => {}
                other => panic!("the subscription to {topic} ended: {other:?}"),
            }
        }
        Counter { subscription }
    }

    /// Reads until `count` records were seen.
    pub async fn count(mut self, count: usize) -> Consumed {
        let mut latencies = Vec::with_capacity(count);
        let mut first = None;
        let mut seen = 0;
        while seen < count {
            match self.subscription.deliveries.next().await {
                Some(Ok(Delivery::Record(record))) => {
                    first.get_or_insert_with(Instant::now);
                    seen += 1;
                    if let Some(sent) = sent_at(&record) {
                        latencies.push(Duration::from_nanos(now_ns().saturating_sub(sent)));
                    }
                }
                Some(Ok(_)) => {}
                other => panic!("a counted subscription ended: {other:?}"),
            }
        }
        Consumed {
            first: first.unwrap_or_else(Instant::now),
            last: Instant::now(),
            latencies,
        }
    }
}

fn sent_at(record: &Record) -> Option<u64> {
    record.message.headers.get(SENT_AT)?.parse().ok()
}

/// Copies `count` records from `input` to `output` with the broker API alone, committing every
/// 1000 records: what a processor costs at the least, without windows or a function.
pub async fn raw_copy(broker: &Arc<dyn Broker>, input: &str, output: &str, count: usize) {
    let mut subscription = broker
        .subscribe(input, "raw-copy", OffsetReset::Earliest)
        .await
        .unwrap();
    let mut acks = futures::stream::FuturesUnordered::new();
    let mut positions = BTreeMap::new();
    let mut copied = 0;
    while copied < count {
        let record = match subscription.deliveries.next().await {
            Some(Ok(Delivery::Record(record))) => record,
            Some(Ok(_)) => continue,
            other => panic!("the copied subscription ended: {other:?}"),
        };
        positions.insert(record.partition, record.offset);
        acks.push(broker.publish(output, record.message));
        copied += 1;
        if copied % 1000 == 0 || copied == count {
            while let Some(ack) = acks.next().await {
                ack.unwrap();
            }
            let positions: Vec<_> = positions.iter().map(|(p, o)| (*p, *o)).collect();
            subscription.committer.commit(&positions).await.unwrap();
        }
    }
}
