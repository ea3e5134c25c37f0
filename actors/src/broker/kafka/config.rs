//! librdkafka settings of the Kafka broker's clients: our defaults, then the user's overrides.

use rdkafka::ClientConfig;

use super::security::KafkaSecurity;
use crate::broker::OffsetReset;

/// Where and how to reach a Kafka cluster.
#[derive(Debug, Clone)]
pub struct KafkaSettings {
    /// `host:port[,host:port...]`, a KafkaGateway's `spec.bootstrapServers`.
    pub bootstrap_servers: String,
    /// TLS and SASL, from the KafkaGateway's `tls` and `sasl`.
    pub security: KafkaSecurity,
    /// librdkafka properties applied to every client last (e.g. `session.timeout.ms=2000`).
    pub properties: Vec<(String, String)>,
    /// What the clients serve (e.g. `gateway default/franz`), named in their log lines beside
    /// the cluster when a process holds several.
    pub serving: Option<String>,
    /// How processors read their inputs.
    pub reads: Reads,
}

/// How the processors of one process read their Kafka inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reads {
    /// Each processor is a member of its consumer group, with a consumer of its own: replicas
    /// of a processor in several processes share its partitions (a cluster's processors).
    #[default]
    Groups,
    /// One consumer reads each partition once for every processor of the process, and each
    /// processor's group keeps its positions: one client for the process, however many
    /// processors (`riff local run`, the one process reading for every group).
    Shared,
}

impl std::str::FromStr for Reads {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "shared" => Ok(Reads::Shared),
            "groups" => Ok(Reads::Groups),
            other => Err(format!("{other:?} is neither `shared` nor `groups`")),
        }
    }
}

/// Properties that would break at-least-once delivery, and why: riff commits a position only
/// after the window's outputs were acknowledged by every replica, and starts a new group where
/// the processor's `startOffset` says.
const GUARANTEES: &[(&str, &str, &str)] = &[
    (
        "enable.auto.commit",
        "false",
        "librdkafka would commit positions of records not yet processed",
    ),
    (
        "auto.commit.enable",
        "false",
        "librdkafka would commit positions of records not yet processed",
    ),
    (
        "enable.auto.offset.store",
        "false",
        "librdkafka would store positions of records not yet processed",
    ),
    (
        "acks",
        "all",
        "an output is acknowledged only once every in-sync replica has it",
    ),
    (
        "request.required.acks",
        "all",
        "an output is acknowledged only once every in-sync replica has it",
    ),
    ("group.id", "", "the consumer group is the processor's name"),
    (
        "auto.offset.reset",
        "",
        "where a new group starts is the input's startOffset",
    ),
];

/// Checks a user's librdkafka property: one that would switch off at-least-once delivery is
/// refused, naming the property and why.
pub fn check_property(key: &str, value: &str) -> Result<(), String> {
    let Some((_, kept, why)) = GUARANTEES.iter().find(|(name, ..)| *name == key) else {
        return Ok(());
    };
    let same = |wanted: &str| value.trim().eq_ignore_ascii_case(wanted);
    match *kept {
        "" => Err(format!("{key} cannot be set: {why}")),
        "all" if same("all") || same("-1") => Ok(()),
        kept if same(kept) => Ok(()),
        kept => Err(format!(
            "{key}={value} is refused: it must stay {kept}, since {why} (at-least-once delivery)"
        )),
    }
}

/// The consumer settings riff chooses for a Kafka cluster, and why (README's Kafka section
/// lists them). Test brokers get theirs from the command line (`--kafka-property`), never here.
pub const CONSUMER_DEFAULTS: &[(&str, &str, &str)] = &[
    (
        "fetch.wait.max.ms",
        "1000",
        "an idle consumer long-polls: Kafka answers a fetch as soon as a record arrives, so this \
         bounds only how often an idle processor asks (once a second, not 200 times)",
    ),
    (
        "session.timeout.ms",
        "10000",
        "a pod that died is replaced in the group within 10 s; a pod shut down leaves at once",
    ),
    (
        "heartbeat.interval.ms",
        "3000",
        "a third of the session timeout, as Kafka advises",
    ),
    (
        "fetch.queue.backoff.ms",
        "10",
        "a busy consumer refills its local queue at once (the default 1 s caps it near 160k msg/s)",
    ),
    (
        "queued.max.messages.kbytes",
        "16384",
        "at most 16 MiB read ahead per consumer",
    ),
];

impl KafkaSettings {
    /// Settings for `bootstrap_servers` with no overrides.
    pub fn new(bootstrap_servers: impl Into<String>) -> Self {
        KafkaSettings {
            bootstrap_servers: bootstrap_servers.into(),
            security: KafkaSecurity::default(),
            properties: Vec::new(),
            serving: None,
            reads: Reads::Groups,
        }
    }

    /// The cluster as log lines name it: its bootstrap servers, and what its clients serve.
    pub(super) fn cluster(&self) -> String {
        match &self.serving {
            Some(serving) => format!("{} ({serving})", self.bootstrap_servers),
            None => self.bootstrap_servers.clone(),
        }
    }

