//! The cluster processes, run as riff-era Deployments run them: `riff gateway` and the
//! `riff processor` sidecar configured by riff's env vars and `/var/riff/bindings` layout.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::metrics::{openmetrics, total};
use crate::support::*;
use riff_testkit::Child;

fn wait_for_port(port: u16) {
    eventually(
        format!("a listener on {port}"),
        Duration::from_secs(20),
        || std::net::TcpStream::connect(("127.0.0.1", port)).ok(),
    );
}

/// `PUT /default/<stream>` on the provisioner with our JSON body extension; the answer's body.
fn provision(port: u16, stream: &str, content_type: &str) -> serde_json::Value {
    let body = format!("{{\"contentType\":\"{content_type}\"}}");
    let (status, answer) = http(port, "PUT", &format!("/default/{stream}"), &body);
    assert_eq!(status, 201, "{answer}");
    serde_json::from_str(answer.trim()).unwrap()
}

/// Writes binding `input_000`/`output_000` as riff's controller mounts it, plus the Kafka
/// bootstrap servers of a Kafka-backed stream when given.
fn bind(
    root: &Path,
    binding: &str,
    provisioned: &serde_json::Value,
    content_type: &str,
    kafka: Option<&str>,
) {
    let dir = root.join(binding);
    std::fs::create_dir_all(dir.join("secret")).unwrap();
    std::fs::create_dir_all(dir.join("metadata")).unwrap();
    std::fs::write(
        dir.join("secret/gateway"),
        provisioned["gateway"].as_str().unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.join("secret/topic"),
        provisioned["topic"].as_str().unwrap(),
    )
    .unwrap();
    std::fs::write(dir.join("metadata/contentType"), content_type).unwrap();
    if let Some(servers) = kafka {
        std::fs::write(dir.join("secret/bootstrapServers"), servers).unwrap();
    }
}

/// `riff processor` with `env` only (no inherited riff variables).
fn sidecar(env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(riff());
    command
        .arg("processor")
        .env_clear()
        .envs(env.iter().copied());
    command.env("PATH", std::env::var("PATH").unwrap_or_default());
    command
}

/// A gateway process, a `square` function and a `riff processor` sidecar squaring stream
/// `numbers` into `squares` (count-1 windows); Kafka-backed bindings when `kafka` is given.
pub struct Deployment {
    /// The gateway's gRPC API, `host:port`.
    pub gateway: String,
    /// The sidecar's `GET /status` (and `GET /metrics`) port.
    pub status_port: u16,
    gateway_process: Child,
    gateway_command: Command,
    /// The gateway's provisioner (and `GET /metrics`) port.
    pub provisioner_port: u16,
    _processes: Vec<Child>,
    _bindings: tempfile::TempDir,
}

impl Deployment {
    pub fn start(kafka: Option<&str>) -> Deployment {
        Self::start_with(kafka, "square", &[], &[])
    }

    /// Like [`Deployment::start`], with function `function` (env `function_env`) and the
    /// sidecar's `extra` env.
    fn start_with(
        kafka: Option<&str>,
        function: &str,
        function_env: &[(&str, &str)],
        extra: &[(&str, &str)],
    ) -> Deployment {
        let (grpc, http) = (free_port(), free_port());
        let gateway = format!("127.0.0.1:{grpc}");
        let mut gateway_command = riff_gateway(grpc, http, kafka);
        let gateway_process = Child::spawn("riff gateway", &mut gateway_command);
        let mut processes = Vec::new();
        wait_for_port(http);
        let bindings = tempfile::tempdir().unwrap();
        for (binding, stream) in [("input_000", "numbers"), ("output_000", "squares")] {
            let provisioned = provision(http, stream, "application/json");
            bind(
                bindings.path(),
                binding,
                &provisioned,
                "application/json",
                kafka,
            );
        }
        let function_port = free_port();
        processes.push(Child::spawn(
            function,
            Command::new(sibling_binary(function))
                .env("GRPC_PORT", function_port.to_string())
                .envs(function_env.iter().copied()),
        ));
        let function = format!("127.0.0.1:{function_port}");
        let root = bindings.path().display().to_string();
        let status_port = free_port();
        let status_address = format!("127.0.0.1:{status_port}");
        let mut env = vec![
            ("FUNCTION", function.as_str()),
            ("GROUP", "squarer"),
            ("INPUT_NAMES", "numbers"),
            ("OUTPUT_NAMES", "squares"),
            ("INPUT_START_OFFSETS", "earliest"),
            ("CNB_BINDINGS", &root),
            ("WINDOW_COUNT", "1"),
            ("STATUS_ADDRESS", &status_address),
            ("POD_NAMESPACE", "default"),
        ];
        env.extend_from_slice(extra);
        processes.push(Child::spawn(
            "riff processor",
            sidecar(&env).stderr(Stdio::inherit()),
        ));
        Deployment {
            gateway,
            status_port,
            gateway_process,
            gateway_command,
            provisioner_port: http,
            _processes: processes,
            _bindings: bindings,
        }
    }

