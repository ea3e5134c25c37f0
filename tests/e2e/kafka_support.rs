//! Test support for Kafka: a tansu broker child process and a plain rdkafka client.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer, StreamConsumer};
use rdkafka::message::{Header, Headers, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Message as _};

use crate::support::{eventually, free_port, Logged};

/// The `riff local run` arguments of the test broker's librdkafka settings
/// (`tests/tansu.properties`: quick fetches and group joins).
pub fn tansu_args() -> Vec<&'static str> {
    include_str!("../tansu.properties")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .flat_map(|property| ["--kafka-property", property])
        .collect()
}

/// [`tansu_args`] for one replica of several `riff local run`s of the same YAML: their
/// processors join their consumer groups, which share the partitions among the replicas (the
/// default, shared reads, reads every partition for every processor of the one process).
pub fn replica_args() -> Vec<&'static str> {
    let mut args = tansu_args();
    args.extend(["--kafka-reads", "groups"]);
    args
}

/// A tansu broker on a free loopback port, killed when dropped.
pub struct Tansu {
    child: Option<Logged>,
    port: u16,
    storage: String,
    dir: PathBuf,
    /// Clients must authenticate (SASL SCRAM).
    authentication: bool,
    /// The port the broker tells clients to reach it on, when not its own (a proxy's).
    advertised_port: Option<u16>,
}

impl Tansu {
    /// A broker keeping everything in memory.
    pub fn memory() -> Tansu {
        Tansu::start("memory://tansu/", std::env::temp_dir())
    }

    /// A broker keeping everything in memory that tells clients to reach it on loopback port
    /// `advertised_port` (a proxy in front of it) rather than on its own port.
    pub fn memory_advertising(advertised_port: u16) -> Tansu {
        let mut tansu = Tansu::new("memory://tansu/", std::env::temp_dir());
        tansu.advertised_port = Some(advertised_port);
        tansu.restart();
        tansu
    }

    /// A broker keeping its data in the SQLite file `tansu.db` of `dir` (survives restarts).
    pub fn sqlite(dir: &std::path::Path) -> Tansu {
        // tansu resolves the path of a sqlite:// URL against its working directory.
        Tansu::start("sqlite://tansu.db", dir.to_path_buf())
    }

    /// A broker keeping its data in SQLite in `dir`, whose clients must authenticate with
    /// SCRAM-SHA-512 as `user`: tansu 0.6.0 adds users only through a running broker and has no
    /// SCRAM on its memory engine, so the user is created before authentication is switched on.
    pub fn scram(dir: &std::path::Path, user: &str, password: &str) -> Tansu {
        let mut tansu = Tansu::sqlite(dir);
        let broker = format!("tcp://127.0.0.1:{}", tansu.port);
        let created = Command::new(tansu_binary())
            .args([
                "user",
                "create",
                "--broker",
                &broker,
                "--mechanism",
                "scram512",
            ])
            .args([user, password])
            .status()
            .expect("tansu user create runs");
        assert!(created.success(), "tansu user create: {created}");
        tansu.authentication = true;
        tansu.restart();
        tansu
    }

    fn start(storage: &str, dir: PathBuf) -> Tansu {
        let mut tansu = Tansu::new(storage, dir);
        tansu.restart();
        tansu
    }

    /// A broker not started yet.
    fn new(storage: &str, dir: PathBuf) -> Tansu {
        Tansu {
            child: None,
            port: free_port(),
            storage: storage.into(),
            dir,
            authentication: false,
            advertised_port: None,
        }
    }

    /// `host:port` for `bootstrapServers`.
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Stops the broker (SIGKILL).
    pub fn stop(&mut self) {
        self.child = None; // killed when dropped
    }

    /// How the broker process ended, if it ended by itself (killed by [`Tansu::stop`] or
    /// running: `None`).
    #[allow(dead_code)] // the fault-injection suite's
    pub fn exit_status(&mut self) -> Option<std::process::ExitStatus> {
        self.child.as_mut()?.child().try_wait().ok().flatten()
    }

    /// (Re)starts the broker on the same port and storage, and waits until it accepts connections.
    pub fn restart(&mut self) {
        self.stop();
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let advertised = format!(
            "tcp://127.0.0.1:{}",
            self.advertised_port.unwrap_or(self.port)
        );
        // tansu logs to stdout: its warnings go to the test's output, shown when it fails.
        let child = Logged::spawn_stdout(
            "tansu",
            Command::new(tansu_binary())
                .args([
                    "broker",
                    "--listener-url",
                    &url,
                    "--advertised-listener-url",
                    &advertised,
                ])
                .args(["--storage-engine", &self.storage])
                .args(self.authentication.then_some("--authentication"))
                .current_dir(&self.dir)
                .env("RUST_LOG", "warn")
                .env("NO_COLOR", "1"),
        );
        self.child = Some(child);
        let what = format!("tansu to listen on {}", self.port);
        eventually(what, Duration::from_secs(20), || {
            std::net::TcpStream::connect(("127.0.0.1", self.port)).ok()
        });
    }
}

