//! The embedded platform (`riff local run`): the same YAML a cluster takes, run in one process.
//!
//! In-memory gateways are served in-process, streams are provisioned on them, and each
//! processor's function container runs as a child process (`GRPC_PORT` assigned, working
//! directory = its YAML file's folder) next to the processor's pipeline actors.

mod function_process;
mod gateway;
mod plan;
mod stream;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use dashmap::DashMap;
use tokio::sync::oneshot;

use crate::broker::kafka::{KafkaBroker, KafkaSettings};
use crate::broker::memory::MemoryBroker;
use crate::broker::Broker;
use crate::processor::{self, InputBinding, OutputBinding, PipelineConfig};
use crate::resources::manifest::{self, Loaded};
use function_process::{FunctionProcessActor, StopFunction};
use gateway::{GatewayActor, StopGateway};
use plan::Plan;
use stream::{StreamActor, StreamBinding, WhenProvisioned};

/// Settings of the embedded platform.
#[derive(Debug, Clone)]
pub struct LocalOptions {
    /// The first in-memory gateway's liiklus API; further gateways take the next ports.
    pub gateway_address: SocketAddr,
    /// The first in-memory gateway's provisioner API; further gateways take the next ports.
    pub provisioner_address: SocketAddr,
    /// On shutdown, how long open windows get to complete.
    pub shutdown_timeout: Duration,
    /// How many input records a processor may hold uncommitted.
    pub capacity: usize,
    /// librdkafka properties for every Kafka client (e.g. `session.timeout.ms`).
    pub kafka_properties: Vec<(String, String)>,
}

impl Default for LocalOptions {
    fn default() -> Self {
        LocalOptions {
            gateway_address: ([127, 0, 0, 1], 6565).into(),
            provisioner_address: ([127, 0, 0, 1], 8080).into(),
            shutdown_timeout: Duration::from_secs(10),
            capacity: 100_000,
            kafka_properties: Vec::new(),
        }
    }
}

/// `<namespace>/<name>`: how resources are keyed in the registries.
pub type Key = (String, String);

/// Runs `resources` until `shutdown` resolves, then drains the processors and stops.
pub async fn run(
    resources: Vec<Loaded>,
    options: LocalOptions,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    manifest::check_references(&resources)?;
    let plan = Plan::new(&resources)?;

    let gateways: DashMap<Key, Addr<GatewayActor>> = DashMap::new();
    let brokers = DashMap::new();
    for (index, gateway) in plan.gateways.iter().enumerate() {
        let broker: Arc<dyn Broker> = match &gateway.kafka {
            None => Arc::new(MemoryBroker::new()),
            Some(servers) => Arc::new(KafkaBroker::connect(KafkaSettings {
                bootstrap_servers: servers.clone(),
                properties: options.kafka_properties.clone(),
            })?),
        };
        let actor = GatewayActor::bind(
            gateway.resource(),
            broker.clone(),
            nth_port(options.gateway_address, index),
            nth_port(options.provisioner_address, index),
        )?;
        brokers.insert(gateway.key.clone(), broker);
        gateways.insert(gateway.key.clone(), actor.start());
    }

    let streams: DashMap<Key, StreamBinding> = DashMap::new();
    for stream in &plan.streams {
        let broker = brokers
            .get(&stream.gateway)
            .expect("references were checked")
            .clone();
        let binding = StreamBinding {
            topic: broker.topic_name(&stream.key.0, &stream.key.1),
            broker,
            content_type: stream.content_type.clone(),
        };
        let actor = StreamActor::new(stream.resource(), binding, stream.partitions).start();
        let (reply, provisioned) = oneshot::channel();
        actor.send(WhenProvisioned(reply)).await?;
        streams.insert(stream.key.clone(), provisioned.await?);
    }

    let mut running = Vec::new();
    for processor in &plan.processors {
        let port = free_port()?;
        let function = FunctionProcessActor::new(processor.command(port)).start();
        let binding = |key: &Key| streams.get(key).expect("references were checked").clone();
        let config = PipelineConfig {
            resource: processor.resource(),
            group: processor.key.1.clone(),
            inputs: processor
                .inputs
                .iter()
                .map(|input| {
                    let stream = binding(&input.stream);
                    InputBinding {
                        name: input.alias.clone(),
                        broker: stream.broker,
                        topic: stream.topic,
                        reset: input.reset,
                        content_type: stream.content_type,
                    }
                })
                .collect(),
            outputs: processor
                .outputs
                .iter()
                .map(|output| {
                    let stream = binding(&output.stream);
                    OutputBinding {
                        name: output.alias.clone(),
                        broker: stream.broker,
                        topic: stream.topic,
                        content_type: stream.content_type,
                    }
                })
                .collect(),
            function: format!("http://127.0.0.1:{port}"),
            window: processor.window.clone(),
            capacity: options.capacity,
        };
        running.push((processor::start(config)?, function));
    }
    for (processor, _) in &running {
        processor::subscribed(processor).await;
    }
    tracing::info!(
        gateways = plan.gateways.len(),
        streams = plan.streams.len(),
        processors = plan.processors.len(),
        "running; press Ctrl-C to stop"
    );

    shutdown.await;
    let drained = running
        .iter()
        .map(|(processor, _)| processor::drain(processor, options.shutdown_timeout));
    if !futures::future::join_all(drained)
        .await
        .into_iter()
        .all(|done| done)
    {
        tracing::warn!("some windows did not complete before the shutdown timeout");
    }
    for (processor, function) in running {
        processor.do_send(processor::messages::Stop);
        _ = function.send(StopFunction).await;
    }
    gateways
        .iter()
        .for_each(|gateway| gateway.do_send(StopGateway));
    Ok(())
}

/// `address` with its port shifted by `index` (port 0 stays 0: any free port).
fn nth_port(mut address: SocketAddr, index: usize) -> SocketAddr {
    if address.port() != 0 {
        address.set_port(address.port() + index as u16);
    }
    address
}

/// A free loopback port for a function.
fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}
