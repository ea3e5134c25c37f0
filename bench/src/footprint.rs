//! Resident memory of the `riff` process: with 1 and with 100 idle processors, and over time
//! under sustained overload (a producer faster than the processor).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::function::sibling;
use crate::measure::{free_port, rss_mib};

/// `riff local run` of the YAML in `dir`, killed when dropped.
struct Riff(Child);

impl Riff {
    /// Starts `riff local run -f dir` and waits until it runs.
    fn run(dir: &Path, extra: &[&str]) -> Riff {
        let mut child = Command::new(sibling("riff"))
            .args(["local", "run", "-f"])
            .arg(dir)
            .args(["--gateway-address", &format!("127.0.0.1:{}", free_port())])
            .args([
                "--provisioner-address",
                &format!("127.0.0.1:{}", free_port()),
            ])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("riff starts");
        let (running, started) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("running; press Ctrl-C") {
                    _ = running.send(());
                }
            }
        });
        started
            .recv_timeout(Duration::from_secs(120))
            .expect("riff runs");
        Riff(child)
    }

    /// (current, peak) resident MiB.
    fn rss(&self) -> (f64, f64) {
        rss_mib(self.0.id())
    }
}

impl Drop for Riff {
    fn drop(&mut self) {
        _ = self.0.kill();
        _ = self.0.wait();
    }
}

/// YAML: a gateway (in-memory, or Kafka on `kafka`), streams `in` and `out`, and `processors`
/// processors running `pass-through` from `in` to `out`.
fn manifests(processors: usize, kafka: Option<&str>) -> tempfile::TempDir {
    let gateway = match kafka {
        Some(servers) => format!(
            "kind: KafkaGateway\nmetadata: {{name: gw}}\nspec: {{bootstrapServers: '{servers}'}}\n"
        ),
        None => "kind: InMemoryGateway\nmetadata: {name: gw}\nspec: {}\n".to_owned(),
    };
    let mut yaml = format!("apiVersion: streaming.projectriff.io/v1alpha1\n{gateway}");
    for stream in ["in", "out"] {
        yaml += &format!("---\napiVersion: streaming.projectriff.io/v1alpha1\nkind: Stream\nmetadata: {{name: {stream}}}\nspec: {{gateway: {{name: gw}}, contentType: application/json}}\n");
    }
    let function = sibling("pass-through");
    for i in 0..processors {
        yaml += &format!("---\napiVersion: streaming.projectriff.io/v1alpha1\nkind: Processor\nmetadata: {{name: p{i}}}\nspec:\n  inputs: [{{stream: in}}]\n  outputs: [{{stream: out}}]\n  window: {{count: 1}}\n  template: {{spec: {{containers: [{{image: pass-through, command: ['{}']}}]}}}}\n", function.display());
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("all.yaml"), yaml).unwrap();
    dir
}

/// Peak resident MiB of `riff` running `processors` idle processors.
pub fn idle_rss(processors: usize) -> f64 {
    let dir = manifests(processors, None);
    let riff = Riff::run(dir.path(), &[]);
    std::thread::sleep(Duration::from_secs(2));
    riff.rss().1
}

/// Resident MiB of `riff` after `warm_up` and after `duration` of a producer flooding its
/// input topic on Kafka at `bootstrap`, faster than its one processor (count-1 windows) can go.
pub async fn overload_rss(bootstrap: &str, warm_up: Duration, duration: Duration) -> (f64, f64) {
    let dir = manifests(1, Some(bootstrap));
    let properties = [
        "--kafka-property",
        "session.timeout.ms=2000",
        "--kafka-property",
        "heartbeat.interval.ms=500",
    ];
    let riff = Riff::run(dir.path(), &properties);
    let flood = crate::kafka::flood(bootstrap.to_owned(), "default_in".to_owned(), duration);
    let flooding = tokio::spawn(flood);
    tokio::time::sleep(warm_up).await;
    let early = riff.rss().0;
    flooding.await.unwrap();
    (riff.rss().0, early)
}
