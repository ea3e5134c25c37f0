//! The measured scenarios, each with the baseline it is compared with in the same run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};
use riff_actors::broker::Broker;
use riff_actors::message::Message;
use riff_actors::resources::ResolvedWindow;

use crate::function::Function;
use crate::measure::{json_payload, now_ns, percentile};
use crate::pipeline::{
    count_window, publish_all, raw_copy, start_processor, stop_processor, Counter, SENT_AT,
};

/// A fresh topic name for one measurement.
fn fresh(broker: &Arc<dyn Broker>, what: &str) -> String {
    broker.topic_name(
        "bench",
        &format!("{what}-{}", &uuid::Uuid::new_v4().to_string()[..8]),
    )
}

async fn topics(broker: &Arc<dyn Broker>, names: &[&str], partitions: u32) -> Vec<String> {
    let mut topics = Vec::new();
    for name in names {
        let topic = fresh(broker, name);
        broker
            .provision(&topic, partitions, "application/json")
            .await
            .unwrap();
        topics.push(topic);
    }
    topics
}

/// `count` JSON messages of `size` bytes, keyed over 16 keys when `keyed`.
fn messages(count: usize, size: usize, keyed: bool) -> impl Iterator<Item = Message> {
    (0..count).map(move |i| {
        let mut message = Message::new(json_payload(i, size), "application/json");
        if keyed {
            message.key = Some(format!("k{}", i % 16).into());
        }
        message
    })
}

/// Messages per second of a processor passing `count` records of `size` bytes through
/// `pass-through` in windows of `window` records, and of the raw copy of the same records on
/// the same broker.
pub async fn pass_through(
    broker: &Arc<dyn Broker>,
    count: usize,
    size: usize,
    partitions: u32,
    window: u64,
) -> (f64, f64) {
    let names = ["in", "out", "copy"];
    let [input, output, copy] =
        <[String; 3]>::try_from(topics(broker, &names, partitions).await).unwrap();
    publish_all(broker, &input, messages(count, size, partitions > 1)).await;

    let counter = Counter::join(broker, &copy).await;
    let counted = tokio::spawn(counter.count(count));
    raw_copy(broker, &input, &copy, count).await;
    let baseline = counted.await.unwrap().rate(count);

    let function = Function::start("pass-through", &[], None);
    let counter = Counter::join(broker, &output).await;
    let counted = tokio::spawn(counter.count(count));
    let processor = start_processor(
        broker,
        &input,
        &output,
        &function.url,
        count_window(window),
        "pass-through",
    )
    .await;
    let ours = counted.await.unwrap().rate(count);
    stop_processor(processor);
    (ours, baseline)
}

/// p50 and p99 latency (ms) from publish to the output consumed, at `rate` messages per second
/// for `duration`, through `pass-through` with count-1 windows; and the same for the raw copy.
pub async fn latency(
    broker: &Arc<dyn Broker>,
    rate: f64,
    duration: Duration,
) -> ((f64, f64), (f64, f64)) {
    let count = (rate * duration.as_secs_f64()) as usize;
    let names = ["in", "out", "copy-in", "copy"];
    let [input, output, copy_input, copy] =
        <[String; 4]>::try_from(topics(broker, &names, 1).await).unwrap();

    let counter = Counter::join(broker, &copy).await;
    let counted = tokio::spawn(counter.count(count));
    let copier = {
        let (broker, copy_input, copy) = (broker.clone(), copy_input.clone(), copy.clone());
        tokio::spawn(async move { raw_copy(&broker, &copy_input, &copy, count).await })
    };
    paced(broker, &copy_input, count, rate).await;
    copier.await.unwrap();
    let mut baseline = counted.await.unwrap().latencies;

    let function = Function::start("pass-through", &[], None);
    let counter = Counter::join(broker, &output).await;
    let counted = tokio::spawn(counter.count(count));
    let processor = start_processor(
        broker,
        &input,
        &output,
        &function.url,
        count_window(1),
        "latency",
    )
    .await;
    paced(broker, &input, count, rate).await;
    let mut ours = counted.await.unwrap().latencies;
    stop_processor(processor);
    (
        (percentile(&mut ours, 50.0), percentile(&mut ours, 99.0)),
        (
            percentile(&mut baseline, 50.0),
            percentile(&mut baseline, 99.0),
        ),
    )
}

/// Publishes `count` small messages at `rate` per second, each stamped with its send time.
async fn paced(broker: &Arc<dyn Broker>, topic: &str, count: usize, rate: f64) {
    let start = Instant::now();
    let mut acks = FuturesUnordered::new();
    for i in 0..count {
        let due = start + Duration::from_secs_f64(i as f64 / rate);
        tokio::time::sleep_until(due.into()).await;
        let mut message = Message::new(json_payload(i, 100), "application/json");
        message.headers.insert(SENT_AT.into(), now_ns().to_string());
        acks.push(broker.publish(topic, message));
        while let Some(Some(ack)) = acks.next().now_or_never() {
            ack.unwrap();
        }
    }
    while let Some(ack) = acks.next().await {
        ack.unwrap();
    }
}

/// Messages per second that time-averager (1 s windows) consumes: until every input is committed.
pub async fn windowed(broker: &Arc<dyn Broker>, count: usize) -> f64 {
    let [input, output] =
        <[String; 2]>::try_from(topics(broker, &["numbers", "averages"], 1).await).unwrap();
    let numbers = (0..count).map(|i| Message::new((i % 100).to_string(), "application/json"));
    publish_all(broker, &input, numbers).await;
    let averager = Function::start("time-averager", &[("AVERAGE_OVER", "1s")], None);
    let window = ResolvedWindow {
        duration: Some(Duration::from_secs(1)),
        count: None,
    };
    let start = Instant::now();
    let processor =
        start_processor(broker, &input, &output, &averager.url, window, "averager").await;
    let last = count as u64 - 1;
    while broker
        .committed(&input, "averager")
        .await
        .unwrap()
        .values()
        .sum::<u64>()
        < last
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = start.elapsed();
    stop_processor(processor);
    count as f64 / elapsed.as_secs_f64()
}
