//! What `riff local run` will run, derived from the loaded resources and checked up front so
//! that nothing starts when anything is wrong.

use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::Container;

use super::function_process::FunctionCommand;
use super::secrets::Secrets;
use super::NamespacedName;
use crate::broker::kafka::KafkaSecurity;
use crate::broker::OffsetReset;
use crate::resources::manifest::Loaded;
use crate::resources::{
    ManifestObject, Processor, ProcessorSpec, ResolvedDelivery, ResolvedWindow, StartOffset, Stream,
};

/// A gateway to serve.
#[derive(Debug, PartialEq)]
pub struct GatewayPlan {
    pub key: NamespacedName,
    /// `Some` for a KafkaGateway, `None` for an InMemoryGateway.
    pub kafka: Option<KafkaPlan>,
}

/// The Kafka cluster of a KafkaGateway, and how to connect to it.
#[derive(Debug, PartialEq)]
pub struct KafkaPlan {
    pub bootstrap_servers: String,
    pub security: KafkaSecurity,
}

/// A stream to provision.
#[derive(Debug, PartialEq)]
pub struct StreamPlan {
    pub key: NamespacedName,
    pub gateway: NamespacedName,
    pub content_type: String,
    pub partitions: u32,
}

/// One input or output of a processor.
#[derive(Debug, PartialEq)]
pub struct BindingPlan {
    pub stream: NamespacedName,
    pub alias: String,
    pub reset: OffsetReset,
}

