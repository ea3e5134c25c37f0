//! Test support: a `riff local run` child process, a gateway client and YAML helpers.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use futures::StreamExt;
use riff_protocol::liiklus::{
    liiklus_service_client::LiiklusServiceClient, publish_request, receive_reply,
    receive_request::ContentFormat, subscribe_reply, subscribe_request::AutoOffsetReset,
    GetOffsetsRequest, LiiklusEvent, PublishRequest, ReceiveRequest, SubscribeRequest,
};
use tokio::sync::mpsc;
use tonic::transport::Channel;

pub use riff_testkit::{eventually, eventually_async, free_port, http, Logged};

/// The `riff` binary under test.
pub fn riff() -> &'static str {
    env!("CARGO_BIN_EXE_riff")
}

/// A binary built beside `riff` (the sample functions), or a clear failure.
pub fn sibling_binary(name: &str) -> PathBuf {
    let path = Path::new(riff()).with_file_name(name);
    assert!(
        path.exists(),
        "{} is missing: run tests/run.sh (it runs `cargo build --workspace --bins`)",
        path.display()
    );
    path
}

/// The riff node invoker installed by tests/run.sh.
pub fn node_invoker() -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(".tools/node-invoker/node_modules/@projectriff/node-function-invoker/server.js");
    assert!(
        path.exists(),
        "{} is missing: run tests/run.sh (it installs @projectriff/node-function-invoker@0.3.0)",
        path.display()
    );
    path
}

/// A free loopback port whose next port is free too (a second gateway of `riff local run` takes
/// the next gateway and provisioner ports), below the ephemeral range, where outgoing
/// connections take their ports.
pub fn free_port_pair() -> u16 {
    let bindable = |port: u16| std::net::TcpListener::bind(("127.0.0.1", port)).is_ok();
    loop {
        let port = 20_000 + (uuid::Uuid::new_v4().as_u128() % 12_000) as u16;
        if bindable(port) && bindable(port + 1) {
            return port;
        }
    }
}

/// A folder of YAML files for one test.
pub struct Manifests {
    pub dir: tempfile::TempDir,
}

