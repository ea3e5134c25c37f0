//! `riff`: the riff streaming runtime.
//!
//! - `riff local run -f <file|dir>`: the embedded mode, the YAML a cluster takes run on one
//!   machine with no cluster (and, with an InMemoryGateway, no broker);
//! - `riff local publish` / `riff local subscribe`: talk to a running embedded gateway;
//! - `riff local status`: a live table of what the processors of `riff local run` do;
//! - `riff gateway` and `riff processor`: the gateway and processor-sidecar processes of a
//!   cluster, configured as riff's were (env vars, `/var/riff/bindings`);
//! - `riff system controller`: the in-cluster controller;
//! - `riff streaming ...`: riff's streaming CLI, against the cluster of the current kubeconfig.

mod client;
mod controller;
mod gateway;
mod logging;
mod sidecar;
mod status;
mod streaming;
mod telemetry;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{CommandFactory, Parser, Subcommand};

use client::PayloadEncoding;
use logging::LogFormat;
use riff_actors::broker::kafka::Reads;

/// jemalloc, for Rust and for librdkafka (whose `malloc` it replaces): records are allocated on
/// one thread and freed on another, where glibc's malloc spent a fifth of the CPU (profile of
/// the Kafka pass-through benchmark).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// The riff streaming runtime.
#[derive(Parser)]
#[command(name = "riff", version, about)]
struct Cli {
    /// Log format of the supervision logs (stderr).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run streaming resources on this machine: no cluster, no broker.
    #[command(subcommand)]
    Local(Local),
    /// Serve a gateway: the liiklus API and the provisioner API over memory or Kafka.
    Gateway {
        /// Where the liiklus gRPC API listens.
        #[arg(long, default_value = "0.0.0.0:6565")]
        grpc_address: SocketAddr,
        /// Where the provisioner HTTP API listens.
        #[arg(long, default_value = "0.0.0.0:8080")]
        provisioner_address: SocketAddr,
    },
    /// Run a processor sidecar configured by riff's env vars and bindings.
    Processor,
    /// Run the cluster-side parts of riff streaming.
    #[command(subcommand)]
    System(System),
    /// Manage gateways, streams and processors in the cluster of the current kubeconfig.
    #[command(subcommand)]
    Streaming(streaming::Streaming),
}

#[derive(Subcommand)]
enum System {
    /// Reconcile gateways, streams and processors in a Kubernetes cluster.
    Controller(controller::ControllerArgs),
}

#[derive(Subcommand)]
enum Local {
    /// Run the gateways, streams and processors of YAML files until SIGINT/SIGTERM.
    Run {
        /// A YAML file, or a directory of them (repeatable).
        #[arg(short = 'f', long = "filename", required = true)]
        files: Vec<PathBuf>,
        /// Where the first in-memory gateway serves its liiklus API (others take the next ports).
        #[arg(long, default_value = "127.0.0.1:6565")]
        gateway_address: SocketAddr,
        /// Where the first in-memory gateway serves its provisioner HTTP API.
        #[arg(long, default_value = "127.0.0.1:8080")]
        provisioner_address: SocketAddr,
        /// On shutdown, how long open windows get to complete, in seconds.
        #[arg(long, default_value_t = 10)]
        shutdown_timeout: u64,
        /// A librdkafka property `key=value` for every Kafka client (repeatable).
        #[arg(long = "kafka-property", value_parser = parse_kafka_property)]
        kafka_properties: Vec<(String, String)>,
        /// How processors read Kafka inputs: `shared`, one consumer of the process reads each
        /// partition once for every processor, each processor's consumer group keeping its
        /// positions (one `riff local run` per YAML); `groups`, each processor a member of its
        /// group with a consumer of its own (several runs of the same YAML share partitions).
        #[arg(long, default_value = "shared")]
        kafka_reads: Reads,
        /// Where the Secrets a KafkaGateway's `tls` and `sasl` reference are read when the
        /// manifests do not declare them: file `<dir>/<secret>/<key>`.
        #[arg(long)]
        secret_dir: Option<PathBuf>,
        /// Where `GET /metrics` serves every processor's Prometheus metrics (`off`: none are
        /// kept).
        #[arg(long, default_value = "127.0.0.1:9090", value_parser = parse_metrics_address)]
        metrics_address: MetricsAddress,
    },
    /// Show what the processors of a running `riff local run` do: a table refreshed every
    /// second (rates in and out, lag, calls and their latency, failures), read from its metrics.
    Status {
        /// The `--metrics-address` of `riff local run`.
        #[arg(long, default_value = "127.0.0.1:9090")]
        metrics_address: SocketAddr,
        /// Print one table (after one interval) and exit.
        #[arg(long)]
        once: bool,
        /// Seconds between tables (the interval the rates are measured over).
        #[arg(long, default_value_t = 1.0, value_parser = parse_interval)]
        interval: f64,
    },
    /// Publish one message to a stream of a running embedded gateway.
    Publish {
        /// The stream, as `<stream>` or `<namespace>/<stream>`.
        stream: String,
        /// The message's content type.
        #[arg(short = 'c', long)]
        content_type: String,
        /// The message's payload.
        #[arg(short = 'p', long)]
        payload: String,
        /// A message header `Name=value` (repeatable).
        #[arg(long = "header", value_parser = parse_pair)]
        headers: Vec<(String, String)>,
        /// The gateway's liiklus API.
        #[arg(long, default_value = "127.0.0.1:6565")]
        gateway_address: String,
        /// The stream's topic, when it is not the in-memory gateway's `<namespace>/<stream>`
        /// (a KafkaGateway's topics are `<namespace>_<stream>`).
        #[arg(long)]
        topic: Option<String>,
    },
    /// Print the messages of a stream, one JSON object per line.
    Subscribe {
        /// The stream, as `<stream>` or `<namespace>/<stream>`.
        stream: String,
        /// Start from the oldest message instead of the next one.
        #[arg(short = 'b', long)]
        from_beginning: bool,
        /// Exit after this many messages.
        #[arg(short = 'n', long)]
        count: Option<usize>,
        /// How payloads are printed.
        #[arg(long, value_enum, default_value_t = PayloadEncoding::Raw)]
        payload_encoding: PayloadEncoding,
        /// The gateway's liiklus API.
        #[arg(long, default_value = "127.0.0.1:6565")]
        gateway_address: String,
        /// The stream's topic, when it is not the in-memory gateway's `<namespace>/<stream>`
        /// (a KafkaGateway's topics are `<namespace>_<stream>`).
        #[arg(long)]
        topic: Option<String>,
    },
}