/// A processor to run: its pipeline and its function process.
#[derive(Debug, PartialEq)]
pub struct ProcessorPlan {
    pub key: NamespacedName,
    pub inputs: Vec<BindingPlan>,
    pub outputs: Vec<BindingPlan>,
    /// The dead-letter stream (`spec.delivery.deadLetter`), if any.
    pub dead_letter: Option<NamespacedName>,
    pub window: ResolvedWindow,
    pub delivery: ResolvedDelivery,
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
fn resource_name(kind: &str, key: &NamespacedName) -> String {
    format!("{} {}/{}", kind.to_lowercase(), key.0, key.1)
}

impl GatewayPlan {
    /// `gateway <namespace>/<name>`.
    pub fn resource(&self) -> String {
        resource_name("gateway", &self.key)
    }
}

impl StreamPlan {
    /// `stream <namespace>/<name>`.
    pub fn resource(&self) -> String {
        resource_name("stream", &self.key)
    }
}

impl ProcessorPlan {
    /// `processor <namespace>/<name>`.
    pub fn resource(&self) -> String {
        resource_name("processor", &self.key)
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
    match riff_folder() {
        Some(own) => format!("{path}:{}", own.display()),
        None => path,
    }
}

/// The folder of the running `riff` binary, where the sample functions are built.
fn riff_folder() -> Option<PathBuf> {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
}

/// The program run for a function container without `command`: named like `build.functionRef`
/// or `build.containerRef`, else like the image (its last path segment, tag and digest stripped:
/// `ghcr.io/riff-streaming/square:latest` → `square`). Returns the field it comes from and the
/// name.
fn implied_program(spec: &ProcessorSpec, container: &Container) -> Option<(&'static str, String)> {
    if let Some(build) = &spec.build {
        return Some(if build.function_ref.is_empty() {
            ("spec.build.containerRef", build.container_ref.clone())
        } else {
            ("spec.build.functionRef", build.function_ref.clone())
        });
    }
    let image = container
        .image
        .as_deref()
        .filter(|image| !image.is_empty())?;
    let image = image.split('@').next().unwrap_or(image);
    let segment = image.rsplit('/').next().unwrap_or(image);
    let name = segment.split(':').next().unwrap_or(segment);
    Some(("spec.template.spec.containers[0].image", name.to_owned()))
}

/// `name` as an executable file on `PATH`, in `dir` (the YAML's folder) or in the folder of
/// `riff`, in that order.
fn find_program(name: &str, dir: &Path) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([dir.to_path_buf()])
        .chain(riff_folder())
        .map(|folder| folder.join(name))
        .find(|candidate| {
            std::fs::metadata(candidate)
                .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        })
        .and_then(|program| std::path::absolute(program).ok())
}

impl Plan {
    /// The plan for `resources`, or every reason embedded mode cannot run them.
    pub fn new(resources: &[Loaded], secret_dir: Option<PathBuf>) -> anyhow::Result<Plan> {
        let mut plan = Plan {
            gateways: Vec::new(),
            streams: Vec::new(),
            processors: Vec::new(),
        };
        let mut secrets = Secrets::new(secret_dir);
        for loaded in resources {
            if let ManifestObject::Secret(secret) = &loaded.resource {
                let key = (
                    loaded.resource.namespace().into(),
                    loaded.resource.name().into(),
                );
                secrets.declare(key, secret);
            }
        }
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
                ManifestObject::InMemoryGateway(_) => plan.gateways.push(GatewayPlan { key, kafka: None }),
                ManifestObject::KafkaGateway(gateway) => {
                    let refs = gateway.spec.security();
                    let resolved = KafkaSecurity::resolve(&refs, &secrets.of_namespace(&key.0));
                    match resolved {
                        Ok(security) => plan.gateways.push(GatewayPlan {
                            kafka: Some(KafkaPlan {
                                bootstrap_servers: gateway.spec.bootstrap_servers.clone(),
                                security,
                            }),
                            key,
                        }),
                        Err(missing) => errors.push(format!("{culprit}: {missing}")),
                    }
                }
                ManifestObject::Secret(_) => {}
                ManifestObject::Gateway(_) => errors.push(format!(
                    "{culprit}: the abstract Gateway is made by an InMemoryGateway or a KafkaGateway; declare one of those"
                )),
                ManifestObject::Stream(stream) => plan.streams.push(stream_plan(key, stream)),
                ManifestObject::Processor(processor) => {
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

fn stream_plan(key: NamespacedName, stream: &Stream) -> StreamPlan {
    StreamPlan {
        gateway: (key.0.clone(), stream.spec.gateway.name.clone()),
        content_type: stream.spec.content_type.clone(),
        partitions: stream.spec.partitions,
        key,
    }
}

fn processor_plan(
    key: NamespacedName,
    processor: &Processor,
    dir: PathBuf,
) -> Result<ProcessorPlan, String> {
    let spec = &processor.spec;
    let mut container = spec.function_container().cloned().unwrap_or_default();
    let path = "spec.template.spec.containers[0]";
    if container.command.as_ref().is_none_or(Vec::is_empty) {
        let Some((field, name)) = implied_program(spec, &container) else {
            return Err(format!(
                "{path}.command: Required value: embedded mode runs the function container's command as a process"
            ));
        };
        let Some(program) = find_program(&name, &dir) else {
            return Err(format!(
                "{field}: Not found: {name:?}: without {path}.command, embedded mode runs the program named after {field}, and there is none on PATH, in {} or beside riff",
                dir.display()
            ));
        };
        container.command = Some(vec![program.to_string_lossy().into_owned()]);
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
    let delivery = spec
        .resolved_delivery()
        .map_err(|errors| errors.to_string())?;
    Ok(ProcessorPlan {
        window: spec
            .resolved_window()
            .map_err(|errors| errors.to_string())?,
        dead_letter: (delivery.dead_letter.as_ref()).map(|stream| (key.0.clone(), stream.clone())),
        delivery,
        inputs,
        outputs,
        container,
        dir,
        key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn processor(spec: &str) -> Processor {
        let yaml = format!("metadata: {{name: p}}\nspec:\n  inputs: [{{stream: in}}]\n{spec}");
        serde_norway::from_str(&yaml).unwrap()
    }

    fn key() -> NamespacedName {
        ("default".into(), "p".into())
    }

    /// A folder holding an executable `name`.
    fn folder_with_program(name: &str) -> tempfile::TempDir {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let program = dir.path().join(name);
        std::fs::write(&program, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
        dir
    }

    #[test]
    fn the_program_is_named_after_the_image_or_the_build_ref() {
        let implied = |spec: &str| {
            let p = processor(spec);
            let container = p.spec.function_container().cloned().unwrap_or_default();
            implied_program(&p.spec, &container)
        };
        let image = |image: &str| {
            implied(&format!(
                "  template: {{spec: {{containers: [{{image: '{image}'}}]}}}}\n"
            ))
            .unwrap()
            .1
        };
        assert_eq!(
            image("ghcr.io/riff-streaming/time-averager:latest"),
            "time-averager"
        );
        assert_eq!(image("localhost:5000/fn/square"), "square");
        assert_eq!(image("square@sha256:0123"), "square");
        assert_eq!(image("registry:5000/square:1.0@sha256:0123"), "square");
        assert_eq!(
            implied("  build: {functionRef: time-averager}\n"),
            Some(("spec.build.functionRef", "time-averager".to_owned()))
        );
        assert_eq!(
            implied("  build: {containerRef: zip-sum}\n"),
            Some(("spec.build.containerRef", "zip-sum".to_owned()))
        );
        assert_eq!(implied(""), None);
    }

    #[test]
    fn without_a_command_the_named_program_is_found_beside_the_yaml() {
        let dir = folder_with_program("square");
        let p =
            processor("  template: {spec: {containers: [{image: 'ghcr.io/x/square:latest'}]}}\n");
        let plan =
            processor_plan(key(), &p, dir.path().to_path_buf()).unwrap_or_else(|e| panic!("{e}"));
        let command = plan.command(8081);
        assert_eq!(command.program, dir.path().join("square").to_string_lossy());
        assert!(command.args.is_empty());

        let dir = folder_with_program("time-averager");
        let p = processor("  build: {functionRef: time-averager}\n");
        let plan = processor_plan(key(), &p, dir.path().to_path_buf()).unwrap();
        assert_eq!(
            plan.command(8081).program,
            dir.path().join("time-averager").to_string_lossy()
        );
    }

    #[test]
    fn a_missing_program_names_the_field_and_the_program() {
        let dir = tempfile::tempdir().unwrap();
        let p = processor("  build: {functionRef: no-such-function-xyz}\n");
        let error = processor_plan(key(), &p, dir.path().to_path_buf())
            .err()
            .unwrap();
        assert!(
            error.starts_with(
                r#"spec.build.functionRef: Not found: "no-such-function-xyz": without spec.template.spec.containers[0].command"#
            ),
            "{error}"
        );
        let p = processor("  template: {spec: {containers: [{image: 'example/nope-xyz:1'}]}}\n");
        let error = processor_plan(key(), &p, dir.path().to_path_buf())
            .err()
            .unwrap();
        assert!(
            error.starts_with(r#"spec.template.spec.containers[0].image: Not found: "nope-xyz""#),
            "{error}"
        );
    }

    #[test]
    fn an_explicit_command_is_run_as_written() {
        let p = processor(
            "  build: {functionRef: f}\n  template: {spec: {containers: [{command: [node, server.js]}]}}\n",
        );
        let plan = processor_plan(key(), &p, PathBuf::from("/srv")).unwrap();
        let command = plan.command(8081);
        assert_eq!(command.program, "node");
        assert_eq!(command.args, ["server.js"]);
    }

    #[test]
    fn a_kafka_gateway_resolves_its_secrets_from_the_manifests_or_names_the_missing_one() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("all.yaml");
        let gateway = "apiVersion: streaming.projectriff.io/v1alpha1\nkind: KafkaGateway\n\
            metadata: {name: franz}\nspec: {bootstrapServers: 'k:9093', sasl: {mechanism: PLAIN, \
            user: {name: creds, key: user}, password: {name: creds, key: password}}}\n";
        let secret = "---\napiVersion: v1\nkind: Secret\nmetadata: {name: creds}\n\
            stringData: {user: alice}\n";
        std::fs::write(&file, format!("{gateway}{secret}")).unwrap();
        let loaded = crate::resources::load(std::slice::from_ref(&file)).unwrap();
        let error = Plan::new(&loaded, None).err().unwrap().to_string();
        assert!(error.contains("KafkaGateway default/franz"), "{error}");
        assert!(
            error.contains(r#"Secret "creds" has no key "password""#),
            "{error}"
        );

        let secret = secret.replace("{user: alice}", "{user: alice, password: s3cret}");
        std::fs::write(&file, format!("{gateway}{secret}")).unwrap();
        let loaded = crate::resources::load(std::slice::from_ref(&file)).unwrap();
        let plan = Plan::new(&loaded, None).unwrap();
        let kafka = plan.gateways[0].kafka.as_ref().unwrap();
        assert_eq!(kafka.bootstrap_servers, "k:9093");
        assert!(!format!("{:?}", kafka.security).contains("s3cret"));
    }
}
