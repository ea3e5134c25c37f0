//! Kafka for the benchmarks: a tansu broker child process, the broker client, a flooding producer.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::ClientConfig;
use riff_actors::broker::kafka::{KafkaBroker, KafkaSettings};
use riff_actors::broker::Broker;

use crate::function::wait_for_port;
use crate::measure::{free_port, json_payload};

/// A tansu broker (memory engine) on a free loopback port, killed when dropped.
pub struct Tansu {
    child: Child,
    /// `127.0.0.1:<port>`.
    pub bootstrap: String,
}

impl Tansu {
    /// Starts `binary broker` on a free port.
    pub fn start(binary: &PathBuf) -> Tansu {
        let port = free_port();
        let url = format!("tcp://127.0.0.1:{port}");
        let child = Command::new(binary)
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
            ])
            .args(["--storage-engine", "memory://tansu/"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", binary.display()));
        wait_for_port(port);
        Tansu {
            child,
            bootstrap: format!("127.0.0.1:{port}"),
        }
    }

    /// Our broker client on this tansu, with quick group joins.
    pub fn broker(&self) -> Arc<dyn Broker> {
        let mut settings = KafkaSettings::new(&self.bootstrap);
        settings.properties = vec![
            ("session.timeout.ms".into(), "2000".into()),
            ("heartbeat.interval.ms".into(), "500".into()),
        ];
        Arc::new(KafkaBroker::connect(settings).expect("a Kafka client"))
    }
}

impl Drop for Tansu {
    fn drop(&mut self) {
        _ = self.child.kill();
        _ = self.child.wait();
    }
}

/// Produces 100-byte JSON records to `topic` as fast as the broker takes them, for `duration`.
pub async fn flood(bootstrap: String, topic: String, duration: Duration) {
    tokio::task::spawn_blocking(move || {
        let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .set("linger.ms", "5")
            .create()
            .expect("a producer");
        let end = Instant::now() + duration;
        let mut i = 0;
        while Instant::now() < end {
            let payload = json_payload(i, 100);
            let record = BaseRecord::<(), _>::to(&topic)
                .payload(payload.as_ref())
                .headers(
                    rdkafka::message::OwnedHeaders::new().insert(rdkafka::message::Header {
                        key: "content-type",
                        value: Some("application/json"),
                    }),
                );
            if producer.send(record).is_err() {
                std::thread::sleep(Duration::from_millis(1));
            }
            i += 1;
        }
        _ = producer.flush(Duration::from_secs(10));
    })
    .await
    .unwrap();
}
