//! What `riff local run` will run, derived from the loaded resources and checked up front so
//! that nothing starts when anything is wrong.

use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::Container;

use super::function_process::FunctionCommand;
use super::Key;
use crate::broker::OffsetReset;
use crate::resources::manifest::Loaded;
use crate::resources::{Processor, ResolvedWindow, Resource, StartOffset, Stream};

/// A gateway to serve.
pub struct GatewayPlan {
    pub key: Key,
    /// `Some(bootstrap servers)` for a KafkaGateway, `None` for an InMemoryGateway.
    pub kafka: Option<String>,
}

/// A stream to provision.
pub struct StreamPlan {
    pub key: Key,
    pub gateway: Key,
    pub content_type: String,
    pub partitions: u32,
}

/// One input or output of a processor.
pub struct BindingPlan {
    pub stream: Key,
    pub alias: String,
    pub reset: OffsetReset,
}

/// A processor to run: its pipeline and its function process.
pub struct ProcessorPlan {
    pub key: Key,
    pub inputs: Vec<BindingPlan>,
    pub outputs: Vec<BindingPlan>,
    pub window: ResolvedWindow,
    container: Container,
    dir: PathBuf,
}

/// Everything to run, in start order.
pub struct Plan {
    pub gateways: Vec<GatewayPlan>,
    pub streams: Vec<StreamPlan>,
    pub processors: Vec<ProcessorPlan>,
}

/// `<Kind> <namespace>/<name>`, as logs and errors name a resource.
fn describe(kind: &str, key: &Key) -> String {
    format!("{} {}/{}", kind.to_lowercase(), key.0, key.1)
}

impl GatewayPlan {
    /// `gateway <namespace>/<name>`.
    pub fn resource(&self) -> String {
        describe("gateway", &self.key)
    }
}

impl StreamPlan {
    /// `stream <namespace>/<name>`.
    pub fn resource(&self) -> String {
        describe("stream", &self.key)
    }
}

impl ProcessorPlan {
    /// `processor <namespace>/<name>`.
    pub fn resource(&self) -> String {
        describe("processor", &self.key)
    }

    /// The function container as a process on `port`: `command` + `args`, `env`, `GRPC_PORT`,
    /// and `PATH` extended with the folder of the `riff` binary (where sample functions live).
    pub fn command(&self, port: u16) -> FunctionCommand {
        let container = &self.container;
        let mut words = container
            .command
            .iter()
            .flatten()
            .chain(container.args.iter().flatten());
        let program = words.next().cloned().unwrap_or_default();
        let mut env: Vec<(String, String)> = container
            .env
            .iter()
            .flatten()
            .map(|var| (var.name.clone(), var.value.clone().unwrap_or_default()))
            .collect();
        env.push(("GRPC_PORT".into(), port.to_string()));
        env.push(("PATH".into(), search_path()));
        let dir = match &container.working_dir {
            Some(working_dir) => self.dir.join(working_dir),
            None => self.dir.clone(),
        };
        FunctionCommand {
            resource: self.resource(),
            program: resolve(&program, &dir),
            args: words.cloned().collect(),
            env,
            dir,
        }
    }
}

/// A program path with a slash is relative to the working directory; a bare name is looked up
/// on `PATH`.
fn resolve(program: &str, dir: &Path) -> String {
    if program.contains('/') {
        dir.join(program).to_string_lossy().into_owned()
    } else {
        program.to_owned()
    }
}

/// `PATH`, then the folder of the running `riff` binary.
fn search_path() -> String {
    let path = std::env::var("PATH").unwrap_or_default();
    let own = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf));
    match own {
        Some(own) => format!("{path}:{}", own.display()),
        None => path,
    }
}

impl Plan {
    /// The plan for `resources`, or every reason embedded mode cannot run them.
    pub fn new(resources: &[Loaded]) -> anyhow::Result<Plan> {
        let mut plan = Plan {
            gateways: Vec::new(),
            streams: Vec::new(),
            processors: Vec::new(),
        };
        let mut errors = Vec::new();
        for loaded in resources {
            let resource = &loaded.resource;
            let key = (resource.namespace().to_owned(), resource.name().to_owned());
            let culprit = format!(
                "{}: {} {}/{}",
                loaded.source.display(),
                resource.kind(),
                key.0,
                key.1
            );
            match resource {
                Resource::InMemoryGateway(_) => plan.gateways.push(GatewayPlan { key, kafka: None }),
                Resource::KafkaGateway(gateway) => plan.gateways.push(GatewayPlan {
                    key,
                    kafka: Some(gateway.spec.bootstrap_servers.clone()),
                }),
                Resource::Gateway(_) => errors.push(format!(
                    "{culprit}: the abstract Gateway is made by an InMemoryGateway or a KafkaGateway; declare one of those"
                )),
                Resource::Stream(stream) => plan.streams.push(stream_plan(key, stream)),
                Resource::Processor(processor) => {
                    match processor_plan(key, processor, loaded.directory().to_path_buf()) {
                        Ok(processor) => plan.processors.push(processor),
                        Err(reason) => errors.push(format!("{culprit}: {reason}")),
                    }
                }
            }
        }
        plan.gateways.sort_by(|a, b| a.key.cmp(&b.key));
        if errors.is_empty() {
            Ok(plan)
        } else {
            anyhow::bail!(errors.join("\n"))
        }
    }
}

fn stream_plan(key: Key, stream: &Stream) -> StreamPlan {
    StreamPlan {
        gateway: (key.0.clone(), stream.spec.gateway.name.clone()),
        content_type: stream.spec.content_type.clone(),
        partitions: stream.spec.partitions,
        key,
    }
}

fn processor_plan(key: Key, processor: &Processor, dir: PathBuf) -> Result<ProcessorPlan, String> {
    let spec = &processor.spec;
    let container = spec.function_container().cloned().unwrap_or_default();
    let path = "spec.template.spec.containers[0]";
    if spec.build.is_some() {
        return Err(
            "spec.build: Forbidden: building functions needs a cluster; embedded mode runs spec.template.spec.containers[0].command".into(),
        );
    }
    if container.command.as_ref().is_none_or(Vec::is_empty) {
        return Err(format!(
            "{path}.command: Required value: embedded mode runs the function container's command as a process"
        ));
    }
    if let Some(index) = container
        .env
        .iter()
        .flatten()
        .position(|var| var.value_from.is_some())
    {
        return Err(format!(
            "{path}.env[{index}].valueFrom: Forbidden: embedded mode supports plain values only"
        ));
    }
    let binding = |stream: &str, alias: &str, reset| BindingPlan {
        stream: (key.0.clone(), stream.to_owned()),
        alias: alias.to_owned(),
        reset,
    };
    let inputs = spec
        .inputs
        .iter()
        .map(|input| {
            let reset = match StartOffset::parse(&input.start_offset) {
                Some(StartOffset::Earliest) => OffsetReset::Earliest,
                _ => OffsetReset::Latest,
            };
            binding(&input.stream, &input.alias, reset)
        })
        .collect();
    let outputs = spec
        .outputs
        .iter()
        .map(|output| binding(&output.stream, &output.alias, OffsetReset::Latest))
        .collect();
    Ok(ProcessorPlan {
        window: spec
            .resolved_window()
            .map_err(|errors| errors.to_string())?,
        inputs,
        outputs,
        container,
        dir,
        key,
    })
}
