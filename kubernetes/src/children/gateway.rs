//! Gateways: a KafkaGateway or InMemoryGateway makes a `Gateway` of its own name (docs/riff-compatibility.md §2.2), and a
//! Gateway makes a Service and, once it has a template, a Deployment (docs/riff-compatibility.md §2.3).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, Container, ContainerPort, EnvVar, HTTPGetAction, PodSpec, PodTemplateSpec, Probe,
    Service, ServicePort, ServiceSpec, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{
    child_metadata, env, kafka_secret_volumes, labels, name, scrape_annotations, GATEWAY_LABEL,
    GATEWAY_TYPE_LABEL, INMEMORY_GATEWAY_LABEL, KAFKA_GATEWAY_LABEL,
};
use riff_actors::resources::{
    ConcreteGatewayStatus, Gateway, GatewaySpec, InMemoryGateway, KafkaGateway, DEFAULT_NAMESPACE,
};

/// The port of the liiklus gRPC API, on the Service and the `gateway` container.
pub const GATEWAY_PORT: i32 = 6565;
/// The Service port of the provisioner HTTP API.
pub const PROVISIONER_PORT: i32 = 80;
/// The container port of the provisioner HTTP API.
pub const PROVISIONER_TARGET_PORT: i32 = 8080;

/// The backend of a concrete gateway kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GatewayType {
    /// `KafkaGateway`.
    Kafka,
    /// `InMemoryGateway`.
    InMemory,
}

impl GatewayType {
    /// The value of the `gateway-type` label: `kafka` or `inmemory`.
    pub fn as_str(self) -> &'static str {
        match self {
            GatewayType::Kafka => "kafka",
            GatewayType::InMemory => "inmemory",
        }
    }

    /// The ConfigMap in the system namespace holding the images: `riff-streaming-<type>-gateway`.
    pub fn image_config_map(self) -> String {
        format!("riff-streaming-{}-gateway", self.as_str())
    }

    /// The label naming the concrete gateway on its Gateway.
    fn parent_label(self) -> &'static str {
        match self {
            GatewayType::Kafka => KAFKA_GATEWAY_LABEL,
            GatewayType::InMemory => INMEMORY_GATEWAY_LABEL,
        }
    }
}

/// The image of a gateway pod, from its [`GatewayType::image_config_map`]: the `riff` image, run
/// as `riff gateway` (the liiklus-compatible API and the provisioner API in one process).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GatewayImages {
    /// The `riff` image (`gatewayImage`).
    pub gateway: String,
}

impl GatewayImages {
    /// Key `gatewayImage`; `None` when it is missing or empty.
    pub fn from_config_map(config_map: &ConfigMap) -> Option<Self> {
        let image = config_map.data.as_ref()?.get("gatewayImage")?;
        (!image.is_empty()).then(|| GatewayImages {
            gateway: image.clone(),
        })
    }
}

/// The Gateway of KafkaGateway `parent`: its gateway stores records in Kafka.
///
/// With `tls` or `sasl`, its pod gets their references (`kafka_security`, JSON) and mounts the
/// Secrets they name: the values never pass through the Gateway.
pub fn kafka_gateway(parent: &KafkaGateway, images: &GatewayImages) -> Gateway {
    let mut gateway_env = vec![
        env("storage_records_type", "KAFKA"),
        env("kafka_bootstrapServers", &parent.spec.bootstrap_servers),
    ];
    let security = parent.spec.security();
    if !security.is_empty() {
        let refs = serde_json::to_string(&security).expect("references serialize");
        gateway_env.push(env("kafka_security", refs));
    }
    concrete_gateway(
        &parent.metadata,
        parent.status.as_ref(),
        GatewayType::Kafka,
        images,
        gateway_env,
        kafka_secret_volumes(security.secret_refs()),
    )
}

/// The Gateway of InMemoryGateway `parent`: its gateway stores records in memory.
pub fn inmemory_gateway(parent: &InMemoryGateway, images: &GatewayImages) -> Gateway {
    concrete_gateway(
        &parent.metadata,
        parent.status.as_ref(),
        GatewayType::InMemory,
        images,
        vec![env("storage_records_type", "MEMORY")],
        (Vec::new(), Vec::new()),
    )
}

