//! Function processes for the benchmarks: sample binaries built beside `riff-bench`.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use riff_testkit::Child;
use std::time::{Duration, Instant};

use crate::measure::free_port;

/// A running function process, killed when dropped.
pub struct Function {
    /// Killed when dropped.
    _process: Child,
    /// Its gRPC address, `http://127.0.0.1:<port>`.
    pub url: String,
}

/// A binary built beside this one (`cargo build --release --workspace --bins`).
pub fn sibling(name: &str) -> PathBuf {
    let path = std::env::current_exe().unwrap().with_file_name(name);
    assert!(
        path.exists(),
        "{} is missing: run bench/run.sh",
        path.display()
    );
    path
}

impl Function {
    /// Starts sample function `name` with `env`, on CPU `core` when given (taskset).
    pub fn start(name: &str, env: &[(&str, &str)], core: Option<usize>) -> Function {
        let port = free_port();
        let mut command = match core {
            Some(core) => {
                let mut taskset = Command::new("taskset");
                taskset.args(["-c", &core.to_string()]).arg(sibling(name));
                taskset
            }
            None => Command::new(sibling(name)),
        };
        let child = command
            .env("GRPC_PORT", port.to_string())
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {name}: {error}"));
        wait_for_port(port);
        Function {
            _process: child.into(),
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

/// Waits until something listens on `port`.
pub fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
}
