//! `riff streaming processor` (alias `processors`): functions applied to the messages of
//! streams.

use clap::{ArgGroup, Subcommand};
use k8s_openapi::api::core::v1::{Container, EnvVar, PodSpec, PodTemplateSpec};
use riff_actors::resources::{
    BackoffPolicy, Build, Condition, DeadLetter, DeliveryPolicy, InputStreamBinding, KeyBy,
    OutputStreamBinding, Processor, ProcessorSpec, TimeBasis, Window, WindowKind,
};

use super::args::{CreateArgs, DeleteArgs, GoDuration, NameArgs};
use super::cluster::Cluster;
use super::kind::{Kind, PodLogs};
use super::logs;
use super::references::{parse_env, parse_env_from, parse_input, parse_output};
use super::table::cell;
use super::verbs::{self, Query};

/// The verbs of `processor`.
#[derive(Subcommand)]
pub enum Command {
    /// Create a processor: a function applied to the messages of its input streams.
    Create(Box<Create>),
    #[command(flatten)]
    Query(Query),
    /// Delete processors by name, or all of a namespace.
    Delete(DeleteArgs),
    /// Print the logs of a processor's function and processor containers as they come.
    Tail(Tail),
}

/// The arguments of `processor create`.
#[derive(clap::Args)]
#[command(group(ArgGroup::new("function").required(true).args(["image", "function_ref", "container_ref"])))]
pub struct Create {
    #[command(flatten)]
    common: CreateArgs,
    /// The container image of the function.
    #[arg(long, value_name = "IMAGE")]
    image: Option<String>,
    /// The riff Function whose latest image runs.
    #[arg(long, value_name = "NAME")]
    function_ref: Option<String>,
    /// The riff Container whose latest image runs.
    #[arg(long, value_name = "NAME")]
    container_ref: Option<String>,
    /// A stream to read (repeatable, at least one), optionally under an alias and from the
    /// earliest or latest message.
    #[arg(long = "input", value_name = "[ALIAS:]STREAM[@earliest|latest]", required = true, value_parser = parse_input)]
    inputs: Vec<InputStreamBinding>,
    /// A stream to write (repeatable), optionally under an alias.
    #[arg(long = "output", value_name = "[ALIAS:]STREAM", value_parser = parse_output)]
    outputs: Vec<OutputStreamBinding>,
    /// An environment variable of the function (repeatable).
    #[arg(long = "env", value_name = "NAME=VALUE", value_parser = parse_env)]
    env: Vec<EnvVar>,
    /// An environment variable of the function read from a secret or a config map (repeatable).
    #[arg(long = "env-from", value_name = "NAME=secretKeyRef:SECRET:KEY|NAME=configMapKeyRef:CONFIG_MAP:KEY", value_parser = parse_env_from)]
    env_from: Vec<EnvVar>,
    /// Our extension: a window closes this long after its first message (default: 60s, riff's).
    #[arg(long, value_name = "DURATION", value_parser = parse_window)]
    window: Option<String>,
    /// Our extension: a window closes after this many messages.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    window_count: Option<u64>,
    /// Our extension: tumbling (default), sliding (--window-size, --window-every) or session
    /// (--window-gap) windows.
    #[arg(long, value_name = "KIND", value_parser = parse_name::<WindowKind>)]
    window_kind: Option<WindowKind>,
    /// Our extension: the length of a sliding window.
    #[arg(long, value_name = "DURATION", value_parser = parse_window)]
    window_size: Option<String>,
    /// Our extension: how often a sliding window starts.
    #[arg(long, value_name = "DURATION", value_parser = parse_window)]
    window_every: Option<String>,
    /// Our extension: a session window closes after this long without a message.
    #[arg(long, value_name = "DURATION", value_parser = parse_window)]
    window_gap: Option<String>,
    /// Our extension: windows on the `processing` clock (default) or by `event` time (the
    /// message's CloudEvents time, else its Kafka timestamp).
    #[arg(long, value_name = "CLOCK", value_parser = parse_name::<TimeBasis>)]
    window_time: Option<TimeBasis>,
    /// Our extension: processing-time tumbling windows start at multiples of their duration.
    #[arg(long)]
    window_align: bool,
    /// Our extension: `key` gives every message key windows of its own.
    #[arg(long, value_name = "key", value_parser = parse_name::<KeyBy>)]
    window_key_by: Option<KeyBy>,
    /// Our extension (event time): a silent partition stops holding the watermark back after
    /// this long (default 10s).
    #[arg(long, value_name = "DURATION", value_parser = parse_window)]
    window_idle_timeout: Option<String>,
    /// Our extension (event time): how long past its end a window waits for late messages.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    window_allowed_lateness: Option<String>,
    /// Our extension: calls a failing window (then record) gets before it is given up
    /// (default: unlimited; riff dropped a failed window).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    max_attempts: Option<u32>,
    /// Our extension: the delay before the first retry (default 100ms), doubling per attempt.
    #[arg(long, value_name = "DURATION", value_parser = parse_window)]
    backoff_initial: Option<String>,
    /// Our extension: the longest delay between attempts (default 30s).
    #[arg(long, value_name = "DURATION", value_parser = parse_window)]
    backoff_max: Option<String>,
    /// Our extension: exact exponential delays instead of full jitter.
    #[arg(long)]
    no_backoff_jitter: bool,
    /// Our extension: the longest a call may run after its window closed.
    #[arg(long, value_name = "DURATION", value_parser = parse_window)]
    call_timeout: Option<String>,
    /// Our extension: the stream receiving the records that failed every attempt.
    #[arg(long, value_name = "STREAM")]
    dead_letter: Option<String>,
}