/// `Name=value` → (Name, value).
fn parse_pair(header: &str) -> Result<(String, String), String> {
    match header.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_owned(), value.to_owned()))
        }
        _ => Err(format!("expected Name=value, got {header:?}")),
    }
}

/// A `key=value` librdkafka property that keeps at-least-once delivery.
fn parse_kafka_property(property: &str) -> Result<(String, String), String> {
    let (key, value) = parse_pair(property)?;
    riff_actors::broker::kafka::check_property(&key, &value)?;
    Ok((key, value))
}

/// `--interval`: a positive number of seconds.
fn parse_interval(value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(seconds) if seconds > 0.0 && seconds.is_finite() => Ok(seconds),
        _ => Err(format!("{value:?} is not a positive number of seconds")),
    }
}

/// `--metrics-address`: an address, or `off`.
#[derive(Clone, Debug)]
struct MetricsAddress(Option<SocketAddr>);

fn parse_metrics_address(value: &str) -> Result<MetricsAddress, String> {
    match value {
        "off" => Ok(MetricsAddress(None)),
        address => (address.parse())
            .map(|address| MetricsAddress(Some(address)))
            .map_err(|error| format!("{address:?} is not host:port or off: {error}")),
    }
}

/// `ns/stream` or `stream` (namespace `default`) → the in-memory gateway topic.
fn topic_of(stream: &str) -> String {
    let (namespace, name) = stream.split_once('/').unwrap_or(("default", stream));
    client::topic(namespace, name)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = || {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime")
    };
    let result = actix_rt::System::with_tokio_rt(runtime).block_on(async {
        let telemetry = logging::init(cli.log_format);
        let result = execute(cli.command).await;
        if let Some(telemetry) = telemetry {
            telemetry.shutdown().await;
        }
        result
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("Error: {error:#}");
            match error.downcast_ref::<sidecar::ConfigError>() {
                Some(config) => ExitCode::from(config.exit_code()),
                None => ExitCode::FAILURE,
            }
        }
    }
}

async fn execute(command: Command) -> anyhow::Result<()> {
    let local = match command {
        Command::Local(local) => local,
        Command::Gateway {
            grpc_address,
            provisioner_address,
        } => return gateway::run(grpc_address, provisioner_address, shutdown_signal()).await,
        Command::Processor => return sidecar::run(shutdown_signal()).await,
        Command::Streaming(command) => return streaming::run(command, Cli::command).await,
        Command::System(System::Controller(args)) => {
            return controller::run(args, shutdown_signal()).await
        }
    };
    match local {
        Local::Run {
            files,
            gateway_address,
            provisioner_address,
            shutdown_timeout,
            kafka_properties,
            kafka_reads,
            secret_dir,
            metrics_address,
        } => {
            let options = riff_actors::local::LocalOptions {
                gateway_address,
                provisioner_address,
                shutdown_timeout: Duration::from_secs(shutdown_timeout),
                kafka_properties,
                kafka_reads,
                secret_dir,
                metrics_address: metrics_address.0,
                ..Default::default()
            };
            riff_actors::local::run(&files, options, shutdown_signal()).await
        }
        Local::Status {
            metrics_address,
            once,
            interval,
        } => {
            let interval = Duration::from_secs_f64(interval);
            status::run(metrics_address, interval, once, shutdown_signal()).await
        }
        Local::Publish {
            stream,
            content_type,
            payload,
            headers,
            gateway_address,
            topic,
        } => {
            let headers: HashMap<_, _> = headers.into_iter().collect();
            client::publish(
                &gateway_address,
                topic.unwrap_or_else(|| topic_of(&stream)),
                content_type,
                payload.into_bytes(),
                headers,
            )
            .await
        }
        Local::Subscribe {
            stream,
            from_beginning,
            count,
            payload_encoding,
            gateway_address,
            topic,
        } => {
            client::subscribe(
                &gateway_address,
                topic.unwrap_or_else(|| topic_of(&stream)),
                from_beginning,
                count,
                payload_encoding,
            )
            .await
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate()).expect("a SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    tracing::info!("shutting down");
}
