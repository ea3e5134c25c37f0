//! librdkafka settings of the Kafka broker's clients: our defaults, then the user's overrides.

use rdkafka::ClientConfig;

use crate::broker::OffsetReset;

/// Where and how to reach a Kafka cluster.
#[derive(Debug, Clone)]
pub struct KafkaSettings {
    /// `host:port[,host:port...]`, a KafkaGateway's `spec.bootstrapServers`.
    pub bootstrap_servers: String,
    /// librdkafka properties applied to every client last (e.g. `session.timeout.ms=2000`).
    pub properties: Vec<(String, String)>,
}

impl KafkaSettings {
    /// Settings for `bootstrap_servers` with no overrides.
    pub fn new(bootstrap_servers: impl Into<String>) -> Self {
        KafkaSettings {
            bootstrap_servers: bootstrap_servers.into(),
            properties: Vec::new(),
        }
    }

    fn client(&self, defaults: &[(&str, &str)]) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.bootstrap_servers);
        for (key, value) in defaults {
            config.set(*key, *value);
        }
        for (key, value) in &self.properties {
            config.set(key, value);
        }
        config
    }

    /// A producer that acknowledges only once all replicas have the record, in order. It sends
    /// at once (no linger): a window commits only after its outputs are acknowledged, so any
    /// linger is added to every window, and one request in flight batches under load anyway.
    pub(super) fn producer(&self) -> ClientConfig {
        self.client(&[
            ("acks", "all"),
            ("linger.ms", "0"),
            ("max.in.flight.requests.per.connection", "1"),
            ("message.timeout.ms", "30000"),
        ])
    }

    /// A consumer of `group` that never commits by itself.
    pub(super) fn consumer(&self, group: &str, reset: OffsetReset) -> ClientConfig {
        let reset = match reset {
            OffsetReset::Earliest => "earliest",
            OffsetReset::Latest => "latest",
        };
        let mut config = self.client(&[
            ("enable.auto.commit", "false"),
            ("enable.auto.offset.store", "false"),
            ("session.timeout.ms", "6000"),
            ("heartbeat.interval.ms", "1000"),
            ("fetch.wait.max.ms", "5"),
            ("fetch.queue.backoff.ms", "10"),
            ("queued.max.messages.kbytes", "16384"),
        ]);
        config
            .set("group.id", group)
            .set("auto.offset.reset", reset);
        config
    }

    /// A client for metadata, watermarks and admin calls.
    pub(super) fn admin(&self) -> ClientConfig {
        self.client(&[("group.id", "riff-streaming-admin")])
    }
}