/// The tansu binary installed by tests/run.sh.
fn tansu_binary() -> PathBuf {
    let path = riff_testkit::tansu_path();
    assert!(
        path.exists(),
        "{} is missing: run tests/tansu/install.sh (tansu 0.6.0, patched, with its engines)",
        path.display()
    );
    path
}

/// A record as a plain Kafka client sees it.
#[derive(Debug, Clone)]
pub struct KafkaRecord {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<String>,
    pub value: String,
    pub headers: HashMap<String, String>,
}

/// A plain Kafka client, as any application would use.
pub struct Plain {
    bootstrap: String,
    properties: Vec<(String, String)>,
    producer: FutureProducer,
}

impl Plain {
    pub fn new(bootstrap: &str) -> Plain {
        Plain::with_properties(bootstrap, &[])
    }

    /// A client with librdkafka `properties` (e.g. SASL credentials) on every connection.
    pub fn with_properties(bootstrap: &str, properties: &[(&str, &str)]) -> Plain {
        let properties: Vec<(String, String)> = (properties.iter())
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect();
        let producer = Plain::config(bootstrap, &properties)
            .set("linger.ms", "0")
            .create()
            .unwrap();
        Plain {
            bootstrap: bootstrap.into(),
            properties,
            producer,
        }
    }

