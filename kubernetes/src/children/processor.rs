//! Processors: a Processor owns a Deployment of its function plus the processor sidecar, and a
//! KEDA ScaledObject scaling it on the lag of its inputs (docs/riff-compatibility.md §2.5).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{
    ConfigMapVolumeSource, Container, ContainerPort, EnvVar, SecretVolumeSource, Volume,
    VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use super::scaled_object::{
    AuthenticationRef, ScaleTargetRef, ScaleTrigger, ScaledObject, ScaledObjectSpec,
    SecretTargetRef, TriggerAuthentication, TriggerAuthenticationSpec,
};
use super::stream::StreamCoordinates;
use super::{
    child_metadata, env, kafka_secret_volumes, labels, name, scrape_annotations, PROCESSOR_LABEL,
};
use riff_actors::processor::health::{STATUS_PORT, STATUS_PORT_NAME};
use riff_actors::resources::{
    Admission, KafkaSecurityRefs, Processor, SaslMechanism, SecretKeyRef, Stream,
};

/// The ConfigMap in the system namespace holding the sidecar image.
pub const PROCESSOR_IMAGE_CONFIG_MAP: &str = "riff-streaming-processor";
/// The key of the sidecar image in [`PROCESSOR_IMAGE_CONFIG_MAP`].
pub const PROCESSOR_IMAGE_KEY: &str = "processorImage";
/// Where the sidecar finds the stream bindings (`CNB_BINDINGS`).
pub const BINDINGS_DIR: &str = "/var/riff/bindings";
/// The binding directory of the dead-letter stream (our extension), beside `input_000`.
pub const DEAD_LETTER_BINDING: &str = "dead_letter";
/// The gRPC port of the function container.
pub const FUNCTION_PORT: i32 = 8081;
/// `minReplicaCount` when the reconciler asks for none: riff never scales a processor to zero.
pub const DEFAULT_MIN_REPLICAS: i32 = 1;
/// riff's `maxReplicaCount`.
pub const MAX_REPLICAS: i32 = 30;

/// The labels of every child: the processor's plus `streaming.projectriff.io/processor: <name>`.
fn processor_labels(processor: &Processor) -> BTreeMap<String, String> {
    labels(
        &processor.metadata,
        &[(PROCESSOR_LABEL, name(&processor.metadata))],
    )
}

/// The metadata of every child: labels and generated name `<processor>-processor-xxxxx`.
fn processor_child_metadata(processor: &Processor) -> ObjectMeta {
    ObjectMeta {
        generate_name: Some(format!("{}-processor-", name(&processor.metadata))),
        ..child_metadata(&processor.metadata, processor_labels(processor))
    }
}