impl Manifests {
    /// A folder holding `files` (name → YAML).
    pub fn new(files: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        for (name, yaml) in files {
            std::fs::write(dir.path().join(name), yaml).unwrap();
        }
        Manifests { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// An in-memory gateway and JSON streams, as YAML.
pub fn gateway_and_streams(streams: &[&str]) -> String {
    let mut yaml = String::from(
        "apiVersion: streaming.projectriff.io/v1alpha1\nkind: InMemoryGateway\nmetadata: {name: gw}\nspec: {}\n",
    );
    for stream in streams {
        yaml.push_str(&format!(
            "---\napiVersion: streaming.projectriff.io/v1alpha1\nkind: Stream\nmetadata: {{name: {stream}}}\nspec: {{gateway: {{name: gw}}, contentType: application/json}}\n"
        ));
    }
    yaml
}

/// A running `riff local run`, stopped when dropped.
pub struct Runtime {
    process: Logged,
    pub gateway: String,
    /// The port of its `GET /metrics`.
    pub metrics_port: u16,
}

impl Runtime {
    /// Starts `riff local run -f <paths>` on free ports and waits until it runs.
    pub fn start(paths: &[&Path]) -> Runtime {
        Self::start_with(paths, &[])
    }

    /// Starts `riff local run -f <paths> <args>` and waits until it runs. Ports chosen free may
    /// be taken meanwhile (by another test's connection): then it starts again on other ports.
    pub fn start_with(paths: &[&Path], args: &[&str]) -> Runtime {
        Self::start_with_env(paths, args, &[])
    }

    /// Like [`Runtime::start_with`], with `env` set for riff.
    pub fn start_with_env(paths: &[&Path], args: &[&str], env: &[(&str, &str)]) -> Runtime {
        for _ in 0..3 {
            let mut runtime = Self::spawn_with_env(paths, args, env);
            // Running, or its ports were taken (`Err(true)`), or it exited (`Err(false)`).
            let started = riff_testkit::within(Duration::from_secs(60), || {
                let log = runtime.log();
                let said = |text| log.iter().any(|line| line.contains(text));
                match (
                    said("running; press Ctrl-C to stop"),
                    said("Address already in use"),
                ) {
                    (true, _) => Some(Ok(())),
                    (false, true) => Some(Err(true)),
                    (false, false) if !runtime.running() => Some(Err(false)),
                    (false, false) => None,
                }
            });
            match started {
                Some(Ok(())) => return runtime,
                Some(Err(true)) => runtime.kill(),
                Some(Err(false)) => panic!("riff exited; log:\n{}", runtime.log().join("\n")),
                None => panic!(
                    "riff did not run within 60 s; log:\n{}",
                    runtime.log().join("\n")
                ),
            }
        }
        panic!("riff found its ports taken three times");
    }

    /// Starts `riff local run -f <paths>` without waiting.
    pub fn spawn(paths: &[&Path]) -> Runtime {
        Self::spawn_with(paths, &[])
    }

    /// Starts `riff local run -f <paths> <args>` on free ports without waiting.
    pub fn spawn_with(paths: &[&Path], args: &[&str]) -> Runtime {
        Self::spawn_with_env(paths, args, &[])
    }

    fn spawn_with_env(paths: &[&Path], args: &[&str], env: &[(&str, &str)]) -> Runtime {
        // A second gateway takes the next port of both the gateway and the provisioner.
        let gateway_port = free_port_pair();
        let provisioner_port = loop {
            let port = free_port_pair();
            if port.abs_diff(gateway_port) > 1 {
                break port;
            }
        };
        let gateway = format!("127.0.0.1:{gateway_port}");
        let metrics_port = free_port();
        let mut command = Command::new(riff());
        command
            .args(["local", "run", "--gateway-address", &gateway])
            .args(["--metrics-address", &format!("127.0.0.1:{metrics_port}")])
            .args(args);
        command.args([
            "--provisioner-address",
            &format!("127.0.0.1:{provisioner_port}"),
        ]);
        for path in paths {
            command.arg("-f").arg(path);
        }
        command.env("RUST_LOG", "info").envs(env.iter().copied());
        Runtime {
            process: Logged::spawn("riff", &mut command),
            gateway,
            metrics_port,
        }
    }

    /// The log lines so far.
    pub fn log(&self) -> Vec<String> {
        self.process.lines()
    }

    /// The pid in the first `started` line of a function process.
    pub fn function_pid(&self) -> i32 {
        self.pid_after("pid=")
    }

    /// The pid of the function process of processor `name` (its `started` line).
    pub fn function_pid_of(&self, name: &str) -> i32 {
        self.pid_after(&format!(
            "processor default/{name}\" actor=\"function\" pid="
        ))
    }

    /// The digits after `needle` in the first log line holding it.
    fn pid_after(&self, needle: &str) -> i32 {
        let line = self.wait_for_log(needle, Duration::from_secs(10));
        let digits: String = line[line.find(needle).unwrap() + needle.len()..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().unwrap()
    }

    /// Waits until a log line contains `text`; returns it.
    pub fn wait_for_log(&self, text: &str, timeout: Duration) -> String {
        self.process.wait_for_line(text, timeout)
    }

    /// Waits for the process to exit by itself; returns its exit code.
    pub fn wait_exit(&mut self, timeout: Duration) -> i32 {
        self.process.wait_exit(timeout).code().unwrap_or(-1)
    }

    /// Its metrics (`GET /metrics`), as OpenMetrics text.
    pub fn metrics(&self) -> String {
        let (status, text) = http(self.metrics_port, "GET", "/metrics", "");
        assert_eq!(status, 200, "{text}");
        text
    }

    /// Whether the process still runs.
    pub fn running(&mut self) -> bool {
        self.process.child().running()
    }

    /// Kills the process with SIGKILL: no cleanup at all.
    pub fn kill(&mut self) {
        self.process.child().kill();
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub fn terminate(&mut self, timeout: Duration) -> i32 {
        self.process.child().terminate();
        self.wait_exit(timeout)
    }

    /// A client of the runtime's gateway.
    pub async fn client(&self) -> Gateway {
        Gateway::connect(&self.gateway).await
    }
}

impl Drop for Runtime {
    /// A clean shutdown when it runs (its process is killed after 15 s, or at once when the test
    /// failed).
    fn drop(&mut self) {
        let child = self.process.child();
        if !std::thread::panicking() && child.running() {
            child.terminate();
            child.exits_within(Duration::from_secs(15));
        }
    }
}

/// A message as read back from a stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    pub payload: String,
    pub content_type: String,
    pub headers: HashMap<String, String>,
}

/// A liiklus client of an embedded gateway.
#[derive(Clone)]
pub struct Gateway {
    client: LiiklusServiceClient<Channel>,
}

impl Gateway {
    pub async fn connect(address: &str) -> Gateway {
        let client = LiiklusServiceClient::connect(format!("http://{address}"))
            .await
            .expect("the gateway accepts connections");
        Gateway { client }
    }

    /// Publishes to stream `stream` of namespace `default` (in-memory gateway naming).
    pub async fn publish(
        &self,
        stream: &str,
        content_type: &str,
        payload: &str,
        headers: &[(&str, &str)],
    ) -> Result<(), tonic::Status> {
        let topic = format!("default/{stream}");
        self.publish_to(&topic, content_type, payload, headers)
            .await
    }

    /// Publishes to `topic`.
    pub async fn publish_to(
        &self,
        topic: &str,
        content_type: &str,
        payload: &str,
        headers: &[(&str, &str)],
    ) -> Result<(), tonic::Status> {
        let event = LiiklusEvent {
            id: uuid::Uuid::new_v4().to_string(),
            r#type: "riff-event".into(),
            source: "e2e".into(),
            data_content_type: content_type.into(),
            data: payload.as_bytes().to_vec().into(),
            extensions: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        };
        self.client
            .clone()
            .publish(PublishRequest {
                topic: topic.to_owned(),
                event: Some(publish_request::Event::LiiklusEvent(event)),
                ..Default::default()
            })
            .await
            .map(|_| ())
    }

    /// Publishes JSON numbers.
    pub async fn publish_numbers(&self, stream: &str, numbers: impl IntoIterator<Item = i64>) {
        for n in numbers {
            self.publish(stream, "application/json", &n.to_string(), &[])
                .await
                .unwrap();
        }
    }

    /// Reads every message of `stream` from the beginning as a fresh group, until `count`
    /// messages were read or `timeout` passed.
    pub async fn read(&self, stream: &str, count: usize, timeout: Duration) -> Vec<Received> {
        let (sender, mut received) = mpsc::channel(1024);
        let mut client = self.client.clone();
        let mut assignments = client
            .subscribe(SubscribeRequest {
                topic: format!("default/{stream}"),
                group: format!("reader-{}", uuid::Uuid::new_v4()),
                auto_offset_reset: AutoOffsetReset::Earliest as i32,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        let reader = tokio::spawn(async move {
            while let Some(Ok(reply)) = assignments.next().await {
                let Some(subscribe_reply::Reply::Assignment(assignment)) = reply.reply else {
                    continue;
                };
                let (mut client, sender) = (client.clone(), sender.clone());
                tokio::spawn(async move {
                    let request = ReceiveRequest {
                        assignment: Some(assignment),
                        format: ContentFormat::LiiklusEvent as i32,
                        ..Default::default()
                    };
                    let mut records = client.receive(request).await.unwrap().into_inner();
                    while let Some(Ok(reply)) = records.next().await {
                        if let Some(receive_reply::Reply::LiiklusEventRecord(record)) = reply.reply
                        {
                            let event = record.event.unwrap_or_default();
                            let message = Received {
                                payload: String::from_utf8_lossy(&event.data).into_owned(),
                                content_type: event.data_content_type,
                                headers: event.extensions,
                            };
                            if sender.send(message).await.is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        let mut messages = Vec::new();
        let deadline = tokio::time::Instant::now() + timeout;
        while messages.len() < count {
            match tokio::time::timeout_at(deadline, received.recv()).await {
                Ok(Some(message)) => messages.push(message),
                _ => break,
            }
        }
        reader.abort();
        messages
    }

    /// The committed positions of `group` on `stream` (in-memory gateway naming).
    pub async fn committed(&self, stream: &str, group: &str) -> BTreeMap<u32, u64> {
        self.committed_on(&format!("default/{stream}"), group).await
    }

    /// Waits until `group` committed `offset` of partition 0 of `stream`.
    pub async fn wait_committed(&self, stream: &str, group: &str, offset: u64) {
        let what = format!("{group} to commit offset {offset} of {stream}");
        eventually_async(what, Duration::from_secs(10), || async {
            let committed = self.committed(stream, group).await;
            (committed.get(&0) == Some(&offset)).then_some(())
        })
        .await
    }

    /// Acks `offset` of `partition` of `topic` for `group`.
    pub async fn ack(&self, topic: &str, group: &str, partition: u32, offset: u64) {
        let request = riff_protocol::liiklus::AckRequest {
            topic: topic.into(),
            group: group.into(),
            partition,
            offset,
            ..Default::default()
        };
        self.client.clone().ack(request).await.unwrap();
    }

    /// The committed positions (GetOffsets) of `group` on `topic`.
    pub async fn committed_on(&self, topic: &str, group: &str) -> BTreeMap<u32, u64> {
        let reply = self
            .client
            .clone()
            .get_offsets(GetOffsetsRequest {
                topic: topic.into(),
                group: group.into(),
                group_version: 0,
            })
            .await
            .unwrap()
            .into_inner();
        reply.offsets.into_iter().collect()
    }
}

/// Payloads parsed as JSON numbers.
pub fn numbers(messages: &[Received]) -> Vec<f64> {
    messages
        .iter()
        .map(|m| {
            m.payload
                .trim()
                .parse::<f64>()
                .unwrap_or_else(|_| panic!("not a number: {m:?}"))
        })
        .collect()
}

/// A processor whose function container runs `command` with `env` (YAML flow list).
pub struct ProcessorYaml<'a> {
    pub name: &'a str,
    pub inputs: &'a [&'a str],
    pub outputs: &'a [&'a str],
    /// The window, as YAML: `{count: 3}`.
    pub window: &'a str,
    pub command: Vec<String>,
    /// The env, as a YAML flow list: `[{name: A, value: b}]`.
    pub env: &'a str,
    /// The delivery policy, as a YAML flow map (`{maxAttempts: 3}`); empty for none.
    pub delivery: &'a str,
}

impl ProcessorYaml<'_> {
    /// A processor running a sample function built beside `riff`.
    pub fn sample<'a>(
        name: &'a str,
        function: &str,
        inputs: &'a [&'a str],
        outputs: &'a [&'a str],
        window: &'a str,
    ) -> ProcessorYaml<'a> {
        ProcessorYaml {
            name,
            inputs,
            outputs,
            window,
            command: vec![sibling_binary(function).display().to_string()],
            env: "[]",
            delivery: "",
        }
    }

    pub fn yaml(&self) -> String {
        let list = |streams: &[&str]| {
            // `stream@earliest` sets the start offset.
            let streams: Vec<_> = streams
                .iter()
                .map(|s| match s.split_once('@') {
                    Some((s, offset)) => format!("{{stream: {s}, startOffset: {offset}}}"),
                    None => format!("{{stream: {s}}}"),
                })
                .collect();
            streams.join(", ")
        };
        format!(
            "---
apiVersion: streaming.projectriff.io/v1alpha1
kind: Processor
metadata: {{name: {}}}
spec:
  inputs: [{}]
  outputs: [{}]
  window: {}{}
  template:
    spec:
      containers:
      - image: example/function
        command: [{}]
        env: {}
",
            self.name,
            list(self.inputs),
            list(self.outputs),
            self.window,
            match self.delivery {
                "" => String::new(),
                delivery => format!("\n  delivery: {delivery}"),
            },
            self.command.join(", "),
            self.env
        )
    }
}

/// Whether process `pid` is alive (exited processes not yet reaped are zombies, `Z`).
pub fn is_alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit(") ")
            .next()
            .is_some_and(|rest| !rest.starts_with('Z'))
    })
}

/// `riff gateway` serving the liiklus API on loopback port `grpc` (also its `GATEWAY` address)
/// and the provisioner API on `http`, over Kafka at `kafka` or else over memory.
pub fn riff_gateway(grpc: u16, http: u16, kafka: Option<&str>) -> Command {
    let gateway = format!("127.0.0.1:{grpc}");
    let mut command = Command::new(riff());
    command
        .args(["gateway", "--grpc-address", &gateway])
        .args(["--provisioner-address", &format!("127.0.0.1:{http}")])
        .env("GATEWAY", &gateway);
    if let Some(servers) = kafka {
        command
            .env("storage_records_type", "KAFKA")
            .env("kafka_bootstrapServers", servers);
    }
    command
}

/// An in-memory gateway, streams `numbers` and `squares`, and processor `squarer` running
/// `function` in `window` with container `env` (YAML).
pub fn square_processor(function: &str, window: &str, env: &str) -> String {
    let processor = ProcessorYaml {
        env,
        ..ProcessorYaml::sample("squarer", function, &["numbers"], &["squares"], window)
    };
    gateway_and_streams(&["numbers", "squares"]) + &processor.yaml()
}