/// The arguments of `processor tail`.
#[derive(clap::Args)]
pub struct Tail {
    #[command(flatten)]
    target: NameArgs,
    /// How far back the logs start.
    #[arg(long, hide = true, value_name = "DURATION", default_value = "1s", value_parser = GoDuration::parse)]
    since: GoDuration,
}

/// The pods of a processor, and its two containers.
const PROCESSOR_PODS: PodLogs = PodLogs {
    label: "streaming.projectriff.io/processor",
    containers: &["function", "processor"],
};

/// Runs a `processor` command.
pub async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Create(args) => {
            let processor = Processor::new("", args.spec());
            verbs::create(processor, args.common).await
        }
        Command::Query(query) => verbs::query::<Processor>(query).await,
        Command::Delete(args) => verbs::delete::<Processor>(args).await,
        Command::Tail(args) => tail(args).await,
    }
}

impl Create {
    /// The spec riff's CLI builds: one container (image and env in container 0), aliases and
    /// start offsets left for the server to default.
    fn spec(&self) -> ProcessorSpec {
        let env: Vec<EnvVar> = self.env.iter().chain(&self.env_from).cloned().collect();
        let container = Container {
            image: self.image.clone(),
            env: (!env.is_empty()).then_some(env),
            ..Container::default()
        };
        let build = match (&self.function_ref, &self.container_ref) {
            (Some(function_ref), _) => Some(Build {
                function_ref: function_ref.clone(),
                ..Build::default()
            }),
            (None, Some(container_ref)) => Some(Build {
                container_ref: container_ref.clone(),
                ..Build::default()
            }),
            (None, None) => None,
        };
        let window = Window {
            kind: self.window_kind,
            duration: self.window.clone(),
            count: self.window_count,
            size: self.window_size.clone(),
            every: self.window_every.clone(),
            gap: self.window_gap.clone(),
            time: self.window_time,
            align: self.window_align.then_some(true),
            key_by: self.window_key_by,
            idle_timeout: self.window_idle_timeout.clone(),
            allowed_lateness: self.window_allowed_lateness.clone(),
        };
        let window = (window != Window::default()).then_some(window);
        ProcessorSpec {
            delivery: self.delivery(),
            build,
            inputs: self.inputs.clone(),
            outputs: self.outputs.clone(),
            template: Some(PodTemplateSpec {
                spec: Some(PodSpec {
                    containers: vec![container],
                    ..PodSpec::default()
                }),
                ..PodTemplateSpec::default()
            }),
            window,
        }
    }
}

impl Create {
    /// `spec.delivery` from the delivery flags; absent when none is given.
    fn delivery(&self) -> Option<DeliveryPolicy> {
        let backoff = (self.backoff_initial.is_some()
            || self.backoff_max.is_some()
            || self.no_backoff_jitter)
            .then(|| BackoffPolicy {
                initial: self.backoff_initial.clone(),
                max: self.backoff_max.clone(),
                jitter: self.no_backoff_jitter.then_some(false),
            });
        let delivery = DeliveryPolicy {
            max_attempts: self.max_attempts,
            backoff,
            timeout: self.call_timeout.clone(),
            dead_letter: (self.dead_letter.clone()).map(|stream| DeadLetter { stream }),
        };
        (delivery != DeliveryPolicy::default()).then_some(delivery)
    }
}