/// A Gateway named like the parent, with ports always and a pod template only once the parent's
/// `status.address` is known (the provisioner answers with the gateway's host, `GATEWAY`).
///
/// riff's pod ran liiklus and a separate provisioner container; `riff gateway` serves both APIs,
/// so the pod has one container, `gateway`, exposing both ports.
fn concrete_gateway(
    parent: &ObjectMeta,
    status: Option<&ConcreteGatewayStatus>,
    type_: GatewayType,
    images: &GatewayImages,
    mut gateway_env: Vec<EnvVar>,
    (volumes, mounts): (Vec<Volume>, Vec<VolumeMount>),
) -> Gateway {
    let parent_name = name(parent);
    let labels = labels(
        parent,
        &[
            (type_.parent_label(), parent_name),
            (GATEWAY_TYPE_LABEL, type_.as_str()),
        ],
    );
    let address = status
        .and_then(|s| s.address.as_ref())
        .and_then(|a| a.url.as_deref());
    let template = address.map(|url| {
        gateway_env.push(env(
            "GATEWAY",
            format!("{}:{GATEWAY_PORT}", address_host(url)),
        ));
        PodTemplateSpec {
            metadata: Some(ObjectMeta {
                labels: Some(labels.clone()),
                // The gateway's metrics, for Prometheus' pod discovery.
                annotations: Some(scrape_annotations(PROVISIONER_TARGET_PORT)),
                ..ObjectMeta::default()
            }),
            spec: Some(PodSpec {
                containers: vec![Container {
                    volume_mounts: (!mounts.is_empty()).then_some(mounts),
                    ..gateway_container(&images.gateway, gateway_env)
                }],
                volumes: (!volumes.is_empty()).then_some(volumes),
                ..PodSpec::default()
            }),
        }
    });
    let ports = vec![
        ServicePort {
            name: Some("gateway".into()),
            port: GATEWAY_PORT,
            ..ServicePort::default()
        },
        ServicePort {
            name: Some("provisioner".into()),
            port: PROVISIONER_PORT,
            target_port: Some(IntOrString::Int(PROVISIONER_TARGET_PORT)),
            ..ServicePort::default()
        },
    ];
    let mut gateway = Gateway::new(parent_name, GatewaySpec { template, ports });
    gateway.metadata = ObjectMeta {
        name: Some(parent_name.to_owned()),
        ..child_metadata(parent, labels)
    };
    gateway
}

/// The `gateway` container: `riff gateway` with both APIs on their ports, ready while its broker
/// answers (`GET /readyz` on the provisioner port), so the Gateway is Ready only then.
fn gateway_container(image: &str, env: Vec<EnvVar>) -> Container {
    let port = |name: &str, port: i32| ContainerPort {
        name: Some(name.to_owned()),
        container_port: port,
        ..ContainerPort::default()
    };
    Container {
        name: "gateway".to_owned(),
        image: Some(image.to_owned()),
        args: Some(vec!["gateway".to_owned()]),
        env: Some(env),
        ports: Some(vec![
            port("gateway", GATEWAY_PORT),
            port("provisioner", PROVISIONER_TARGET_PORT),
        ]),
        readiness_probe: Some(Probe {
            http_get: Some(HTTPGetAction {
                path: Some("/readyz".to_owned()),
                port: IntOrString::String("provisioner".to_owned()),
                ..HTTPGetAction::default()
            }),
            period_seconds: Some(5),
            timeout_seconds: Some(5),
            ..Probe::default()
        }),
        ..Container::default()
    }
}

/// The host of an address URL: `http://franz-gateway-x.dev.svc.cluster.local` →
/// `franz-gateway-x.dev.svc.cluster.local` (scheme, port and path dropped).
pub fn address_host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    }
}

/// A Gateway's address given its Service: `http://<service>.<namespace>.svc.cluster.local`.
pub fn service_address(service: &Service) -> String {
    let namespace = service.metadata.namespace.as_deref();
    format!(
        "http://{}.{}.svc.cluster.local",
        name(&service.metadata),
        namespace.unwrap_or(DEFAULT_NAMESPACE)
    )
}