/// The Deployment of `processor` (defaulted here as riff's controller does): its template with
/// container 0 running `status.latestImage` on port 8081, and an appended `processor` sidecar
/// running `processor_image` with the streams' bindings mounted. `streams` are the resolved input
/// and output streams, in any order; `current_replicas` is the existing Deployment's count (1 on
/// create), kept so that KEDA owns it. `kafka_secrets` are the Secret keys the streams' Kafka
/// clusters need (TLS, SASL), mounted in the sidecar.
///
/// `None` when there is no latest image or sidecar image, or a bound stream is not in `streams`.
pub fn processor_deployment(
    processor: &Processor,
    processor_image: &str,
    streams: &[Stream],
    kafka_secrets: &[SecretKeyRef],
    current_replicas: Option<i32>,
) -> Option<Deployment> {
    let latest_image = processor.status.as_ref()?.latest_image.as_deref();
    let latest_image = latest_image.filter(|i| !i.is_empty())?;
    if processor_image.is_empty() {
        return None;
    }
    let mut processor = processor.clone();
    processor.apply_defaults();
    let spec = &processor.spec;
    let stream = |stream_name: &str| streams.iter().find(|s| name(&s.metadata) == stream_name);
    let bound = |direction: &'static str, stream_names: Vec<&str>| {
        stream_names
            .into_iter()
            .enumerate()
            .map(|(i, s)| Some((format!("{direction}_{i:03}"), stream(s)?)))
            .collect::<Option<Vec<_>>>()
    };
    let inputs = bound("input", spec.inputs.iter().map(|b| &*b.stream).collect())?;
    let outputs = bound("output", spec.outputs.iter().map(|b| &*b.stream).collect())?;
    let dead_letter = spec.delivery.as_ref().and_then(|d| d.dead_letter.as_ref());
    let dead_letter = match dead_letter {
        Some(dead_letter) => Some((DEAD_LETTER_BINDING.to_owned(), stream(&dead_letter.stream)?)),
        None => None,
    };
    let bindings: Vec<_> = inputs
        .into_iter()
        .chain(outputs)
        .chain(dead_letter)
        .collect();

    let (secret_volumes, secret_mounts) = kafka_secret_volumes(kafka_secrets);
    let mut template = spec.template.clone().unwrap_or_default();
    let labels = processor_labels(&processor);
    let pod_metadata = template.metadata.get_or_insert_with(ObjectMeta::default);
    pod_metadata
        .labels
        .get_or_insert_with(BTreeMap::new)
        .extend(labels.clone());
    // The sidecar's metrics, for Prometheus' pod discovery.
    pod_metadata
        .annotations
        .get_or_insert_with(BTreeMap::new)
        .extend(scrape_annotations(STATUS_PORT));
    let pod = template.spec.get_or_insert_with(Default::default);
    let function = &mut pod.containers[0];
    function.image = Some(latest_image.to_owned());
    function.ports = Some(vec![ContainerPort {
        container_port: FUNCTION_PORT,
        ..ContainerPort::default()
    }]);
    pod.containers.push(Container {
        name: "processor".to_owned(),
        image: Some(processor_image.to_owned()),
        args: Some(vec!["processor".to_owned()]),
        env: Some(sidecar_env(&processor)),
        ports: Some(vec![ContainerPort {
            name: Some(STATUS_PORT_NAME.to_owned()),
            container_port: i32::from(STATUS_PORT),
            ..ContainerPort::default()
        }]),
        volume_mounts: Some(
            bindings
                .iter()
                .flat_map(|(dir, stream)| binding_mounts(dir, stream))
                .chain(secret_mounts)
                .collect(),
        ),
        ..Container::default()
    });
    let volumes: BTreeMap<String, Volume> = bindings
        .iter()
        .flat_map(|(_, stream)| binding_volumes(stream))
        .map(|v| (v.name.clone(), v))
        .collect();
    pod.volumes
        .get_or_insert_with(Vec::new)
        .extend(volumes.into_values().chain(secret_volumes));

    Some(Deployment {
        metadata: processor_child_metadata(&processor),
        spec: Some(DeploymentSpec {
            replicas: Some(current_replicas.unwrap_or(1)),
            selector: LabelSelector {
                match_labels: Some(BTreeMap::from([(
                    PROCESSOR_LABEL.to_owned(),
                    name(&processor.metadata).to_owned(),
                )])),
                ..LabelSelector::default()
            },
            template,
            ..DeploymentSpec::default()
        }),
        status: None,
    })
}

/// riff's sidecar environment, in riff's order, then our window and delivery extensions, the
/// namespace (`POD_NAMESPACE`, the metrics' label) and the function container's OpenTelemetry
/// settings (`OTEL_*` but the service name: one setting traces both containers).
fn sidecar_env(processor: &Processor) -> Vec<EnvVar> {
    let spec = &processor.spec;
    let join = |values: Vec<&str>| values.join(",");
    let mut vars = vec![
        env("CNB_BINDINGS", BINDINGS_DIR),
        env(
            "INPUT_START_OFFSETS",
            join(spec.inputs.iter().map(|i| &*i.start_offset).collect()),
        ),
        env(
            "INPUT_NAMES",
            join(spec.inputs.iter().map(|i| &*i.alias).collect()),
        ),
        env(
            "OUTPUT_NAMES",
            join(spec.outputs.iter().map(|o| &*o.alias).collect()),
        ),
        env("GROUP", name(&processor.metadata)),
        env("FUNCTION", format!("localhost:{FUNCTION_PORT}")),
    ];
    if let Some(window) = &spec.window {
        vars.extend(
            window
                .to_env()
                .into_iter()
                .map(|(name, value)| env(name, value)),
        );
    }
    if let Some(delivery) = &spec.delivery {
        let backoff = delivery.backoff.clone().unwrap_or_default();
        let settings = [
            (
                "DELIVERY_MAX_ATTEMPTS",
                delivery.max_attempts.map(|n| n.to_string()),
            ),
            ("DELIVERY_BACKOFF_INITIAL", backoff.initial),
            ("DELIVERY_BACKOFF_MAX", backoff.max),
            (
                "DELIVERY_BACKOFF_JITTER",
                backoff.jitter.map(|j| j.to_string()),
            ),
            ("DELIVERY_TIMEOUT", delivery.timeout.clone()),
        ];
        for (name, value) in settings {
            if let Some(value) = value {
                vars.push(env(name, value));
            }
        }
    }
    // Our metrics' namespace label.
    let namespace = processor.metadata.namespace.as_deref().unwrap_or("default");
    vars.push(env("POD_NAMESPACE", namespace));
    let function = spec.template.as_ref().and_then(|t| t.spec.as_ref());
    let function_env = function
        .and_then(|pod| pod.containers.first())
        .and_then(|container| container.env.as_ref());
    let telemetry = function_env
        .into_iter()
        .flatten()
        .filter(|var| var.name.starts_with("OTEL_") && var.name != "OTEL_SERVICE_NAME");
    vars.extend(telemetry.cloned());
    vars
}