    fn config(bootstrap: &str, properties: &[(String, String)]) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", bootstrap);
        for (key, value) in properties {
            config.set(key, value);
        }
        config
    }

    /// Produces `value` with `headers` (e.g. `content-type`) and an optional key.
    pub async fn produce(
        &self,
        topic: &str,
        key: Option<&str>,
        value: &str,
        headers: &[(&str, &str)],
    ) {
        let kafka_headers = kafka_headers(headers);
        let mut record = FutureRecord::to(topic)
            .payload(value)
            .headers(kafka_headers);
        if let Some(key) = key {
            record = record.key(key);
        }
        self.send(record).await;
    }

    /// Produces `value` with `headers` to `partition`, with Kafka timestamp `timestamp_ms`
    /// when given.
    pub async fn produce_at(
        &self,
        topic: &str,
        partition: i32,
        timestamp_ms: Option<i64>,
        value: &str,
        headers: &[(&str, &str)],
    ) {
        let kafka_headers = kafka_headers(headers);
        let mut record = FutureRecord::<(), _>::to(topic)
            .payload(value)
            .partition(partition)
            .headers(kafka_headers);
        if let Some(timestamp) = timestamp_ms {
            record = record.timestamp(timestamp);
        }
        self.send(record).await;
    }

    async fn send<K: rdkafka::message::ToBytes + ?Sized>(&self, record: FutureRecord<'_, K, str>) {
        (self.producer.send(record, Duration::from_secs(10)).await)
            .map_err(|(error, _)| error)
            .expect("the broker accepts the record");
    }

    /// The positions `group` committed on `topic`, by partition.
    pub fn committed(&self, topic: &str, group: &str) -> HashMap<i32, i64> {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &self.bootstrap)
            .set("group.id", group)
            .create()
            .unwrap();
        let metadata = consumer
            .fetch_metadata(Some(topic), Duration::from_secs(10))
            .unwrap();
        let mut partitions = rdkafka::TopicPartitionList::new();
        for partition in metadata.topics()[0].partitions() {
            partitions.add_partition(topic, partition.id());
        }
        let committed = consumer
            .committed_offsets(partitions, Duration::from_secs(10))
            .unwrap();
        committed
            .elements()
            .iter()
            .filter_map(|e| {
                e.offset()
                    .to_raw()
                    .filter(|o| *o >= 0)
                    .map(|o| (e.partition(), o))
            })
            .collect()
    }

    /// JSON numbers with `content-type: application/json`, keyless.
    pub async fn produce_numbers(&self, topic: &str, numbers: impl IntoIterator<Item = i64>) {
        for n in numbers {
            let headers = [("content-type", "application/json")];
            self.produce(topic, None, &n.to_string(), &headers).await;
        }
    }

    /// Reads `topic` from the beginning as a fresh group until `count` records or `timeout`.
    pub async fn read(&self, topic: &str, count: usize, timeout: Duration) -> Vec<KafkaRecord> {
        self.read_until(topic, timeout, |records| records.len() >= count)
            .await
    }

    /// Reads `topic` from the beginning as a fresh group until `done` or `timeout`.
    pub async fn read_until(
        &self,
        topic: &str,
        timeout: Duration,
        done: impl Fn(&[KafkaRecord]) -> bool,
    ) -> Vec<KafkaRecord> {
        let consumer: StreamConsumer = Plain::config(&self.bootstrap, &self.properties)
            .set("group.id", format!("reader-{}", uuid::Uuid::new_v4()))
            .set("auto.offset.reset", "earliest")
            .set("session.timeout.ms", "2000")
            .set("heartbeat.interval.ms", "500")
            .set("fetch.wait.max.ms", "10")
            .set("fetch.queue.backoff.ms", "10")
            .create()
            .unwrap();
        consumer.subscribe(&[topic]).unwrap();
        let deadline = tokio::time::Instant::now() + timeout;
        let (mut records, mut seen) = (Vec::new(), std::collections::HashSet::new());
        while !done(&records) {
            let Ok(Ok(message)) = tokio::time::timeout_at(deadline, consumer.recv()).await else {
                break;
            };
            // A rebalance of the reader's own group (a heartbeat late on a loaded machine) reads
            // again from its last commit: a record read twice is one record of the topic.
            if !seen.insert((message.partition(), message.offset())) {
                continue;
            }
            let headers = message
                .headers()
                .map(|headers| {
                    headers
                        .iter()
                        .map(|h| {
                            (
                                h.key.to_owned(),
                                String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            records.push(KafkaRecord {
                partition: message.partition(),
                offset: message.offset(),
                key: message
                    .key()
                    .map(|k| String::from_utf8_lossy(k).into_owned()),
                value: String::from_utf8_lossy(message.payload().unwrap_or_default()).into_owned(),
                headers,
            });
        }
        records
    }
}

/// `headers` as Kafka headers.
fn kafka_headers(headers: &[(&str, &str)]) -> OwnedHeaders {
    (headers.iter()).fold(OwnedHeaders::new(), |kafka, (key, value)| {
        kafka.insert(Header {
            key,
            value: Some(*value),
        })
    })
}

/// A tansu broker and the YAML of [`squarer_on_kafka`] on it.
pub struct Scene {
    pub tansu: Tansu,
    manifests: crate::support::Manifests,
}

impl Scene {
    /// `tansu`, and streams of `partitions` partitions processed by `function` in `window`.
    pub fn new(tansu: Tansu, partitions: u32, function: &str, window: &str) -> Scene {
        let yaml = squarer_on_kafka(&tansu.bootstrap(), partitions, function, window);
        let manifests = crate::support::Manifests::new(&[("all.yaml", &yaml)]);
        Scene { tansu, manifests }
    }

    /// Starts `riff local run` on the scene's YAML (quick group joins) and waits until it runs.
    pub fn run(&self) -> crate::support::Runtime {
        crate::support::Runtime::start_with(&[self.manifests.path()], &tansu_args())
    }

    /// Starts `riff local run` on the scene's YAML with [`tansu_args`] and `more` arguments, and
    /// waits until it runs.
    pub fn run_with(&self, more: &[&str]) -> crate::support::Runtime {
        let mut args = tansu_args();
        args.extend(more);
        crate::support::Runtime::start_with(&[self.manifests.path()], &args)
    }

    /// Starts a replica of `riff local run` on the scene's YAML (see [`replica_args`]) and
    /// waits until it reports running.
    pub fn run_replica(&self) -> crate::support::Runtime {
        crate::support::Runtime::start_with(&[self.manifests.path()], &replica_args())
    }

    /// Starts a replica like [`Scene::run_replica`] without waiting.
    pub fn spawn_replica(&self) -> crate::support::Runtime {
        crate::support::Runtime::spawn_with(&[self.manifests.path()], &replica_args())
    }

    /// A plain Kafka client of the scene's broker.
    pub fn plain(&self) -> Plain {
        Plain::new(&self.tansu.bootstrap())
    }
}

/// YAML: a KafkaGateway `franz` on `bootstrap`, and on it the `application/json` streams
/// `streams` of `partitions` partitions each.
pub fn franz_with_streams(bootstrap: &str, streams: &[&str], partitions: u32) -> String {
    let mut yaml = format!(
        "apiVersion: streaming.projectriff.io/v1alpha1
kind: KafkaGateway
metadata: {{name: franz}}
spec: {{bootstrapServers: '{bootstrap}'}}
"
    );
    for stream in streams {
        yaml.push_str(&format!(
            "---
apiVersion: streaming.projectriff.io/v1alpha1
kind: Stream
metadata: {{name: {stream}}}
spec: {{gateway: {{name: franz}}, contentType: application/json, partitions: {partitions}}}
"
        ));
    }
    yaml
}

/// A KafkaGateway `franz` on `bootstrap`, streams `numbers` and `squares` of `partitions`
/// partitions, and a processor `squarer` running `function` on them from the earliest record.
pub fn squarer_on_kafka(bootstrap: &str, partitions: u32, function: &str, window: &str) -> String {
    let yaml = franz_with_streams(bootstrap, &["numbers", "squares"], partitions);
    let processor = crate::support::ProcessorYaml::sample(
        "squarer",
        function,
        &["numbers@earliest"],
        &["squares"],
        window,
    );
    yaml + &processor.yaml()
}

/// The values read more than once, each with its copies' `partition:offset` and `ce_id`.
pub fn repeats(records: &[KafkaRecord]) -> String {
    let mut copies: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    for record in records {
        let id = record.headers.get("ce_id").map_or("-", String::as_str);
        let copy = format!("{}:{} (ce_id {id})", record.partition, record.offset);
        copies.entry(record.value.trim()).or_default().push(copy);
    }
    let repeated = copies.into_iter().filter(|(_, copies)| copies.len() > 1);
    let repeated: Vec<String> = repeated
        .map(|(value, copies)| format!("{value} at {}", copies.join(", ")))
        .collect();
    repeated.join("; ")
}