    fn client(&self, defaults: &[(&str, &str)]) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.bootstrap_servers);
        for (key, value) in self.security.properties() {
            config.set(key, value);
        }
        for (key, value) in defaults {
            config.set(*key, *value);
        }
        for (key, value) in &self.properties {
            config.set(key, value);
        }
        config
    }

    /// A producer that acknowledges only once all replicas have the record, in order (one
    /// request in flight). It waits up to 5 ms for a batch to fill (librdkafka's default, and
    /// Kafka's Java producer's since 4.0): windows are acknowledged in the background while
    /// later windows run, so the linger costs latency, not throughput, and fewer, fuller
    /// produce requests cost riff and the broker less per record (count-1 windows on tansu: riff
    /// 39 µs per record instead of 53 with 1 ms, 21k msg/s instead of 16k).
    ///
    /// It is idempotent: a produce request retried after a lost answer is not written twice.
    pub(super) fn producer(&self) -> ClientConfig {
        self.client(&[
            ("acks", "all"),
            ("enable.idempotence", "true"),
            ("linger.ms", "5"),
            ("max.in.flight.requests.per.connection", "1"),
            ("message.timeout.ms", "30000"),
        ])
    }

    /// A consumer of `group` that never commits by itself, with [`CONSUMER_DEFAULTS`].
    pub(super) fn consumer(&self, group: &str, reset: OffsetReset) -> ClientConfig {
        let reset = match reset {
            OffsetReset::Earliest => "earliest",
            OffsetReset::Latest => "latest",
        };
        let mut config = self.reader();
        config
            .set("group.id", group)
            .set("auto.offset.reset", reset);
        config
    }

    /// A consumer that reads what it is assigned, from where it is told, in no group (librdkafka
    /// wants a `group.id` to assign partitions; this one never joins it, nor commits), with
    /// [`CONSUMER_DEFAULTS`].
    pub(super) fn reader(&self) -> ClientConfig {
        let defaults: Vec<(&str, &str)> = [
            ("enable.auto.commit", "false"),
            ("enable.auto.offset.store", "false"),
        ]
        .into_iter()
        .chain(
            CONSUMER_DEFAULTS
                .iter()
                .map(|(key, value, _)| (*key, *value)),
        )
        .collect();
        let mut config = self.client(&defaults);
        config.set("group.id", "riff-shared-reader");
        config
    }

    /// A client for metadata, watermarks and admin calls.
    pub(super) fn admin(&self) -> ClientConfig {
        self.client(&[("group.id", "riff-streaming-admin")])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_that_switch_off_the_guarantee_are_refused_with_the_reason() {
        let refused = check_property("enable.auto.commit", "true").unwrap_err();
        assert!(refused.contains("enable.auto.commit=true"), "{refused}");
        assert!(refused.contains("not yet processed"), "{refused}");
        assert!(check_property("enable.auto.offset.store", "TRUE").is_err());
        assert!(check_property("acks", "1").is_err());
        assert!(check_property("acks", "0").is_err());
        assert!(check_property("group.id", "other").is_err());
        assert!(check_property("auto.offset.reset", "earliest").is_err());
    }

    #[test]
    fn consumers_get_the_documented_defaults_and_overrides_win() {
        let settings = KafkaSettings {
            properties: vec![("fetch.wait.max.ms".into(), "5".into())],
            ..KafkaSettings::new("k:9092")
        };
        let consumer = settings.consumer("g", OffsetReset::Earliest);
        assert_eq!(consumer.get("fetch.wait.max.ms"), Some("5"));
        let consumer = KafkaSettings::new("k:9092").consumer("g", OffsetReset::Latest);
        for (key, value, _) in CONSUMER_DEFAULTS {
            assert_eq!(consumer.get(key), Some(*value), "{key}");
        }
        assert_eq!(consumer.get("enable.auto.commit"), Some("false"));
        assert_eq!(consumer.get("auto.offset.reset"), Some("latest"));
        let readme = include_str!("../../../../README.md");
        for (key, value, _) in CONSUMER_DEFAULTS {
            let row = format!("| `{key}` | `{value}` |");
            assert!(readme.contains(&row), "README lists {row}");
        }
        let producer = KafkaSettings::new("k:9092").producer();
        for (key, value) in [
            ("acks", "all"),
            ("enable.idempotence", "true"),
            ("linger.ms", "5"),
        ] {
            assert_eq!(producer.get(key), Some(value), "{key}");
        }
    }

    #[test]
    fn the_shared_reader_gets_the_consumer_defaults_and_no_processor_group() {
        let settings = KafkaSettings {
            properties: vec![("fetch.wait.max.ms".into(), "5".into())],
            ..KafkaSettings::new("k:9092")
        };
        let reader = settings.reader();
        assert_eq!(reader.get("fetch.wait.max.ms"), Some("5"));
        let reader = KafkaSettings::new("k:9092").reader();
        for (key, value, _) in CONSUMER_DEFAULTS {
            assert_eq!(reader.get(key), Some(*value), "{key}");
        }
        assert_eq!(reader.get("enable.auto.commit"), Some("false"));
        assert_eq!(reader.get("group.id"), Some("riff-shared-reader"));
        assert_eq!("shared".parse(), Ok(Reads::Shared));
        assert_eq!("groups".parse(), Ok(Reads::Groups));
        assert!("group".parse::<Reads>().unwrap_err().contains("\"group\""));
    }

    #[test]
    fn properties_that_keep_the_guarantee_are_accepted() {
        assert_eq!(check_property("enable.auto.commit", "false"), Ok(()));
        assert_eq!(check_property("acks", "-1"), Ok(()));
        assert_eq!(check_property("acks", "all"), Ok(()));
        assert_eq!(check_property("session.timeout.ms", "2000"), Ok(()));
    }
}