    /// Kills the gateway process and starts it again (an in-memory gateway comes back empty:
    /// its streams are provisioned again, as the controller would).
    fn restart_gateway(&mut self) {
        self.gateway_process.kill();
        self.gateway_process = Child::spawn("riff gateway", &mut self.gateway_command);
        wait_for_port(self.provisioner_port);
        for stream in ["numbers", "squares"] {
            provision(self.provisioner_port, stream, "application/json");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_riff_era_processor_deployment_runs_on_the_gateway_and_sidecar_processes() {
    let deployment = Deployment::start(None);
    let gateway = Gateway::connect(&deployment.gateway).await;
    gateway.publish_numbers("numbers", [2, 3]).await;
    let squares = gateway.read("squares", 2, Duration::from_secs(20)).await;
    assert_eq!(numbers(&squares), [4.0, 9.0]);
    gateway.wait_committed("numbers", "squarer", 1).await;

    // What an operator's Prometheus scrapes from the two pods.
    let squarer = ("processor", "squarer");
    let sidecar = eventually("the sidecar's lag at 0", Duration::from_secs(20), || {
        let (_, text) = http(deployment.status_port, "GET", "/metrics", "");
        let samples = openmetrics(&text);
        let lags: Vec<f64> = samples
            .iter()
            .filter(|(name, labels, _)| {
                name == "riff_consumer_lag" && labels["stream"] == "numbers"
            })
            .map(|(.., lag)| *lag)
            .collect();
        (!lags.is_empty() && lags.iter().all(|lag| *lag == 0.0)).then_some(samples)
    });
    let read = [squarer, ("stream", "numbers"), ("namespace", "default")];
    assert_eq!(total(&sidecar, "riff_records_read_total", &read), 2.0);
    let written = [squarer, ("stream", "squares")];
    assert_eq!(total(&sidecar, "riff_records_written_total", &written), 2.0);
    assert_eq!(
        total(&sidecar, "riff_calls_total", &[squarer]),
        2.0,
        "count-1 windows"
    );
    let (_, text) = http(deployment.provisioner_port, "GET", "/metrics", "");
    let gateway = openmetrics(&text);
    let ok = [("outcome", "ok")];
    assert_eq!(
        total(&gateway, "riff_gateway_publishes_total", &ok),
        4.0,
        "2 numbers and 2 squares published"
    );
    let publishes = total(&gateway, "riff_gateway_publish_duration_seconds_count", &[]);
    assert_eq!(publishes, 4.0);
    let created = [("outcome", "created")];
    assert_eq!(
        total(&gateway, "riff_gateway_provisions_total", &created),
        2.0
    );
    assert!(total(&gateway, "riff_gateway_subscriptions_total", &[]) >= 2.0);
    assert!(total(&gateway, "riff_gateway_delivered_records_total", &[]) >= 4.0);
    assert!(total(&gateway, "riff_gateway_acks_total", &[]) >= 1.0);
    assert_eq!(total(&gateway, "riff_gateway_broker_up", &[]), 1.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sidecar_rides_out_a_gateway_restart() {
    let mut deployment = Deployment::start(None);
    let gateway = Gateway::connect(&deployment.gateway).await;
    gateway.publish_numbers("numbers", [2]).await;
    assert_eq!(
        numbers(&gateway.read("squares", 1, Duration::from_secs(20)).await),
        [4.0]
    );

    deployment.restart_gateway();
    let gateway = Gateway::connect(&deployment.gateway).await;
    gateway.publish_numbers("numbers", [3]).await;
    // The sidecar's subscription ended with the old gateway: its pipeline is rebuilt with
    // backoff and reads the new gateway's stream from the earliest record.
    assert_eq!(
        numbers(&gateway.read("squares", 1, Duration::from_secs(30)).await),
        [9.0]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sidecar_reads_and_writes_kafka_backed_streams_straight_on_kafka() {
    let tansu = crate::kafka_support::Tansu::memory();
    let _deployment = Deployment::start(Some(&tansu.bootstrap()));
    let kafka = crate::kafka_support::Plain::new(&tansu.bootstrap());
    kafka.produce_numbers("default_numbers", [2, 3]).await;
    let squares = kafka
        .read("default_squares", 2, Duration::from_secs(30))
        .await;
    let values: Vec<_> = squares.iter().map(|record| record.value.as_str()).collect();
    assert_eq!(values, ["4", "9"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sidecar_stopped_at_a_record_that_failed_every_attempt_says_so_at_get_status() {
    let deployment = Deployment::start_with(
        None,
        "flaky-square",
        &[("FAIL_ON", "3")],
        &[
            ("DELIVERY_MAX_ATTEMPTS", "2"),
            ("DELIVERY_BACKOFF_MAX", "200ms"),
        ],
    );
    wait_for_port(deployment.status_port);
    assert_eq!(http(deployment.status_port, "GET", "/status", "").1, "{}");
    let gateway = Gateway::connect(&deployment.gateway).await;
    gateway.publish_numbers("numbers", [2, 3, 4]).await;
    let report = eventually(
        "the sidecar to report the record",
        Duration::from_secs(30),
        || {
            let (status, body) = http(deployment.status_port, "GET", "/status", "");
            assert_eq!(status, 200, "{body}");
            let report: serde_json::Value = serde_json::from_str(&body).unwrap();
            (!report["deliveryFailed"].is_null()).then_some(report)
        },
    );
    let stalled = &report["deliveryFailed"];
    assert_eq!(stalled["topic"], "default/numbers");
    assert_eq!(
        (stalled["partition"].as_u64(), stalled["offset"].as_u64()),
        (Some(0), Some(1))
    );
    assert_eq!(stalled["attempts"], 2);
    assert!(
        stalled["error"].as_str().unwrap().contains("fails on 3"),
        "{stalled}"
    );
    // Reading stopped there: 2 was squared, 4 waits behind 3.
    assert_eq!(
        numbers(&gateway.read("squares", 1, Duration::from_secs(10)).await),
        [4.0]
    );
    gateway.wait_committed("numbers", "squarer", 0).await;
}

/// Waits until `GET /readyz` on the provisioner port answers `status`.
fn wait_readyz(port: u16, status: u16) {
    eventually(format!("/readyz {status}"), Duration::from_secs(30), || {
        (http(port, "GET", "/readyz", "").0 == status).then_some(())
    });
}

// The gateway pod's readiness probe follows its Kafka cluster: not ready while it is down.
#[test]
fn a_kafka_gateway_is_ready_only_while_kafka_answers() {
    let mut tansu = crate::kafka_support::Tansu::memory();
    let (grpc, http) = (free_port(), free_port());
    let _gateway = Child::spawn(
        "riff gateway",
        &mut riff_gateway(grpc, http, Some(&tansu.bootstrap())),
    );
    wait_for_port(http);
    wait_readyz(http, 200);
    tansu.stop();
    wait_readyz(http, 503);
    tansu.restart();
    wait_readyz(http, 200);
}

fn exit(output: &Output) -> (i32, String) {
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn the_sidecar_lists_missing_variables_and_exits_1() {
    let (code, stderr) = exit(&sidecar(&[("FUNCTION", "localhost:8081")]).output().unwrap());
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("GROUP, INPUT_NAMES, OUTPUT_NAMES, INPUT_START_OFFSETS, CNB_BINDINGS"),
        "{stderr}"
    );
}

#[test]
fn the_sidecar_exits_2_when_offsets_and_names_differ_in_count() {
    let env = [
        ("FUNCTION", "localhost:8081"),
        ("GROUP", "p"),
        ("INPUT_NAMES", "a,b"),
        ("OUTPUT_NAMES", ""),
        ("INPUT_START_OFFSETS", "earliest"),
        ("CNB_BINDINGS", "/nonexistent"),
    ];
    let (code, stderr) = exit(&sidecar(&env).output().unwrap());
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("INPUT_START_OFFSETS has 1 entries but INPUT_NAMES has 2"),
        "{stderr}"
    );
}