/// The selector of a Gateway's Service and Deployment: `streaming.projectriff.io/gateway: <name>`.
fn selector(gateway: &str) -> BTreeMap<String, String> {
    BTreeMap::from([(GATEWAY_LABEL.to_owned(), gateway.to_owned())])
}

/// The Service of `gateway` (`<gw>-gateway-xxxxx`); `None` when it has no ports. The reconciler
/// keeps the current `clusterIP` on update.
pub fn gateway_service(gateway: &Gateway) -> Option<Service> {
    if gateway.spec.ports.is_empty() {
        return None;
    }
    let gateway_name = name(&gateway.metadata);
    let labels = labels(&gateway.metadata, &[(GATEWAY_LABEL, gateway_name)]);
    Some(Service {
        metadata: ObjectMeta {
            generate_name: Some(format!("{gateway_name}-gateway-")),
            ..child_metadata(&gateway.metadata, labels)
        },
        spec: Some(ServiceSpec {
            ports: Some(gateway.spec.ports.clone()),
            selector: Some(selector(gateway_name)),
            ..ServiceSpec::default()
        }),
        status: None,
    })
}

/// The Deployment of `gateway` (`<gw>-gateway-xxxxx`): its template with the gateway's labels
/// merged in. `None` until the Service exists (`status.serviceRef`) and there is a template.
/// `current_replicas` is the existing Deployment's count (`None` on create: Kubernetes' 1), kept so
/// that manual scaling is not reverted.
pub fn gateway_deployment(gateway: &Gateway, current_replicas: Option<i32>) -> Option<Deployment> {
    gateway.status.as_ref()?.service_ref.as_ref()?;
    let mut template = gateway.spec.template.clone()?;
    let gateway_name = name(&gateway.metadata);
    let labels = labels(&gateway.metadata, &[(GATEWAY_LABEL, gateway_name)]);
    let pod_metadata = template.metadata.get_or_insert_with(ObjectMeta::default);
    pod_metadata
        .labels
        .get_or_insert_with(BTreeMap::new)
        .extend(labels.clone());
    Some(Deployment {
        metadata: ObjectMeta {
            generate_name: Some(format!("{gateway_name}-gateway-")),
            ..child_metadata(&gateway.metadata, labels)
        },
        spec: Some(DeploymentSpec {
            replicas: current_replicas,
            selector: LabelSelector {
                match_labels: Some(selector(gateway_name)),
                ..LabelSelector::default()
            },
            template,
            ..DeploymentSpec::default()
        }),
        status: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::TypedLocalObjectReference;
    use riff_actors::resources::{Addressable, GatewayStatus, KafkaGatewaySpec};
    use serde_json::json;

    const ADDRESS: &str = "http://k-gateway-x7k2p.dev.svc.cluster.local";

    fn images() -> GatewayImages {
        GatewayImages {
            gateway: "riff:gw".into(),
        }
    }

    fn kafka(address: Option<&str>) -> KafkaGateway {
        let mut parent = KafkaGateway::new(
            "k",
            KafkaGatewaySpec {
                bootstrap_servers: "kafka.kafka:9092".into(),
                ..KafkaGatewaySpec::default()
            },
        );
        parent.metadata.namespace = Some("dev".into());
        parent.metadata.labels = Some(BTreeMap::from([("app".into(), "a".into())]));
        parent.status = Some(ConcreteGatewayStatus {
            address: address.map(|url| Addressable {
                url: Some(url.into()),
            }),
            ..ConcreteGatewayStatus::default()
        });
        parent
    }

    fn env_of(gateway: &Gateway, container: usize) -> Vec<(String, String)> {
        let pod = gateway
            .spec
            .template
            .as_ref()
            .unwrap()
            .spec
            .as_ref()
            .unwrap();
        let env = pod.containers[container].env.as_ref().unwrap();
        env.iter()
            .map(|e| (e.name.clone(), e.value.clone().unwrap()))
            .collect()
    }

    fn pairs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    // Behaviours 12 and 13 of docs/riff-compatibility.md.
    #[test]
    fn kafka_gateway_is_named_labelled_and_ported_like_riffs() {
        let gateway = kafka_gateway(&kafka(None), &images());
        assert_eq!(
            serde_json::to_value(&gateway).unwrap(),
            json!({
                "apiVersion": "streaming.projectriff.io/v1alpha1",
                "kind": "Gateway",
                "metadata": {
                    "name": "k",
                    "namespace": "dev",
                    "labels": {
                        "app": "a",
                        "streaming.projectriff.io/kafka-gateway": "k",
                        "streaming.projectriff.io/gateway-type": "kafka",
                    },
                },
                "spec": {
                    "ports": [
                        {"name": "gateway", "port": 6565},
                        {"name": "provisioner", "port": 80, "targetPort": 8080},
                    ],
                },
            })
        );
    }

    // Behaviour 15 of docs/riff-compatibility.md, Kafka (one `riff gateway` container serves both APIs).
    #[test]
    fn kafka_gateway_template_runs_riff_gateway_on_kafka() {
        let gateway = kafka_gateway(&kafka(Some(ADDRESS)), &images());
        let template = gateway.spec.template.as_ref().unwrap();
        let pod_metadata = template.metadata.as_ref().unwrap();
        assert_eq!(pod_metadata.labels, gateway.metadata.labels);
        let annotations = serde_json::to_value(&pod_metadata.annotations).unwrap();
        let scrape = json!({"prometheus.io/scrape": "true", "prometheus.io/port": "8080",
                            "prometheus.io/path": "/metrics"});
        assert_eq!(
            annotations, scrape,
            "Prometheus scrapes the provisioner port"
        );
        let pod = template.spec.as_ref().unwrap();
        assert_eq!(pod.containers.len(), 1);
        let container = &pod.containers[0];
        assert_eq!(container.name, "gateway");
        assert_eq!(container.image.as_deref(), Some("riff:gw"));
        assert_eq!(container.args, Some(vec!["gateway".to_owned()]));
        let ports: Vec<_> = container
            .ports
            .iter()
            .flatten()
            .map(|p| (p.name.as_deref().unwrap(), p.container_port))
            .collect();
        assert_eq!(ports, [("gateway", 6565), ("provisioner", 8080)]);
        let probe = container.readiness_probe.as_ref().unwrap();
        let get = probe.http_get.as_ref().unwrap();
        assert_eq!(get.path.as_deref(), Some("/readyz"));
        assert_eq!(get.port, IntOrString::String("provisioner".to_owned()));
        assert_eq!(
            env_of(&gateway, 0),
            pairs(&[
                ("storage_records_type", "KAFKA"),
                ("kafka_bootstrapServers", "kafka.kafka:9092"),
                ("GATEWAY", "k-gateway-x7k2p.dev.svc.cluster.local:6565"),
            ])
        );
    }

    // Behaviours 12 and 15 of docs/riff-compatibility.md, in memory.
    #[test]
    fn inmemory_gateway_stores_records_in_memory() {
        let mut parent = InMemoryGateway::new("m", Default::default());
        let without = inmemory_gateway(&parent, &images());
        assert_eq!(without.spec.template, None);
        parent.status = Some(ConcreteGatewayStatus {
            address: Some(Addressable {
                url: Some("http://m-gateway-abcde.default.svc.cluster.local".into()),
            }),
            ..ConcreteGatewayStatus::default()
        });
        let gateway = inmemory_gateway(&parent, &images());
        assert_eq!(gateway.metadata.name.as_deref(), Some("m"));
        assert_eq!(gateway.metadata.namespace, None);
        assert_eq!(
            gateway.metadata.labels.as_ref().unwrap(),
            &BTreeMap::from([
                (INMEMORY_GATEWAY_LABEL.to_owned(), "m".to_owned()),
                (GATEWAY_TYPE_LABEL.to_owned(), "inmemory".to_owned()),
            ])
        );
        assert_eq!(gateway.spec.ports, without.spec.ports);
        assert_eq!(
            env_of(&gateway, 0),
            pairs(&[
                ("storage_records_type", "MEMORY"),
                ("GATEWAY", "m-gateway-abcde.default.svc.cluster.local:6565"),
            ])
        );
    }

    // Behaviour 16 of docs/riff-compatibility.md.
    #[test]
    fn images_come_from_the_types_config_map() {
        assert_eq!(
            GatewayType::Kafka.image_config_map(),
            "riff-streaming-kafka-gateway"
        );
        assert_eq!(
            GatewayType::InMemory.image_config_map(),
            "riff-streaming-inmemory-gateway"
        );
        let mut config_map = ConfigMap {
            data: Some(BTreeMap::from([
                ("gatewayImage".into(), "riff:gw".into()),
                ("provisionerImage".into(), "ignored".into()),
            ])),
            ..ConfigMap::default()
        };
        assert_eq!(GatewayImages::from_config_map(&config_map), Some(images()));
        config_map
            .data
            .as_mut()
            .unwrap()
            .insert("gatewayImage".into(), String::new());
        assert_eq!(GatewayImages::from_config_map(&config_map), None);
    }

    fn gateway_with_service() -> Gateway {
        let mut gateway = kafka_gateway(&kafka(Some(ADDRESS)), &images());
        gateway.status = Some(GatewayStatus {
            service_ref: Some(TypedLocalObjectReference {
                kind: "Service".into(),
                name: "k-gateway-x7k2p".into(),
                ..TypedLocalObjectReference::default()
            }),
            ..GatewayStatus::default()
        });
        gateway
    }

    // Behaviour 14 of docs/riff-compatibility.md.
    #[test]
    fn service_selects_the_gateway_pods() {
        let gateway = gateway_with_service();
        let service = gateway_service(&gateway).unwrap();
        let mut labels = gateway.metadata.labels.clone().unwrap();
        labels.insert(GATEWAY_LABEL.into(), "k".into());
        assert_eq!(
            service.metadata.generate_name.as_deref(),
            Some("k-gateway-")
        );
        assert_eq!(service.metadata.name, None);
        assert_eq!(service.metadata.namespace.as_deref(), Some("dev"));
        assert_eq!(service.metadata.labels, Some(labels));
        let spec = service.spec.unwrap();
        assert_eq!(spec.selector, Some(selector("k")));
        assert_eq!(spec.ports.as_ref(), Some(&gateway.spec.ports));
        assert_eq!(spec.cluster_ip, None);

        let no_ports = Gateway::new("g", GatewaySpec::default());
        assert_eq!(gateway_service(&no_ports), None);
    }

    // Behaviour 14 of docs/riff-compatibility.md.
    #[test]
    fn address_is_the_services_cluster_dns_name() {
        let mut service = Service::default();
        service.metadata.name = Some("k-gateway-x7k2p".into());
        service.metadata.namespace = Some("dev".into());
        assert_eq!(service_address(&service), ADDRESS);
        service.metadata.namespace = None;
        assert_eq!(
            service_address(&service),
            "http://k-gateway-x7k2p.default.svc.cluster.local"
        );
        assert_eq!(
            address_host(ADDRESS),
            "k-gateway-x7k2p.dev.svc.cluster.local"
        );
        assert_eq!(address_host("http://h:80/path"), "h");
        assert_eq!(address_host("h.ns"), "h.ns");
    }

    // Behaviours 13 and 19 of docs/riff-compatibility.md.
    #[test]
    fn deployment_waits_for_service_and_template_and_keeps_replicas() {
        let without_service = kafka_gateway(&kafka(Some(ADDRESS)), &images());
        assert_eq!(gateway_deployment(&without_service, None), None);
        let mut without_template = gateway_with_service();
        without_template.spec.template = None;
        assert_eq!(gateway_deployment(&without_template, None), None);

        let gateway = gateway_with_service();
        let created = gateway_deployment(&gateway, None).unwrap();
        let mut labels = gateway.metadata.labels.clone().unwrap();
        labels.insert(GATEWAY_LABEL.into(), "k".into());
        assert_eq!(
            created.metadata.generate_name.as_deref(),
            Some("k-gateway-")
        );
        assert_eq!(created.metadata.labels.as_ref(), Some(&labels));
        let spec = created.spec.unwrap();
        assert_eq!(spec.replicas, None);
        assert_eq!(spec.selector.match_labels, Some(selector("k")));
        let pod_labels = spec.template.metadata.unwrap().labels.unwrap();
        assert_eq!(pod_labels, labels);
        let containers = spec.template.spec.unwrap().containers;
        assert_eq!(containers[0].name, "gateway");

        let scaled = gateway_deployment(&gateway, Some(3)).unwrap();
        assert_eq!(scaled.spec.unwrap().replicas, Some(3));
    }
}
