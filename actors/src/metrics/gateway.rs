//! The metrics of a gateway process (`riff gateway`): records published, delivered and
//! acknowledged per topic, publish and subscribe latencies, provisioning requests by outcome,
//! and whether the broker answers (asked on each read of the metrics).

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;

use super::{enabled, register, seconds, HistogramFamily};
use crate::broker::Broker;

/// How long the broker has to answer a reachability check when the metrics are read.
const REACHABLE_WITHIN: Duration = Duration::from_secs(5);

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TopicLabels {
    topic: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PublishLabels {
    topic: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

struct Families {
    publishes: Family<PublishLabels, Counter>,
    publish_seconds: HistogramFamily<TopicLabels>,
    subscriptions: Family<TopicLabels, Counter>,
    subscribe_seconds: HistogramFamily<TopicLabels>,
    delivered: Family<TopicLabels, Counter>,
    acks: Family<TopicLabels, Counter>,
    provisions: Family<OutcomeLabels, Counter>,
    broker_up: Gauge,
    /// The broker whose reachability `broker_up` reports.
    broker: Mutex<Option<Arc<dyn Broker>>>,
}

static FAMILIES: OnceLock<Families> = OnceLock::new();

fn families() -> &'static Families {
    FAMILIES.get_or_init(|| {
        let f = Families {
            publishes: Family::default(),
            publish_seconds: Family::new_with_constructor(seconds),
            subscriptions: Family::default(),
            subscribe_seconds: Family::new_with_constructor(seconds),
            delivered: Family::default(),
            acks: Family::default(),
            provisions: Family::default(),
            broker_up: Gauge::default(),
            broker: Mutex::default(),
        };
        let publishes = "Publish calls, by topic and outcome (ok, invalid, failed)";
        register("gateway_publishes", publishes, f.publishes.clone());
        let took = "Seconds from a publish call to the broker's acknowledgement";
        register(
            "gateway_publish_duration_seconds",
            took,
            f.publish_seconds.clone(),
        );
        let subscriptions = "Subscribe calls that joined the topic's group";
        register(
            "gateway_subscriptions",
            subscriptions,
            f.subscriptions.clone(),
        );
        let joined = "Seconds from a subscribe call to its subscription";
        register(
            "gateway_subscribe_duration_seconds",
            joined,
            f.subscribe_seconds.clone(),
        );
        let delivered = "Records sent to subscribers' receive calls";
        register("gateway_delivered_records", delivered, f.delivered.clone());
        register("gateway_acks", "Ack calls committed", f.acks.clone());
        let provisions = "Provisioning requests, by outcome (created, existed, refused, failed)";
        register("gateway_provisions", provisions, f.provisions.clone());
        let up = "1 while the broker answers, else 0";
        register("gateway_broker_up", up, f.broker_up.clone());
        f
    })
}

fn topic(topic: &str) -> TopicLabels {
    TopicLabels {
        topic: topic.to_owned(),
    }
}

/// A publish to `topic` started at `started` ended with `outcome`: `ok` (acknowledged),
/// `invalid` (refused as malformed) or `failed` (the broker did not take it).
pub fn published(topic_name: &str, outcome: &'static str, started: Instant) {
    if !enabled() {
        return;
    }
    let f = families();
    let labels = PublishLabels {
        topic: topic_name.to_owned(),
        outcome,
    };
    f.publishes.get_or_create(&labels).inc();
    if outcome == "ok" {
        let took = started.elapsed().as_secs_f64();
        f.publish_seconds
            .get_or_create(&topic(topic_name))
            .observe(took);
    }
}

/// A subscription to `topic` opened, `started` when it was asked for.
pub fn subscribed(topic_name: &str, started: Instant) {
    if !enabled() {
        return;
    }
    let f = families();
    let labels = topic(topic_name);
    f.subscriptions.get_or_create(&labels).inc();
    let took = started.elapsed().as_secs_f64();
    f.subscribe_seconds.get_or_create(&labels).observe(took);
}

/// The counter of records of `topic` sent to receivers (one series per receive call's topic).
pub fn deliveries(topic_name: &str) -> Counter {
    families()
        .delivered
        .get_or_create(&topic(topic_name))
        .clone()
}

/// An ack on `topic` was committed.
pub fn acked(topic_name: &str) {
    if enabled() {
        families().acks.get_or_create(&topic(topic_name)).inc();
    }
}

/// A provisioning request ended with `outcome`: `created`, `existed`, `refused` or `failed`.
pub fn provisioned(outcome: &'static str) {
    if enabled() {
        families()
            .provisions
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }
}

/// The gateway serves `broker`: its reachability is asked on each read of the metrics.
pub fn serves(broker: Arc<dyn Broker>) {
    *families().broker.lock() = Some(broker);
}

pub(super) async fn refresh_reachability() {
    let Some(families) = FAMILIES.get() else {
        return; // no gateway in this process
    };
    let Some(broker) = families.broker.lock().clone() else {
        return;
    };
    let answered = tokio::time::timeout(REACHABLE_WITHIN, broker.reachable()).await;
    families
        .broker_up
        .set(i64::from(matches!(answered, Ok(Ok(())))));
}
