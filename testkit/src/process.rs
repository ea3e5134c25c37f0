//! Child processes that never outlive the test (or benchmark) that started them.

use std::fmt;
use std::io::{BufRead, BufReader, Read, Write};
use std::ops::{Deref, DerefMut};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::wait::{eventually, within};

/// A child process killed (SIGKILL) and reaped when dropped.
#[derive(Debug)]
pub struct Child(std::process::Child);

impl Child {
    /// Starts `command`, or fails naming `what`.
    pub fn spawn(what: &str, command: &mut Command) -> Child {
        let child = command
            .spawn()
            .unwrap_or_else(|error| panic!("{what} does not start: {error}"));
        Child(child)
    }

    /// SIGKILL, and waits for the process to go.
    pub fn kill(&mut self) {
        _ = self.0.kill();
        _ = self.0.wait();
    }

    /// SIGTERM (a clean shutdown), without waiting.
    pub fn terminate(&mut self) {
        self.signal(libc::SIGTERM);
    }

    /// SIGINT (Ctrl-C), without waiting.
    pub fn interrupt(&mut self) {
        self.signal(libc::SIGINT);
    }

    fn signal(&mut self, signal: libc::c_int) {
        let pid = i32::try_from(self.0.id()).expect("a pid");
        // SAFETY: kill(2) with a pid of our own child and a valid signal.
        unsafe { libc::kill(pid, signal) };
    }

    /// Whether the process still runs.
    pub fn running(&mut self) -> bool {
        self.0.try_wait().ok().flatten().is_none()
    }

    /// Waits for the process to exit by itself, at most `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let what = format!("the exit of process {}", self.0.id());
        eventually(&what, timeout, || self.0.try_wait().ok().flatten())
    }

    /// Its exit status, if it exits within `timeout`.
    pub fn exits_within(&mut self, timeout: Duration) -> Option<ExitStatus> {
        within(timeout, || self.0.try_wait().ok().flatten())
    }
}

impl From<std::process::Child> for Child {
    fn from(child: std::process::Child) -> Self {
        Child(child)
    }
}

impl Deref for Child {
    type Target = std::process::Child;

    fn deref(&self) -> &std::process::Child {
        &self.0
    }
}

impl DerefMut for Child {
    fn deref_mut(&mut self) -> &mut std::process::Child {
        &mut self.0
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs `command` (`what`, to name it when it does not start) to its end with `input` on its
/// stdin; its status, stdout and stderr.
pub fn run_with_input(what: &str, command: &mut Command, input: &[u8]) -> Output {
    let command = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .unwrap_or_else(|error| panic!("{what} does not start: {error}"));
    let written = child.stdin.take().expect("piped").write_all(input);
    let output = child.wait_with_output().expect("its output");
    written.unwrap_or_else(|error| panic!("{what} did not take its input: {error}"));
    output
}

/// A [`Child`] whose stderr lines are kept, and echoed as `<name>: <line>` (stdout is dropped).
#[derive(Debug)]
pub struct Logged {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    reader: Option<JoinHandle<()>>,
}

/// What a wait for a log line waited for, and the log when it failed.
struct LineWanted<'a> {
    text: &'a str,
    lines: &'a Mutex<Vec<String>>,
}

impl fmt::Display for LineWanted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines = self.lines.lock().unwrap();
        write!(
            f,
            "a log line with {:?}; the log:\n{}",
            self.text,
            lines.join("\n")
        )
    }
}

impl Logged {
    /// Starts `command` with its stderr piped; `name` prefixes the echoed lines.
    pub fn spawn(name: &str, command: &mut Command) -> Logged {
        let command = command.stdout(Stdio::null()).stderr(Stdio::piped());
        let mut child = Child::spawn(name, command);
        let stderr = child.stderr.take().expect("piped");
        Logged::reading(name, child, stderr)
    }

    /// Starts `command`, which logs to stdout (as tansu does), with its stdout piped and its
    /// stderr inherited (a panic still shows); `name` prefixes the echoed lines.
    pub fn spawn_stdout(name: &str, command: &mut Command) -> Logged {
        let command = command.stdout(Stdio::piped()).stderr(Stdio::inherit());
        let mut child = Child::spawn(name, command);
        let stdout = child.stdout.take().expect("piped");
        Logged::reading(name, child, stdout)
    }

    /// `child`, whose log lines are read from `log`, kept and echoed. The echo goes to the test's
    /// captured output: a test that fails shows the log of its processes.
    fn reading(name: &str, child: Child, log: impl Read + Send + 'static) -> Logged {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (kept, name) = (lines.clone(), name.to_owned());
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(log).lines().map_while(Result::ok) {
                eprintln!("{name}: {line}");
                kept.lock().unwrap().push(line);
            }
        });
        Logged {
            child,
            lines,
            reader: Some(reader),
        }
    }

    /// The lines so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Waits for a line containing `text`, at most `timeout`; the line.
    pub fn wait_for_line(&self, text: &str, timeout: Duration) -> String {
        let lines = &self.lines;
        eventually(LineWanted { text, lines }, timeout, || {
            let lines = lines.lock().unwrap();
            lines.iter().find(|line| line.contains(text)).cloned()
        })
    }

    /// Waits for the process to exit by itself (at most `timeout`) and for its last lines.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let status = self.child.wait_exit(timeout);
        if let Some(reader) = self.reader.take() {
            _ = reader.join();
        }
        status
    }

    /// The process.
    pub fn child(&mut self) -> &mut Child {
        &mut self.child
    }
}
