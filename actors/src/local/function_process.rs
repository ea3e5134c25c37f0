//! FunctionProcessActor: runs a processor's function container as a supervised child process.

use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use actix::prelude::*;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::oneshot;

use crate::metrics::ProcessorMetrics;
use crate::supervision::{self, Backoff};

/// How long a function must have run for its restart backoff to start over.
const STABLE_AFTER: Duration = Duration::from_secs(10);
/// How long a function gets to exit after SIGTERM before it is killed.
const GRACE: Duration = Duration::from_secs(5);

/// How to run a function: the container's command, args and env, on an assigned port.
#[derive(Debug, Clone)]
pub struct FunctionCommand {
    /// `processor <namespace>/<name>`, as logs name it.
    pub resource: String,
    /// The program (container `command[0]`), resolved against `PATH` or `dir`.
    pub program: String,
    /// Its arguments (the rest of `command`, then `args`).
    pub args: Vec<String>,
    /// Environment variables, `GRPC_PORT` and `PATH` included.
    pub env: Vec<(String, String)>,
    /// The working directory (the YAML file's folder).
    pub dir: PathBuf,
}

/// The process exited (or could not start).
#[derive(Message)]
#[rtype(result = "()")]
struct Exited(Result<ExitStatus, String>);

/// Stops the function: SIGTERM, then SIGKILL after a grace period. Resolves once it exited.
#[derive(Message)]
#[rtype(result = "()")]
pub struct StopFunction;

/// Keeps the function process running: a crash is logged and the process restarted with
/// exponential backoff. The function's output is logged line by line under its processor.
pub struct FunctionProcessActor {
    command: FunctionCommand,
    metrics: ProcessorMetrics,
    backoff: Backoff,
    started_at: Instant,
    terminate: Option<oneshot::Sender<()>>,
    exited: Vec<oneshot::Sender<()>>,
    stopping: bool,
}

impl FunctionProcessActor {
    /// An actor that will run `command` once started; its restarts count in `metrics`.
    pub fn new(command: FunctionCommand, metrics: ProcessorMetrics) -> Self {
        FunctionProcessActor {
            command,
            metrics,
            backoff: Backoff::new(Duration::from_millis(200), Duration::from_secs(30)),
            started_at: Instant::now(),
            terminate: None,
            exited: Vec::new(),
            stopping: false,
        }
    }

    fn spawn(&mut self, ctx: &mut Context<Self>) {
        let spec = &self.command;
        let mut command = Command::new(&spec.program);
        command
            .args(&spec.args)
            .envs(spec.env.iter().cloned())
            .current_dir(&spec.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        die_with_riff(&mut command);
        without_huge_pages(&mut command);
        self.started_at = Instant::now();
        let (terminate, terminated) = oneshot::channel();
        self.terminate = Some(terminate);
        let outcome = match command.spawn() {
            Ok(mut child) => {
                forward_output(&spec.resource, child.stdout.take());
                forward_output(&spec.resource, child.stderr.take());
                let pid = child.id();
                tracing::info!(
                    resource = spec.resource.as_str(),
                    actor = "function",
                    pid,
                    "started"
                );
                Some(child)
            }
            Err(error) => {
                let reason = format!(
                    "cannot start {:?} in {}: {error}",
                    spec.program,
                    spec.dir.display()
                );
                ctx.notify(Exited(Err(reason)));
                None
            }
        };
        if let Some(child) = outcome {
            let addr = ctx.address();
            actix::spawn(async move {
                let status = supervise(child, terminated).await;
                addr.do_send(Exited(status.map_err(|error| error.to_string())));
            });
        }
    }
}

/// Makes the function die with `riff` even when `riff` cannot stop it (SIGKILL, a crash), so a
/// restarted `riff` never finds the old function still holding its port and its input.
#[cfg(target_os = "linux")]
fn die_with_riff(command: &mut Command) {
    let riff = std::process::id() as libc::pid_t;
    // SAFETY: between fork and exec, only async-signal-safe calls (prctl, getppid, _exit).
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // riff died before the signal was armed.
            if libc::getppid() != riff {
                libc::_exit(1);
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_riff(_: &mut Command) {}

/// Runs the function without transparent huge pages (`PR_SET_THP_DISABLE`, whatever its
/// allocator asks for). Allocators that ask for them (mimalloc, the samples') have each thread's
/// first allocations fault in and zero 2 MiB at a time: a hundred functions making their first
/// calls together took 4 ms of CPU each, most of it zeroing pages, and held every copy of the
/// first record 124 to 200 ms; each idle function held 10 MiB.
#[cfg(target_os = "linux")]
fn without_huge_pages(command: &mut Command) {
    // SAFETY: between fork and exec, only an async-signal-safe call (prctl). A kernel without
    // the setting leaves huge pages as they were.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn without_huge_pages(_: &mut Command) {}

impl Actor for FunctionProcessActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.spawn(ctx);
    }
}

impl Handler<Exited> for FunctionProcessActor {
    type Result = ();

    fn handle(&mut self, Exited(status): Exited, ctx: &mut Context<Self>) {
        self.terminate = None;
        if self.stopping {
            self.exited.drain(..).for_each(|done| _ = done.send(()));
            supervision::stopped(&self.command.resource, "function");
            return ctx.stop();
        }
        if self.started_at.elapsed() > STABLE_AFTER {
            self.backoff.reset();
        }
        let reason = match status {
            Ok(status) => format!("the function process exited ({status})"),
            Err(reason) => reason,
        };
        let delay = self.backoff.next_delay();
        supervision::failed(
            &self.command.resource,
            "function",
            &reason,
            self.backoff.attempt(),
            delay,
        );
        ctx.run_later(delay, |actor, ctx| {
            if !actor.stopping {
                actor.metrics.function_restarted();
                actor.spawn(ctx);
            }
        });
    }
}

impl Handler<StopFunction> for FunctionProcessActor {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: StopFunction, ctx: &mut Context<Self>) -> Self::Result {
        self.stopping = true;
        let Some(terminate) = self.terminate.take() else {
            ctx.stop(); // not running: nothing to wait for
            return Box::pin(async {});
        };
        _ = terminate.send(());
        let (done, exited) = oneshot::channel();
        self.exited.push(done);
        Box::pin(async move { _ = exited.await })
    }
}

/// Waits for the child to exit; on request, terminates it (SIGTERM, then SIGKILL).
async fn supervise(
    mut child: Child,
    terminate: oneshot::Receiver<()>,
) -> std::io::Result<ExitStatus> {
    tokio::select! {
        status = child.wait() => return status,
        _ = terminate => {}
    }
    if let Some(pid) = child.id() {
        // SAFETY: sending a signal to our own child process by pid.
        unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
    }
    match tokio::time::timeout(GRACE, child.wait()).await {
        Ok(status) => status,
        Err(_) => {
            child.start_kill()?;
            child.wait().await
        }
    }
}

/// Logs each line the function prints, under its processor's name.
fn forward_output(resource: &str, output: Option<impl AsyncRead + Unpin + Send + 'static>) {
    let Some(output) = output else { return };
    let resource = resource.to_owned();
    tokio::spawn(async move {
        let mut lines = BufReader::new(output).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            tracing::info!(target: "function", resource = %resource, "{line}");
        }
    });
}
