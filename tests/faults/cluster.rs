//! The cluster processes under faults: `riff gateway` over Kafka and the `riff processor` sidecar
//! configured as a riff-era Deployment configures it (env and CNB bindings), reading and writing
//! the Kafka-backed streams straight on Kafka (the bindings hold `bootstrapServers`).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::kafka::PARTITIONS;
use crate::scenarios::{Broker, Engine, Report};
use crate::support::{eventually, free_port, http, riff, riff_gateway, sibling_binary, Logged};
use crate::{Row, GROUP, INPUT, OUTPUT};

/// `command` with its stderr kept (and echoed as `<name>: ...`), at log level info.
fn logged(name: &str, mut command: Command) -> Logged {
    Logged::spawn(name, command.env("RUST_LOG", "info"))
}

fn wait_for_port(port: u16) {
    eventually(
        format!("a listener on {port}"),
        Duration::from_secs(20),
        || std::net::TcpStream::connect(("127.0.0.1", port)).ok(),
    );
}

/// `PUT /default/<stream>` on the provisioner at loopback `port`, 4 partitions of JSON; the
/// answer (`gateway`, `topic`).
fn provision(port: u16, stream: &str) -> serde_json::Value {
    let body = format!("{{\"partitions\":{PARTITIONS},\"contentType\":\"application/json\"}}");
    let (status, answer) = http(port, "PUT", &format!("/default/{stream}"), &body);
    assert_eq!(status, 201, "{answer}");
    serde_json::from_str(answer.trim()).unwrap()
}

/// Writes binding `name` as riff's controller mounts it, with the Kafka cluster's address.
fn bind(root: &Path, name: &str, provisioned: &serde_json::Value, kafka: &str) {
    let dir = root.join(name);
    std::fs::create_dir_all(dir.join("secret")).unwrap();
    std::fs::create_dir_all(dir.join("metadata")).unwrap();
    let field = |key: &str| provisioned[key].as_str().unwrap().to_owned();
    std::fs::write(dir.join("secret/gateway"), field("gateway")).unwrap();
    std::fs::write(dir.join("secret/topic"), field("topic")).unwrap();
    std::fs::write(dir.join("secret/bootstrapServers"), kafka).unwrap();
    std::fs::write(dir.join("metadata/contentType"), "application/json").unwrap();
}

/// How long the killed sidecar's group member outlives it on the broker: the product's session
/// timeout (the sidecar runs with the product's consumer settings) and a second of margin.
///
/// The restarted sidecar joins only after that, because of a race in tansu 0.6.0's group
/// coordinator that Kafka does not have. A newcomer that joins while the dead member is still
/// the group's leader is answered as a follower (no member list, so it assigns nothing) after a
/// 3 s pause; if the dead leader's session lapses during that pause, tansu drops it and accepts
/// the newcomer's SyncGroup, with its empty assignment list, as the leader's: the group forms
/// with no partition assigned to anybody, and stays so, since its one member heartbeats. Kafka
/// keeps the dead member in the join round until its session lapses and answers the newcomer as
/// the leader of a group without it.
fn session_lapse() -> Duration {
    let session_ms: u64 = riff_actors::broker::kafka::CONSUMER_DEFAULTS
        .iter()
        .find(|(key, ..)| *key == "session.timeout.ms")
        .and_then(|(_, value, _)| value.parse().ok())
        .expect("a default session.timeout.ms");
    Duration::from_millis(session_ms) + Duration::from_secs(1)
}

/// A gateway process over Kafka, the `pass-through` function and a sidecar copying `numbers` to
/// `copies` in 2 s windows. The sidecar starts from the earliest record: unlike `riff local
/// run`, it reports no readiness the load could wait for.
pub fn sidecar_and_gateway() -> Row {
    let mut broker = Broker::start(Engine::Memory);
    let kafka = broker.bootstrap();
    let (grpc, http) = (free_port(), free_port());
    let mut gateway = logged("gateway", riff_gateway(grpc, http, Some(&kafka)));
    wait_for_port(http);
    let bindings = tempfile::tempdir().unwrap();
    for (binding, stream, topic) in [
        ("input_000", "numbers", INPUT),
        ("output_000", "copies", OUTPUT),
    ] {
        let provisioned = provision(http, stream);
        assert_eq!(provisioned["topic"], topic, "{provisioned}");
        bind(bindings.path(), binding, &provisioned, &kafka);
    }
    let function_port = free_port();
    let mut function = Command::new(sibling_binary("pass-through"));
    function.env("GRPC_PORT", function_port.to_string());
    let _function = logged("function", function);
    let root = bindings.path().display().to_string();
    let function_address = format!("127.0.0.1:{function_port}");
    let sidecar = || {
        let mut command = Command::new(riff());
        command
            .arg("processor")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs([
                ("FUNCTION", function_address.as_str()),
                ("GROUP", GROUP),
                ("INPUT_NAMES", "numbers"),
                ("OUTPUT_NAMES", "copies"),
                ("INPUT_START_OFFSETS", "earliest"),
                ("CNB_BINDINGS", root.as_str()),
                ("WINDOW_DURATION", "2s"),
            ]);
        logged("sidecar", command)
    };
    let mut processor = sidecar();
    processor.wait_for_line("partitions assigned", Duration::from_secs(60));

    let load = broker.load();
    let mut report = Report::default();
    load.wait_share(30);
    report.fault(&broker.probe, &load, "sidecar killed and restarted", || {
        processor.child().kill();
        std::thread::sleep(session_lapse());
        processor = sidecar();
    });
    load.wait_share(60);
    report.fault(&broker.probe, &load, "gateway restarted", || {
        gateway.child().kill();
        gateway = logged("gateway", riff_gateway(grpc, http, Some(&kafka)));
        wait_for_port(http);
    });
    let row = report.conclude(crate::scenarios::ALL[5].fault, &mut broker, load);
    drop(processor);
    row
}
