//! `riff processor`: the processor sidecar, configured as riff's was, so riff-era processor
//! Deployments run unchanged: env `FUNCTION`, `GROUP`, `INPUT_NAMES`, `OUTPUT_NAMES`,
//! `INPUT_START_OFFSETS`, `CNB_BINDINGS`, and the stream bindings under `$CNB_BINDINGS`
//! (`input_000/secret/{gateway,topic}`, `output_000/secret/{gateway,topic}`,
//! `output_000/metadata/contentType`). Streams are reached through their gateways' liiklus API,
//! or straight on Kafka when the binding's secret also holds `bootstrapServers` (our extension:
//! a Kafka-backed stream needs no gateway hop).
//!
//! Deviations from riff, documented: `OUTPUT_NAMES` may be empty (a processor with no outputs,
//! riff's projectriff/system#192); an input's `metadata/contentType`, when present, is its
//! stream's type (records of another type go to the dead-letter topic); our window extension is
//! read from `WINDOW_DURATION` (e.g. `10s`) and `WINDOW_COUNT`, our delivery extension from
//! `DELIVERY_MAX_ATTEMPTS`, `DELIVERY_BACKOFF_INITIAL`, `DELIVERY_BACKOFF_MAX`,
//! `DELIVERY_BACKOFF_JITTER`, `DELIVERY_TIMEOUT` and the `dead_letter` binding; a Kafka binding's
//! `secret/kafkaSecurity` (its KafkaGateway's `tls` and `sasl` references, JSON) is resolved from
//! the Secrets mounted under `KAFKA_SECRETS_DIR` (default `/var/riff/kafka-secrets`). `GET /status` on
//! `STATUS_ADDRESS` (default `0.0.0.0:8090`) reports a record reading stopped at, and `GET
//! /metrics` there the processor's Prometheus metrics (labelled with `POD_NAMESPACE`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _};
use riff_actors::broker::kafka::{KafkaBroker, KafkaSecurity, KafkaSettings, MOUNTED_SECRETS};
use riff_actors::broker::liiklus::LiiklusBroker;
use riff_actors::broker::{Broker, OffsetReset};
use riff_actors::metrics::ProcessorMetrics;
use riff_actors::processor::health::STATUS_PORT;
use riff_actors::processor::{
    self, Capacity, Health, InputBinding, OutputBinding, PipelineConfig, ProcessorThreads,
};
use riff_actors::resources::{BackoffPolicy, DeliveryPolicy, ResolvedDelivery, Window};

/// The variables riff's processor required (`OUTPUT_NAMES` may be empty here).
const REQUIRED: [&str; 6] = [
    "FUNCTION",
    "GROUP",
    "INPUT_NAMES",
    "OUTPUT_NAMES",
    "INPUT_START_OFFSETS",
    "CNB_BINDINGS",
];

/// Why the sidecar cannot start, with riff's exit codes.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Exit code 1: variables missing or blank.
    #[error("missing required environment variables (all of {}): {}", REQUIRED.join(", "), .0.join(", "))]
    Missing(Vec<&'static str>),
    /// Exit code 2: `INPUT_START_OFFSETS` does not match `INPUT_NAMES`.
    #[error("INPUT_START_OFFSETS has {offsets} entries but INPUT_NAMES has {names}")]
    Mismatch { names: usize, offsets: usize },
}

impl ConfigError {
    /// The process exit code riff used for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            ConfigError::Missing(_) => 1,
            ConfigError::Mismatch { .. } => 2,
        }
    }
}

/// The sidecar's environment, checked.
struct Settings {
    function: String,
    group: String,
    inputs: Vec<(String, OffsetReset)>,
    outputs: Vec<String>,
    bindings: PathBuf,
}