/// The volume names of a stream's binding: `stream-<uid>-metadata` and `stream-<uid>-secret`.
fn volume_names(stream: &Stream) -> [String; 2] {
    let uid = stream.metadata.uid.as_deref().unwrap_or_default();
    [
        format!("stream-{uid}-metadata"),
        format!("stream-{uid}-secret"),
    ]
}

/// The binding volumes of a stream whose binding refs are set.
fn binding_volumes(stream: &Stream) -> Vec<Volume> {
    let binding = stream.status.as_ref().map(|s| &s.binding);
    let [metadata, secret] = volume_names(stream);
    let mut volumes = Vec::new();
    if let Some(config_map) = binding.and_then(|b| b.metadata_ref.as_ref()) {
        volumes.push(Volume {
            name: metadata,
            config_map: Some(ConfigMapVolumeSource {
                name: config_map.name.clone(),
                ..ConfigMapVolumeSource::default()
            }),
            ..Volume::default()
        });
    }
    if let Some(secret_ref) = binding.and_then(|b| b.secret_ref.as_ref()) {
        volumes.push(Volume {
            name: secret,
            secret: Some(SecretVolumeSource {
                secret_name: Some(secret_ref.name.clone()),
                ..SecretVolumeSource::default()
            }),
            ..Volume::default()
        });
    }
    volumes
}

/// Read-only mounts of a stream's binding volumes under `/var/riff/bindings/<dir>/`.
fn binding_mounts(dir: &str, stream: &Stream) -> Vec<VolumeMount> {
    let mounted: Vec<String> = binding_volumes(stream)
        .into_iter()
        .map(|v| v.name)
        .collect();
    let [metadata, secret] = volume_names(stream);
    [(metadata, "metadata"), (secret, "secret")]
        .into_iter()
        .filter(|(volume, _)| mounted.contains(volume))
        .map(|(volume, leaf)| VolumeMount {
            name: volume,
            mount_path: format!("{BINDINGS_DIR}/{dir}/{leaf}"),
            read_only: Some(true),
            ..VolumeMount::default()
        })
        .collect()
}

/// What KEDA needs about one input: its binding coordinates and, for the Kafka rule, its number
/// of partitions (`spec.partitions` of the stream).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScaledInput {
    /// From the input stream's binding Secret.
    pub coordinates: StreamCoordinates,
    /// The input stream's partitions.
    pub partitions: u32,
}

