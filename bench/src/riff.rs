//! `riff local run` as users run it: a directory of YAML, the `riff` binary built beside this
//! one, its log lines watched for what it reports, its process (and its function processes)
//! measured through `/proc`.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use riff_testkit::Child;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::bail;

use crate::function::sibling;
use crate::measure::{free_port, tree_rss_mib};

/// The librdkafka properties riff gets on tansu, as in the tests (`tests/tansu.properties`).
pub fn tansu_properties() -> Vec<&'static str> {
    include_str!("../../tests/tansu.properties")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect()
}

const API: &str = "apiVersion: streaming.projectriff.io/v1alpha1";

/// Where the streams live.
#[derive(Clone, Copy)]
pub enum Gateway<'a> {
    /// An InMemoryGateway.
    Memory,
    /// A KafkaGateway on these bootstrap servers.
    Kafka(&'a str),
}

/// YAML of gateway `gw` and streams `in` and `out` (application/json, `partitions` each).
pub fn streams(gateway: Gateway, partitions: u32) -> String {
    let gateway = match gateway {
        Gateway::Kafka(servers) => {
            format!("kind: KafkaGateway\nmetadata: {{name: gw}}\nspec: {{bootstrapServers: '{servers}'}}\n")
        }
        Gateway::Memory => "kind: InMemoryGateway\nmetadata: {name: gw}\nspec: {}\n".to_owned(),
    };
    let mut yaml = format!("{API}\n{gateway}");
    for stream in ["in", "out"] {
        yaml += &format!(
            "---\n{API}\nkind: Stream\nmetadata: {{name: {stream}}}\nspec: {{gateway: {{name: gw}}, contentType: application/json, partitions: {partitions}}}\n"
        );
    }
    yaml
}

/// YAML of processor `name` from `in` (from the earliest record) to `out`, running the sample
/// function `function` (found beside `riff`) with `env`, in windows `window` (YAML flow
/// mapping, e.g. `{duration: 1s}`).
pub fn processor(name: &str, function: &str, window: &str, env: &[(&str, &str)]) -> String {
    let env = if env.is_empty() {
        String::new()
    } else {
        let env: Vec<_> = env
            .iter()
            .map(|(k, v)| format!("{{name: {k}, value: '{v}'}}"))
            .collect();
        format!(", env: [{}]", env.join(", "))
    };
    format!(
        "{API}\nkind: Processor\nmetadata: {{name: {name}}}\nspec:\n  inputs: [{{stream: in, startOffset: earliest}}]\n  outputs: [{{stream: out}}]\n  window: {window}\n  template: {{spec: {{containers: [{{image: {function}{env}}}]}}}}\n"
    )
}

/// How long `riff local run` may take to stop after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// A running `riff local run -f <dir>`, stopped when dropped as users stop it (SIGTERM: it
/// flushes its telemetry on the way out), killed if it has not exited [`STOP_TIMEOUT`] later.
pub struct Riff {
    child: Child,
    lines: mpsc::Receiver<(Instant, String)>,
    recent: VecDeque<String>,
    dir: tempfile::TempDir,
    /// The first in-memory gateway's liiklus address, `127.0.0.1:<port>`.
    pub gateway: String,
}

impl Riff {
    /// Writes `yaml` as `base.yaml` of a fresh directory, starts `riff local run` on it with
    /// `--kafka-property` `properties`, and waits until it runs.
    pub fn start(yaml: &str, properties: &[&str]) -> anyhow::Result<Riff> {
        Riff::start_with(yaml, properties, &[], &[])
    }

    /// Like [`Riff::start`], with more command-line arguments `args` and environment `env`.
    pub fn start_with(
        yaml: &str,
        properties: &[&str],
        args: &[&str],
        env: &[(&str, &str)],
    ) -> anyhow::Result<Riff> {
        let dir = tempfile::tempdir()?;
        std::fs::write(dir.path().join("base.yaml"), yaml)?;
        let gateway = format!("127.0.0.1:{}", free_port());
        let mut command = Command::new(sibling("riff"));
        command
            .args(["local", "run", "-f"])
            .arg(dir.path())
            .args(["--gateway-address", &gateway])
            .args([
                "--provisioner-address",
                &format!("127.0.0.1:{}", free_port()),
            ]);
        for property in properties {
            command.args(["--kafka-property", property]);
        }
        command.args(args).envs(env.iter().copied());
        let mut child = command
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        let (send, lines) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if send.send((Instant::now(), line)).is_err() {
                    break;
                }
            }
        });
        let mut riff = Riff {
            child: child.into(),
            lines,
            recent: VecDeque::new(),
            dir,
            gateway,
        };
        riff.wait_for("running; press Ctrl-C", Duration::from_secs(120))?;
        Ok(riff)
    }

    /// Adds `yaml` as file `name` of the directory (`riff local run` applies it live).
    pub fn add(&self, name: &str, yaml: &str) -> anyhow::Result<()> {
        std::fs::write(self.dir.path().join(name), yaml)?;
        Ok(())
    }

    /// Waits for the next log line containing `needle`; returns when it was read.
    pub fn wait_for(&mut self, needle: &str, timeout: Duration) -> anyhow::Result<Instant> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok((at, line)) => {
                    let found = line.contains(needle);
                    self.recent.push_back(line);
                    if self.recent.len() > 20 {
                        self.recent.pop_front();
                    }
                    if found {
                        return Ok(at);
                    }
                }
                Err(error) => bail!(
                    "riff did not log {needle:?} ({error}); its last lines:\n{}",
                    Vec::from(self.recent.clone()).join("\n")
                ),
            }
        }
    }

    /// The `riff` process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// (current, peak) resident MiB of `riff` and its function processes.
    pub fn rss(&self) -> (f64, f64) {
        tree_rss_mib(self.pid())
    }
}

impl Drop for Riff {
    fn drop(&mut self) {
        self.child.terminate();
        if self.child.exits_within(STOP_TIMEOUT).is_none() {
            eprintln!("riff did not stop within {STOP_TIMEOUT:?} of SIGTERM: killed");
        }
    }
}