fn settings(env: &HashMap<String, String>) -> Result<Settings, ConfigError> {
    let value = |name: &str| {
        env.get(name)
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    };
    let missing: Vec<_> = REQUIRED
        .into_iter()
        .filter(|name| {
            *name == "OUTPUT_NAMES" && !env.contains_key(*name)
                || *name != "OUTPUT_NAMES" && value(name).is_empty()
        })
        .collect();
    if !missing.is_empty() {
        return Err(ConfigError::Missing(missing));
    }
    let list = |name: &str| -> Vec<String> {
        value(name)
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let (names, offsets) = (list("INPUT_NAMES"), list("INPUT_START_OFFSETS"));
    if names.len() != offsets.len() {
        return Err(ConfigError::Mismatch {
            names: names.len(),
            offsets: offsets.len(),
        });
    }
    let reset = |offset: &str| match offset {
        "earliest" => OffsetReset::Earliest,
        _ => OffsetReset::Latest, // riff: anything but earliest means latest
    };
    Ok(Settings {
        function: value("FUNCTION"),
        group: value("GROUP"),
        inputs: names
            .into_iter()
            .zip(offsets.iter().map(|o| reset(o)))
            .collect(),
        outputs: list("OUTPUT_NAMES"),
        bindings: PathBuf::from(value("CNB_BINDINGS")),
    })
}

/// A file of a binding, as written (riff read them raw).
fn binding_file(dir: &Path, name: &str) -> anyhow::Result<String> {
    let path = dir.join(name);
    std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read binding {}", path.display()))
}

/// Runs the sidecar until SIGTERM/SIGINT (`shutdown`).
pub async fn run(shutdown: impl std::future::Future<Output = ()>) -> anyhow::Result<()> {
    let env: HashMap<String, String> = std::env::vars().collect();
    let settings = settings(&env)?;
    let window = Window::from_env(|name| env.get(name).cloned())
        .map_err(anyhow::Error::msg)?
        .resolve()
        .map_err(|errors| anyhow::anyhow!("WINDOW_*: {errors}"))?;
    let delivery = delivery(&env)?;

    let secrets_dir = PathBuf::from(
        env.get("KAFKA_SECRETS_DIR")
            .map_or(MOUNTED_SECRETS, String::as_str),
    );
    // One client per distinct gateway or Kafka cluster, shared by its bindings.
    let mut brokers: HashMap<String, Arc<dyn Broker>> = HashMap::new();
    let mut broker_of = |dir: &Path| -> anyhow::Result<Arc<dyn Broker>> {
        let kafka = binding_file(dir, "secret/bootstrapServers").ok();
        let address = match &kafka {
            Some(servers) => servers.trim().to_owned(),
            None => binding_file(dir, "secret/gateway")?.trim().to_owned(),
        };
        if let Some(broker) = brokers.get(&address) {
            return Ok(broker.clone());
        }
        let broker: Arc<dyn Broker> = match kafka {
            Some(_) => {
                let mut settings = KafkaSettings::new(&address);
                if let Ok(refs) = binding_file(dir, "secret/kafkaSecurity") {
                    settings.security = KafkaSecurity::from_mounted(&refs, &secrets_dir)
                        .map_err(|error| anyhow::anyhow!("{}: {error}", dir.display()))?;
                }
                Arc::new(KafkaBroker::connect(settings)?)
            }
            None => Arc::new(LiiklusBroker::connect(&address)?),
        };
        brokers.insert(address, broker.clone());
        Ok(broker)
    };
    let mut inputs = Vec::new();
    for (index, (name, reset)) in settings.inputs.iter().enumerate() {
        let dir = settings.bindings.join(format!("input_{index:03}"));
        let content_type =
            binding_file(&dir, "metadata/contentType").unwrap_or_else(|_| "*/*".into());
        inputs.push(InputBinding {
            name: name.clone(),
            broker: broker_of(&dir)?,
            topic: binding_file(&dir, "secret/topic")?.trim().to_owned(),
            reset: *reset,
            content_type,
        });
    }
    let mut outputs = Vec::new();
    for (index, name) in settings.outputs.iter().enumerate() {
        let dir = settings.bindings.join(format!("output_{index:03}"));
        outputs.push(OutputBinding {
            name: name.clone(),
            broker: broker_of(&dir)?,
            topic: binding_file(&dir, "secret/topic")?.trim().to_owned(),
            content_type: binding_file(&dir, "metadata/contentType")?,
        });
    }
    let dir = settings.bindings.join("dead_letter");
    let dead_letter = match dir.exists() {
        true => Some(OutputBinding {
            name: "dead-letter".to_owned(),
            broker: broker_of(&dir)?,
            topic: binding_file(&dir, "secret/topic")?.trim().to_owned(),
            content_type: "*/*".to_owned(),
        }),
        false => None,
    };
    wait_for_function(&settings.function).await?;
    let health = Health::default();
    let status_address =
        (env.get("STATUS_ADDRESS").cloned()).unwrap_or_else(|| format!("0.0.0.0:{STATUS_PORT}"));
    let bound = (health.serve(&status_address).await)
        .with_context(|| format!("cannot serve the status endpoint on {status_address}"))?;
    tracing::info!(address = %bound, "serving GET /status and GET /metrics");
    let namespace = env.get("POD_NAMESPACE").cloned().unwrap_or_default();
    let config = PipelineConfig {
        metrics: ProcessorMetrics::new(&namespace, &settings.group),
        resource: format!("processor {}", settings.group),
        group: settings.group,
        inputs,
        outputs,
        function: format!("http://{}", settings.function),
        window,
        capacity: Capacity::default(),
        delivery,
        dead_letter,
        health: health.clone(),
    };
    let threads = ProcessorThreads::new(1);
    let processor = processor::start(config, &threads.next())?;
    shutdown.await;
    if !processor::drain(&processor, Duration::from_secs(10)).await {
        tracing::warn!("some windows did not complete before the shutdown timeout");
    }
    processor.do_send(processor::messages::Stop);
    Ok(())
}

/// The delivery policy from `DELIVERY_*` (the dead-letter stream comes as a binding).
fn delivery(env: &HashMap<String, String>) -> anyhow::Result<ResolvedDelivery> {
    fn parsed<T: std::str::FromStr>(
        env: &HashMap<String, String>,
        name: &str,
    ) -> anyhow::Result<Option<T>>
    where
        T::Err: std::error::Error + Send + Sync + 'static,
    {
        env.get(name)
            .map(|value| value.trim().parse())
            .transpose()
            .with_context(|| format!("{name} must be a number or true/false"))
    }
    let (initial, max) = (
        env.get("DELIVERY_BACKOFF_INITIAL"),
        env.get("DELIVERY_BACKOFF_MAX"),
    );
    let jitter = parsed(env, "DELIVERY_BACKOFF_JITTER")?;
    let policy = DeliveryPolicy {
        max_attempts: parsed(env, "DELIVERY_MAX_ATTEMPTS")?,
        backoff: (initial.is_some() || max.is_some() || jitter.is_some()).then(|| BackoffPolicy {
            initial: initial.cloned(),
            max: max.cloned(),
            jitter,
        }),
        timeout: env.get("DELIVERY_TIMEOUT").cloned(),
        dead_letter: None,
    };
    policy
        .resolve()
        .map_err(|errors| anyhow::anyhow!("DELIVERY_*: {errors}"))
}

/// Waits for the function's port like riff: up to 20 tries, `i × 100 ms` apart.
async fn wait_for_function(address: &str) -> anyhow::Result<()> {
    for attempt in 1..=20u64 {
        if tokio::net::TcpStream::connect(address).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(attempt * 100)).await;
    }
    bail!("the function at {address} is not reachable (FUNCTION)")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const FULL: [(&str, &str); 6] = [
        ("FUNCTION", "localhost:8081"),
        ("GROUP", "p"),
        ("INPUT_NAMES", "a,b"),
        ("OUTPUT_NAMES", ""),
        ("INPUT_START_OFFSETS", "earliest,latest"),
        ("CNB_BINDINGS", "/var/riff/bindings"),
    ];

    #[test]
    fn missing_variables_are_listed_with_exit_code_1() {
        let error = settings(&env(&[("FUNCTION", "x"), ("GROUP", " ")]))
            .err()
            .unwrap();
        assert_eq!(error.exit_code(), 1);
        assert!(
            error
                .to_string()
                .ends_with("GROUP, INPUT_NAMES, OUTPUT_NAMES, INPUT_START_OFFSETS, CNB_BINDINGS"),
            "{error}"
        );
    }

    #[test]
    fn a_count_mismatch_exits_with_code_2() {
        let mut vars = env(&FULL);
        vars.insert("INPUT_START_OFFSETS".into(), "earliest".into());
        let error = settings(&vars).err().unwrap();
        assert_eq!(error.exit_code(), 2);
        assert_eq!(
            error.to_string(),
            "INPUT_START_OFFSETS has 1 entries but INPUT_NAMES has 2"
        );
    }

    #[test]
    fn empty_output_names_mean_a_processor_without_outputs() {
        let settings = settings(&env(&FULL)).unwrap();
        assert!(settings.outputs.is_empty());
        assert_eq!(settings.inputs[0], ("a".to_owned(), OffsetReset::Earliest));
        assert_eq!(settings.inputs[1], ("b".to_owned(), OffsetReset::Latest));
    }
}