/// The ScaledObject of `processor`, scaling Deployment `deployment` on one trigger per input:
/// `liiklus` through the gateway, or `kafka` straight on the cluster for a Kafka-backed input;
/// the Kafka triggers on a cluster with TLS or SASL authenticate with TriggerAuthentication
/// `authentication` (see [`processor_trigger_authentication`]).
/// `inputs` follow `spec.inputs`; `None` when there are none.
///
/// `maxReplicaCount` is riff's 30, but no more than the total partitions when every input is
/// Kafka-backed, and never below `minReplicaCount` (riff's 0 while streams are not ready was a
/// defect: KEDA's bounds contradicted each other).
pub fn processor_scaled_object(
    processor: &Processor,
    deployment: &str,
    inputs: &[ScaledInput],
    authentication: Option<&str>,
    min_replicas: Option<i32>,
) -> Option<ScaledObject> {
    if inputs.is_empty() {
        return None;
    }
    let group = name(&processor.metadata);
    let min = min_replicas.unwrap_or(DEFAULT_MIN_REPLICAS);
    let mut max = MAX_REPLICAS;
    if inputs
        .iter()
        .all(|i| i.coordinates.bootstrap_servers.is_some())
    {
        let partitions: u64 = inputs.iter().map(|i| u64::from(i.partitions)).sum();
        max = max.min(i32::try_from(partitions).unwrap_or(i32::MAX));
    }
    let authenticated = authentication.zip(trigger_security(inputs));
    let triggers = inputs
        .iter()
        .map(|input| {
            let mut trigger = trigger(group, &input.coordinates);
            let security = input.coordinates.kafka_security.as_ref();
            if let Some((name, shared)) = authenticated.filter(|(_, s)| Some(*s) == security) {
                let settings = kafka_trigger_security(shared).into_iter();
                (trigger.metadata).extend(settings.map(|(key, value)| (key.to_owned(), value)));
                trigger.authentication_ref = Some(AuthenticationRef {
                    name: name.to_owned(),
                });
            }
            trigger
        })
        .collect();
    let spec = ScaledObjectSpec {
        scale_target_ref: ScaleTargetRef {
            name: deployment.to_owned(),
        },
        polling_interval: 1,
        cooldown_period: 30,
        min_replica_count: min,
        max_replica_count: max.max(min),
        triggers,
    };
    let mut scaled_object = ScaledObject::new("", spec);
    scaled_object.metadata = processor_child_metadata(processor);
    Some(scaled_object)
}

/// A `kafka` trigger when the input's Secret names a Kafka cluster, else a `liiklus` one.
fn trigger(group: &str, coordinates: &StreamCoordinates) -> ScaleTrigger {
    let topic = coordinates.topic.clone();
    let (type_, metadata) = match &coordinates.bootstrap_servers {
        Some(servers) => (
            "kafka",
            BTreeMap::from([
                ("bootstrapServers", servers.clone()),
                ("consumerGroup", group.to_owned()),
                ("topic", topic),
                ("lagThreshold", "10".to_owned()),
            ]),
        ),
        None => (
            "liiklus",
            BTreeMap::from([
                ("address", coordinates.gateway.clone()),
                ("group", group.to_owned()),
                ("topic", topic),
            ]),
        ),
    };
    ScaleTrigger {
        type_: type_.to_owned(),
        metadata: metadata
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        authentication_ref: None,
    }
}

/// The Kafka cluster connection the processor's KEDA triggers authenticate with: that of its
/// first input whose KafkaGateway has `tls` or `sasl`. (Inputs on clusters with other
/// credentials are scaled without; KEDA's Kafka scaler takes one set per trigger, and one
/// TriggerAuthentication is kept per processor.)
fn trigger_security(inputs: &[ScaledInput]) -> Option<&KafkaSecurityRefs> {
    inputs.iter().find_map(|input| {
        (input.coordinates.kafka_security.as_ref()).filter(|security| !security.is_empty())
    })
}

/// The TriggerAuthentication of `processor`'s Kafka triggers: the Kafka scaler's `username`,
/// `password`, `ca`, `cert` and `key` as the Secret keys its KafkaGateway references. `None`
/// when no input's cluster needs TLS or SASL.
pub fn processor_trigger_authentication(
    processor: &Processor,
    inputs: &[ScaledInput],
) -> Option<TriggerAuthentication> {
    let security = trigger_security(inputs)?;
    let mut refs = Vec::new();
    let mut add = |parameter: &str, reference: &Option<SecretKeyRef>| {
        if let Some(reference) = reference {
            refs.push(SecretTargetRef {
                parameter: parameter.to_owned(),
                name: reference.name.clone(),
                key: reference.key.clone(),
            });
        }
    };
    if let Some(sasl) = &security.sasl {
        add("username", &Some(sasl.user.clone()));
        add("password", &Some(sasl.password.clone()));
    }
    if let Some(tls) = security
        .tls
        .as_ref()
        .filter(|tls| tls.enabled != Some(false))
    {
        add("ca", &tls.ca_cert);
        add("cert", &tls.client_cert);
        add("key", &tls.client_key);
    }
    let spec = TriggerAuthenticationSpec {
        secret_target_ref: refs,
    };
    let mut authentication = TriggerAuthentication::new("", spec);
    authentication.metadata = processor_child_metadata(processor);
    Some(authentication)
}