/// A window flag naming one of `T`'s values as the YAML spells it (`sliding`, `event`, `key`).
fn parse_name<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
    serde_json::from_value(serde_json::Value::String(text.to_owned())).map_err(|e| e.to_string())
}

/// A Go duration that may be zero, kept as written.
fn parse_duration(text: &str) -> Result<String, String> {
    GoDuration::parse(text).map(|parsed| parsed.text)
}

/// `--window` and the other duration flags: a positive Go duration, kept as written.
fn parse_window(text: &str) -> Result<String, String> {
    if GoDuration::parse(text)?.duration.is_zero() {
        Err("must be greater than zero".to_owned())
    } else {
        Ok(text.to_owned())
    }
}

/// `processor tail`: the logs of the processor's pods until interrupted.
async fn tail(args: Tail) -> anyhow::Result<()> {
    let cluster = Cluster::connect(args.target.namespace.namespace).await?;
    let name = args.target.name;
    verbs::get::<Processor>(&cluster, &name).await?;
    let selector = format!("{}={name}", PROCESSOR_PODS.label);
    let logs = logs::follow(
        cluster.client.clone(),
        &cluster.namespace,
        &selector,
        PROCESSOR_PODS.containers,
        args.since.duration,
    );
    tokio::select! {
        () = logs => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}

/// `alias:stream`, or `stream` when the alias is the stream's name (or empty).
fn binding(alias: &str, stream: &str) -> String {
    if alias.is_empty() || alias == stream {
        stream.to_owned()
    } else {
        format!("{alias}:{stream}")
    }
}

impl Kind for Processor {
    const NOUN: &'static str = "processor";
    const NOUNS: &'static str = "processors";
    const COMMAND: &'static str = "processor";
    const COLUMNS: &'static [&'static str] = &["Function", "Inputs", "Outputs"];
    const WAIT_TIMEOUT: &'static str = "10m";
    const LOGS: Option<PodLogs> = Some(PROCESSOR_PODS);
    const TAIL_COMMAND: bool = true;

    fn cells(&self) -> Vec<String> {
        let spec = &self.spec;
        let function = spec.build.as_ref().map_or("", |b| b.function_ref.as_str());
        let inputs: Vec<String> = spec
            .inputs
            .iter()
            .map(|b| binding(&b.alias, &b.stream))
            .collect();
        let outputs: Vec<String> = spec
            .outputs
            .iter()
            .map(|b| binding(&b.alias, &b.stream))
            .collect();
        vec![
            cell(function),
            cell(&inputs.join(", ")),
            cell(&outputs.join(", ")),
        ]
    }

    fn conditions(&self) -> &[Condition] {
        self.status.as_ref().map_or(&[], |s| &s.common.conditions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        create: Create,
    }

    fn parse(args: &[&str]) -> Result<Create, clap::Error> {
        let args = ["create", "p"].iter().chain(args);
        Cli::try_parse_from(args).map(|cli| cli.create)
    }

    fn spec(args: &[&str]) -> serde_json::Value {
        let create = parse(args).unwrap_or_else(|e| panic!("{e}"));
        serde_json::to_value(create.spec()).unwrap()
    }

    // Behaviour 77 of docs/riff-compatibility.md.
    #[test]
    fn bindings_are_left_for_the_server_to_default() {
        let spec = spec(&[
            "--image",
            "i",
            "--input",
            "a:s1@earliest",
            "--input",
            "s2",
            "--output",
            "o:s3",
        ]);
        assert_eq!(
            spec,
            serde_json::json!({
                "inputs": [{"alias": "a", "stream": "s1", "startOffset": "earliest"}, {"stream": "s2"}],
                "outputs": [{"alias": "o", "stream": "s3"}],
                "template": {"spec": {"containers": [{"name": "", "image": "i"}]}},
            })
        );
    }

    #[test]
    fn refs_env_and_window_go_where_riff_puts_them() {
        let spec = spec(&[
            "--function-ref",
            "time-averager",
            "--input",
            "in",
            "--env",
            "A=b",
            "--env-from",
            "C=secretKeyRef:s:k",
            "--window",
            "5s",
            "--window-count",
            "100",
        ]);
        assert_eq!(
            spec["build"],
            serde_json::json!({"functionRef": "time-averager"})
        );
        assert_eq!(
            spec["template"]["spec"]["containers"][0]["env"],
            serde_json::json!([
                {"name": "A", "value": "b"},
                {"name": "C", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
            ])
        );
        assert_eq!(
            spec["window"],
            serde_json::json!({"duration": "5s", "count": 100})
        );
        let spec = self::spec(&["--container-ref", "c", "--input", "in"]);
        assert_eq!(spec["build"], serde_json::json!({"containerRef": "c"}));
        assert_eq!(spec.get("window"), None);
        assert_eq!(spec.get("delivery"), None);
    }

    #[test]
    fn window_kind_clock_and_key_flags_build_the_window() {
        let spec = spec(&[
            "--image",
            "i",
            "--input",
            "in",
            "--window-kind",
            "sliding",
            "--window-size",
            "10s",
            "--window-every",
            "1s",
            "--window-time",
            "event",
            "--window-key-by",
            "key",
            "--window-idle-timeout",
            "5s",
            "--window-allowed-lateness",
            "0s",
        ]);
        assert_eq!(
            spec["window"],
            serde_json::json!({"kind": "sliding", "size": "10s", "every": "1s", "time": "event",
                "keyBy": "key", "idleTimeout": "5s", "allowedLateness": "0s"})
        );
        let spec = self::spec(&["--image", "i", "--input", "in", "--window-kind", "session"]);
        assert_eq!(spec["window"], serde_json::json!({"kind": "session"}));
        let args = ["--image", "i", "--input", "in", "--window-time", "wall"];
        let wrong = parse(&args)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(wrong.contains("unknown variant `wall`"), "{wrong}");
    }

    #[test]
    fn delivery_flags_build_the_delivery_policy() {
        let spec = spec(&[
            "--image",
            "i",
            "--input",
            "in",
            "--max-attempts",
            "3",
            "--backoff-initial",
            "10ms",
            "--backoff-max",
            "2s",
            "--no-backoff-jitter",
            "--call-timeout",
            "30s",
            "--dead-letter",
            "failed",
        ]);
        assert_eq!(
            spec["delivery"],
            serde_json::json!({
                "maxAttempts": 3,
                "backoff": {"initial": "10ms", "max": "2s", "jitter": false},
                "timeout": "30s",
                "deadLetter": {"stream": "failed"},
            })
        );
        let error = |args: &[&str]| parse(args).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            error(&["--image", "i", "--input", "in", "--max-attempts", "0"])
                .contains("0 is not in 1..")
        );
        assert!(
            error(&["--image", "i", "--input", "in", "--call-timeout", "soon"])
                .contains("--call-timeout")
        );
    }

    // Behaviour 79 of docs/riff-compatibility.md.
    #[test]
    fn exactly_one_function_source_and_an_input() {
        let error = |args: &[&str]| parse(args).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error(&["--input", "in"])
            .contains("--image <IMAGE>|--function-ref <NAME>|--container-ref <NAME>"));
        assert!(
            error(&["--image", "i", "--function-ref", "f", "--input", "in"])
                .contains("'--image <IMAGE>' cannot be used with '--function-ref <NAME>'")
        );
        assert!(error(&["--image", "i"]).contains("--input <[ALIAS:]STREAM[@earliest|latest]>"));
        assert!(error(&["--image", "i", "--input", "in", "--window", "0s"])
            .contains("must be greater than zero"));
    }

    // Behaviour 83 of docs/riff-compatibility.md.
    #[test]
    fn list_shows_aliases_only_when_they_differ() {
        let mut processor = Processor::new(
            "p",
            spec_of(&[
                "--function-ref",
                "f",
                "--input",
                "in",
                "--input",
                "x:other",
                "--output",
                "out:out",
            ]),
        );
        riff_actors::resources::Admission::apply_defaults(&mut processor);
        assert_eq!(processor.cells(), ["f", "in, x:other", "out"]);
        let image = Processor::new("p", spec_of(&["--image", "i", "--input", "in"]));
        assert_eq!(image.cells(), ["<empty>", "in", "<empty>"]);
    }

    fn spec_of(args: &[&str]) -> ProcessorSpec {
        parse(args).unwrap().spec()
    }
}