/// The Kafka scaler's `sasl` and `tls` settings for `security`: no secret in them.
fn kafka_trigger_security(security: &KafkaSecurityRefs) -> Vec<(&'static str, String)> {
    let mut settings = Vec::new();
    if let Some(sasl) = &security.sasl {
        let mode = match sasl.mechanism {
            SaslMechanism::Plain => "plaintext",
            SaslMechanism::ScramSha256 => "scram_sha256",
            SaslMechanism::ScramSha512 => "scram_sha512",
        };
        settings.push(("sasl", mode.to_owned()));
    }
    if security
        .tls
        .as_ref()
        .is_some_and(|tls| tls.enabled != Some(false))
    {
        settings.push(("tls", "enable".to_owned()));
    }
    settings
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::LocalObjectReference;
    use riff_actors::resources::{
        ProcessorStatus, StreamBinding, StreamSpec, StreamStatus, Window,
    };
    use serde_json::json;

    /// `p` in `dev` reading `in1` (as `a`, earliest) and `in2`, writing `out` (as `o`).
    fn processor() -> Processor {
        let yaml = "metadata: {name: p, namespace: dev, labels: {app: a}}\n\
            spec:\n  inputs: [{stream: in1, alias: a, startOffset: earliest}, {stream: in2}]\n  \
            outputs: [{stream: out, alias: o}]\n  template:\n    metadata: {labels: {team: t}}\n    \
            spec:\n      serviceAccountName: sa\n      \
            volumes: [{name: zz-user, emptyDir: {}}]\n      \
            containers: [{image: fn:1, env: [{name: K, value: v}], ports: [{containerPort: 9}]}]\n\
            status: {latestImage: 'fn@sha256:1'}\n";
        serde_norway::from_str(yaml).unwrap()
    }

    fn stream(name: &str, uid: &str) -> Stream {
        let mut stream = Stream::new(
            name,
            StreamSpec {
                gateway: LocalObjectReference {
                    name: "franz".into(),
                },
                ..StreamSpec::default()
            },
        );
        stream.metadata.uid = Some(uid.into());
        let reference = |suffix: &str| {
            Some(LocalObjectReference {
                name: format!("{name}-stream-binding-{suffix}"),
            })
        };
        stream.status = Some(StreamStatus {
            binding: StreamBinding {
                metadata_ref: reference("metadata"),
                secret_ref: reference("secret"),
            },
            ..StreamStatus::default()
        });
        stream
    }

    fn streams() -> Vec<Stream> {
        vec![
            stream("out", "u3"),
            stream("in2", "u1"),
            stream("in1", "u2"),
        ]
    }

    fn mount(volume: &str, path: &str) -> serde_json::Value {
        json!({"name": volume, "mountPath": format!("/var/riff/bindings/{path}"), "readOnly": true})
    }

    fn volume_pair(uid: &str, stream: &str) -> [serde_json::Value; 2] {
        [
            json!({"name": format!("stream-{uid}-metadata"),
                "configMap": {"name": format!("{stream}-stream-binding-metadata")}}),
            json!({"name": format!("stream-{uid}-secret"),
                "secret": {"secretName": format!("{stream}-stream-binding-secret")}}),
        ]
    }

    // Behaviours 33 and 34 of docs/riff-compatibility.md.
    #[test]
    fn deployment_runs_the_function_and_the_sidecar_with_bindings() {
        let deployment = processor_deployment(&processor(), "riff:proc", &streams(), &[], None);
        let [m1, s1] = volume_pair("u1", "in2");
        let [m2, s2] = volume_pair("u2", "in1");
        let [m3, s3] = volume_pair("u3", "out");
        let labels = json!({"app": "a", "streaming.projectriff.io/processor": "p"});
        assert_eq!(
            serde_json::to_value(deployment.unwrap()).unwrap(),
            json!({
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"generateName": "p-processor-", "namespace": "dev", "labels": labels},
                "spec": {
                    "replicas": 1,
                    "selector": {"matchLabels": {"streaming.projectriff.io/processor": "p"}},
                    "template": {
                        "metadata": {
                            "annotations": {"prometheus.io/scrape": "true",
                                "prometheus.io/port": "8090", "prometheus.io/path": "/metrics"},
                            "labels": {"app": "a", "team": "t", "streaming.projectriff.io/processor": "p"},
                        },
                        "spec": {
                            "serviceAccountName": "sa",
                            "containers": [
                                {
                                    "name": "function",
                                    "image": "fn@sha256:1",
                                    "env": [{"name": "K", "value": "v"}],
                                    "ports": [{"containerPort": 8081}],
                                },
                                {
                                    "name": "processor",
                                    "image": "riff:proc",
                                    "args": ["processor"],
                                    "env": [
                                        {"name": "CNB_BINDINGS", "value": "/var/riff/bindings"},
                                        {"name": "INPUT_START_OFFSETS", "value": "earliest,latest"},
                                        {"name": "INPUT_NAMES", "value": "a,in2"},
                                        {"name": "OUTPUT_NAMES", "value": "o"},
                                        {"name": "GROUP", "value": "p"},
                                        {"name": "FUNCTION", "value": "localhost:8081"},
                                        {"name": "POD_NAMESPACE", "value": "dev"},
                                    ],
                                    "ports": [{"name": "riff-status", "containerPort": 8090}],
                                    "volumeMounts": [
                                        mount("stream-u2-metadata", "input_000/metadata"),
                                        mount("stream-u2-secret", "input_000/secret"),
                                        mount("stream-u1-metadata", "input_001/metadata"),
                                        mount("stream-u1-secret", "input_001/secret"),
                                        mount("stream-u3-metadata", "output_000/metadata"),
                                        mount("stream-u3-secret", "output_000/secret"),
                                    ],
                                },
                            ],
                            "volumes": [{"name": "zz-user", "emptyDir": {}}, m1, s1, m2, s2, m3, s3],
                        },
                    },
                },
            })
        );
    }

    // Behaviour 35 of docs/riff-compatibility.md.
    #[test]
    fn a_stream_bound_twice_has_one_volume_pair_and_two_mount_sets() {
        let mut processor = processor();
        processor.spec.inputs.truncate(1);
        processor.spec.outputs[0].stream = "in1".into();
        processor
            .spec
            .template
            .as_mut()
            .unwrap()
            .spec
            .as_mut()
            .unwrap()
            .volumes = None;
        let deployment = processor_deployment(
            &processor,
            "riff:proc",
            &[stream("in1", "u2")],
            &[],
            Some(4),
        )
        .unwrap();
        let spec = deployment.spec.unwrap();
        assert_eq!(spec.replicas, Some(4));
        let pod = spec.template.spec.unwrap();
        let volumes: Vec<_> = pod.volumes.unwrap().into_iter().map(|v| v.name).collect();
        assert_eq!(volumes, ["stream-u2-metadata", "stream-u2-secret"]);
        let mounts: Vec<_> = pod.containers[1]
            .volume_mounts
            .iter()
            .flatten()
            .map(|m| (m.name.as_str(), m.mount_path.as_str()))
            .collect();
        assert_eq!(
            mounts,
            [
                (
                    "stream-u2-metadata",
                    "/var/riff/bindings/input_000/metadata"
                ),
                ("stream-u2-secret", "/var/riff/bindings/input_000/secret"),
                (
                    "stream-u2-metadata",
                    "/var/riff/bindings/output_000/metadata"
                ),
                ("stream-u2-secret", "/var/riff/bindings/output_000/secret"),
            ]
        );
    }

    #[test]
    fn window_extension_follows_riffs_env_and_unbound_refs_are_not_mounted() {
        let mut processor = processor();
        processor.spec.window = Some(Window {
            duration: Some("10s".into()),
            count: Some(100),
            ..Window::default()
        });
        let mut streams = streams();
        streams[0].status.as_mut().unwrap().binding.secret_ref = None;
        let deployment =
            processor_deployment(&processor, "riff:proc", &streams, &[], None).unwrap();
        let pod = deployment.spec.unwrap().template.spec.unwrap();
        let sidecar = &pod.containers[1];
        let env: Vec<_> = sidecar
            .env
            .iter()
            .flatten()
            .map(|e| e.name.as_str())
            .collect();
        assert_eq!(
            env[4..],
            [
                "GROUP",
                "FUNCTION",
                "WINDOW_DURATION",
                "WINDOW_COUNT",
                "POD_NAMESPACE"
            ]
        );
        let window: Vec<_> = sidecar.env.iter().flatten().skip(6).collect();
        assert_eq!(window[0].value.as_deref(), Some("10s"));
        assert_eq!(window[1].value.as_deref(), Some("100"));
        let mounts = sidecar.volume_mounts.as_ref().unwrap();
        assert_eq!(mounts.len(), 5);
        assert!(!mounts.iter().any(|m| m.name == "stream-u3-secret"));
        assert_eq!(pod.volumes.unwrap().len(), 6);
    }

    #[test]
    fn the_function_containers_opentelemetry_settings_are_the_sidecars_too() {
        let mut processor = processor();
        let template = processor.spec.template.as_mut().unwrap();
        template.spec.as_mut().unwrap().containers[0].env = serde_norway::from_str(
            "[{name: OTEL_EXPORTER_OTLP_ENDPOINT, value: 'http://collector:4317'}, \
             {name: OTEL_SERVICE_NAME, value: squarer}, {name: GREETING, value: hi}, \
             {name: OTEL_TRACES_SAMPLER, value: parentbased_traceidratio}]",
        )
        .unwrap();
        let deployment =
            processor_deployment(&processor, "riff:proc", &streams(), &[], None).unwrap();
        let sidecar = &deployment.spec.unwrap().template.spec.unwrap().containers[1];
        let telemetry: Vec<_> = (sidecar.env.iter().flatten())
            .filter(|e| e.name.starts_with("OTEL_"))
            .map(|e| (e.name.as_str(), e.value.as_deref().unwrap_or_default()))
            .collect();
        assert_eq!(
            telemetry,
            [
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317"),
                ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
            ],
            "the sidecar keeps its own service name"
        );
    }

    #[test]
    fn the_delivery_policy_goes_to_the_sidecar_env_and_its_dead_letter_stream_is_bound() {
        let mut processor = processor();
        processor.spec.delivery = Some(
            serde_norway::from_str(
                "{maxAttempts: 3, backoff: {initial: 10ms, jitter: false}, timeout: 5s, \
                 deadLetter: {stream: failed}}",
            )
            .unwrap(),
        );
        assert_eq!(
            processor_deployment(&processor, "riff:proc", &streams(), &[], None),
            None,
            "the dead-letter stream must be resolved"
        );
        let mut streams = streams();
        streams.push(stream("failed", "u4"));
        let deployment =
            processor_deployment(&processor, "riff:proc", &streams, &[], None).unwrap();
        let sidecar = &deployment.spec.unwrap().template.spec.unwrap().containers[1];
        let env: Vec<_> = (sidecar.env.iter().flatten())
            .skip(6)
            .map(|e| (e.name.as_str(), e.value.as_deref().unwrap_or_default()))
            .collect();
        assert_eq!(
            env,
            [
                ("DELIVERY_MAX_ATTEMPTS", "3"),
                ("DELIVERY_BACKOFF_INITIAL", "10ms"),
                ("DELIVERY_BACKOFF_JITTER", "false"),
                ("DELIVERY_TIMEOUT", "5s"),
                ("POD_NAMESPACE", "dev"),
            ]
        );
        let mounts: Vec<_> = (sidecar.volume_mounts.iter().flatten())
            .map(|m| (m.name.as_str(), m.mount_path.as_str()))
            .collect();
        assert_eq!(
            mounts[6..],
            [
                (
                    "stream-u4-metadata",
                    "/var/riff/bindings/dead_letter/metadata"
                ),
                ("stream-u4-secret", "/var/riff/bindings/dead_letter/secret"),
            ]
        );
    }

    // Behaviours 30 and 32 of docs/riff-compatibility.md: nothing to deploy without an image or a resolved stream.
    #[test]
    fn no_deployment_without_images_or_streams() {
        let mut unbuilt = processor();
        unbuilt.status = Some(ProcessorStatus::default());
        assert_eq!(
            processor_deployment(&unbuilt, "riff:proc", &streams(), &[], None),
            None
        );
        assert_eq!(
            processor_deployment(&processor(), "", &streams(), &[], None),
            None
        );
        let missing = &streams()[1..];
        assert_eq!(
            processor_deployment(&processor(), "riff:proc", missing, &[], None),
            None
        );
    }

    fn liiklus_input(topic: &str) -> ScaledInput {
        ScaledInput {
            coordinates: StreamCoordinates {
                gateway: "franz-gateway-x.dev.svc.cluster.local:6565".into(),
                topic: topic.into(),
                bootstrap_servers: None,
                kafka_security: None,
            },
            partitions: 1,
        }
    }

    fn kafka_input(topic: &str, partitions: u32) -> ScaledInput {
        let mut input = liiklus_input(topic);
        input.coordinates.bootstrap_servers = Some("kafka.kafka:9092".into());
        input.partitions = partitions;
        input
    }

    // Behaviour 37 of docs/riff-compatibility.md, on KEDA 2.
    #[test]
    fn scaled_object_scales_the_deployment_on_liiklus_lag() {
        let inputs = [liiklus_input("dev_in1"), liiklus_input("dev_in2")];
        let scaled_object =
            processor_scaled_object(&processor(), "p-processor-abcde", &inputs, None, None)
                .unwrap();
        let trigger = |topic: &str| {
            json!({"type": "liiklus", "metadata": {
                "address": "franz-gateway-x.dev.svc.cluster.local:6565", "group": "p", "topic": topic,
            }})
        };
        assert_eq!(
            serde_json::to_value(scaled_object).unwrap(),
            json!({
                "apiVersion": "keda.sh/v1alpha1",
                "kind": "ScaledObject",
                "metadata": {
                    "generateName": "p-processor-",
                    "namespace": "dev",
                    "labels": {"app": "a", "streaming.projectriff.io/processor": "p"},
                },
                "spec": {
                    "scaleTargetRef": {"name": "p-processor-abcde"},
                    "pollingInterval": 1,
                    "cooldownPeriod": 30,
                    "minReplicaCount": 1,
                    "maxReplicaCount": 30,
                    "triggers": [trigger("dev_in1"), trigger("dev_in2")],
                },
            })
        );
        assert_eq!(
            processor_scaled_object(&processor(), "d", &[], None, None),
            None
        );
    }

    #[test]
    fn kafka_inputs_scale_on_consumer_lag_up_to_their_partitions() {
        let inputs = [kafka_input("dev_in1", 3), kafka_input("dev_in2", 2)];
        let spec = processor_scaled_object(&processor(), "d", &inputs, None, None)
            .unwrap()
            .spec;
        assert_eq!(spec.max_replica_count, 5);
        assert_eq!(
            serde_json::to_value(&spec.triggers[0]).unwrap(),
            json!({"type": "kafka", "metadata": {
                "bootstrapServers": "kafka.kafka:9092",
                "consumerGroup": "p",
                "topic": "dev_in1",
                "lagThreshold": "10",
            }})
        );
        let many = [kafka_input("dev_in1", 64)];
        let spec = processor_scaled_object(&processor(), "d", &many, None, None)
            .unwrap()
            .spec;
        assert_eq!(spec.max_replica_count, 30);
        let mixed = [kafka_input("dev_in1", 1), liiklus_input("dev_in2")];
        let spec = processor_scaled_object(&processor(), "d", &mixed, None, None)
            .unwrap()
            .spec;
        assert_eq!(spec.max_replica_count, 30);
        let types: Vec<_> = spec.triggers.iter().map(|t| t.type_.as_str()).collect();
        assert_eq!(types, ["kafka", "liiklus"]);
    }

    // riff's defect 13 avoided: the maximum never drops below the minimum.
    #[test]
    fn max_replicas_is_never_below_min() {
        let inputs = [kafka_input("dev_in1", 1)];
        let spec = processor_scaled_object(&processor(), "d", &inputs, None, Some(2))
            .unwrap()
            .spec;
        assert_eq!((spec.min_replica_count, spec.max_replica_count), (2, 2));
        let spec = processor_scaled_object(&processor(), "d", &inputs, None, Some(0))
            .unwrap()
            .spec;
        assert_eq!((spec.min_replica_count, spec.max_replica_count), (0, 1));
    }
}
