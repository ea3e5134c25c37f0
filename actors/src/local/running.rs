//! What `riff local run` is running, and bringing it to a new [`Plan`]: when the YAML changes,
//! only what changed is restarted. A gateway's broker holds its in-memory messages and
//! positions, so gateways are only added and removed: a changed gateway is refused until
//! `riff local run` restarts. A changed stream is provisioned again and restarts the processors
//! that use it; a changed processor is drained (its open windows complete and commit) and
//! started anew.

use std::collections::BTreeMap;
use std::sync::Arc;

use actix::prelude::*;
use tokio::sync::oneshot;

use super::function_port::FunctionPort;
use super::function_process::{FunctionProcessActor, StopFunction};
use super::gateway::{GatewayActor, StopGateway};
use super::plan::{GatewayPlan, Plan, ProcessorPlan, StreamPlan};
use super::stream::{ProvisionedStream, StreamActor, WhenProvisioned};
use super::{nth_port, LocalOptions, NamespacedName};
use crate::broker::kafka::{KafkaBroker, KafkaSettings};
use crate::broker::memory::MemoryBroker;
use crate::broker::Broker;
use crate::metrics::ProcessorMetrics;
use crate::processor::{
    self, Health, InputBinding, OutputBinding, PipelineConfig, ProcessorActor, ProcessorThreads,
};

struct RunningGateway {
    plan: GatewayPlan,
    /// Its ports are the configured ones shifted by this.
    index: usize,
    actor: Addr<GatewayActor>,
    broker: Arc<dyn Broker>,
}

struct RunningStream {
    plan: StreamPlan,
    binding: ProvisionedStream,
    /// Supervised for the life of the stream: it ends once this, its only address, is dropped.
    _actor: Addr<StreamActor>,
}

struct RunningProcessor {
    plan: ProcessorPlan,
    pipeline: Addr<ProcessorActor>,
    function: Addr<FunctionProcessActor>,
    /// Its function's port, held while it runs.
    _port: FunctionPort,
}

/// The gateways, streams and processors being run.
pub struct Running {
    options: LocalOptions,
    gateways: BTreeMap<NamespacedName, RunningGateway>,
    streams: BTreeMap<NamespacedName, RunningStream>,
    processors: BTreeMap<NamespacedName, RunningProcessor>,
    /// The threads the processors run on.
    threads: ProcessorThreads,
}

/// How many processors an [`Running::apply`] stopped and started.
#[derive(Debug, Default, PartialEq)]
pub struct Applied {
    pub stopped: usize,
    pub started: usize,
}

impl Running {
    /// Nothing running yet.
    pub fn new(options: LocalOptions) -> Self {
        Running {
            options,
            gateways: BTreeMap::new(),
            streams: BTreeMap::new(),
            processors: BTreeMap::new(),
            threads: ProcessorThreads::per_core(),
        }
    }

    /// Brings what runs to `plan`. A plan changing a running gateway is refused, and nothing
    /// changes.
    pub async fn apply(&mut self, plan: Plan) -> anyhow::Result<Applied> {
        for gateway in &plan.gateways {
            if let Some(running) = self.gateways.get(&gateway.key) {
                anyhow::ensure!(
                    running.plan == *gateway,
                    "{} changed; restart `riff local run` to change a gateway",
                    gateway.resource()
                );
            }
        }
        let removed: Vec<NamespacedName> = self
            .gateways
            .keys()
            .filter(|key| !plan.gateways.iter().any(|g| &g.key == *key))
            .cloned()
            .collect();
        for gateway in plan.gateways {
            if !self.gateways.contains_key(&gateway.key) {
                self.start_gateway(gateway)?;
            }
        }
        let changed_streams = self.provision_streams(plan.streams).await?;

        let mut applied = Applied::default();
        let mut wanted: BTreeMap<NamespacedName, ProcessorPlan> = plan
            .processors
            .into_iter()
            .map(|p| (p.key.clone(), p))
            .collect();
        let keys: Vec<NamespacedName> = self.processors.keys().cloned().collect();
        for key in keys {
            let running = &self.processors[&key];
            let uses_changed = running
                .plan
                .inputs
                .iter()
                .chain(&running.plan.outputs)
                .map(|binding| &binding.stream)
                .chain(&running.plan.dead_letter)
                .any(|stream| changed_streams.contains(stream));
            if wanted.get(&key) == Some(&running.plan) && !uses_changed {
                wanted.remove(&key);
                continue;
            }
            let stopped = self.processors.remove(&key).expect("listed above");
            self.stop_processors(vec![stopped]).await;
            applied.stopped += 1;
        }
        let mut started = Vec::new();
        for (key, processor) in wanted {
            let running = self.start_processor(processor)?;
            started.push(running.pipeline.clone());
            self.processors.insert(key, running);
            applied.started += 1;
        }
        for pipeline in &started {
            processor::subscribed(pipeline).await;
        }
        for key in removed {
            let gateway = self.gateways.remove(&key).expect("listed above");
            gateway.actor.do_send(StopGateway);
        }
        Ok(applied)
    }

    /// How many gateways, streams and processors run.
    pub fn counts(&self) -> (usize, usize, usize) {
        (
            self.gateways.len(),
            self.streams.len(),
            self.processors.len(),
        )
    }

    /// Drains every processor (open windows complete, within the shutdown timeout) and stops
    /// everything.
    pub async fn stop(mut self) {
        let processors = std::mem::take(&mut self.processors).into_values().collect();
        self.stop_processors(processors).await;
        for gateway in self.gateways.values() {
            gateway.actor.do_send(StopGateway);
        }
    }

    /// Serves `plan` on the first ports no running gateway uses.
    fn start_gateway(&mut self, plan: GatewayPlan) -> anyhow::Result<()> {
        let index = (0..)
            .find(|i| self.gateways.values().all(|g| g.index != *i))
            .expect("fewer gateways than indexes");
        let broker: Arc<dyn Broker> = match &plan.kafka {
            None => Arc::new(MemoryBroker::new()),
            Some(kafka) => Arc::new(KafkaBroker::connect(KafkaSettings {
                bootstrap_servers: kafka.bootstrap_servers.clone(),
                security: kafka.security.clone(),
                properties: self.options.kafka_properties.clone(),
                serving: Some(plan.resource()),
                reads: self.options.kafka_reads,
            })?),
        };
        let actor = GatewayActor::bind(
            plan.resource(),
            broker.clone(),
            nth_port(self.options.gateway_address, index),
            nth_port(self.options.provisioner_address, index),
        )?
        .start();
        let key = plan.key.clone();
        let gateway = RunningGateway {
            plan,
            index,
            actor,
            broker,
        };
        self.gateways.insert(key, gateway);
        Ok(())
    }

    /// Provisions the new and changed streams and forgets the removed ones; returns the keys
    /// of the streams that changed or went.
    async fn provision_streams(
        &mut self,
        streams: Vec<StreamPlan>,
    ) -> anyhow::Result<Vec<NamespacedName>> {
        let mut wanted: BTreeMap<NamespacedName, StreamPlan> =
            streams.into_iter().map(|s| (s.key.clone(), s)).collect();
        let mut changed = Vec::new();
        self.streams.retain(|key, running| {
            let kept = wanted.get(key) == Some(&running.plan);
            if kept {
                wanted.remove(key);
            } else {
                changed.push(key.clone());
            }
            kept
        });
        for (key, plan) in wanted {
            let broker = self
                .gateways
                .get(&plan.gateway)
                .expect("references were checked")
                .broker
                .clone();
            let binding = ProvisionedStream {
                topic: broker.topic_name(&key.0, &key.1),
                broker,
                content_type: plan.content_type.clone(),
            };
            let stream = StreamActor::new(plan.resource(), binding, plan.partitions);
            let actor = Supervisor::start(move |_| stream);
            let (reply, provisioned) = oneshot::channel();
            actor.send(WhenProvisioned(reply)).await?;
            let binding = provisioned.await?;
            let running = RunningStream {
                plan,
                binding,
                _actor: actor,
            };
            self.streams.insert(key, running);
        }
        Ok(changed)
    }

    fn start_processor(&self, plan: ProcessorPlan) -> anyhow::Result<RunningProcessor> {
        let held = FunctionPort::take()?;
        let port = held.number();
        let metrics = ProcessorMetrics::new(&plan.key.0, &plan.key.1);
        let function = FunctionProcessActor::new(plan.command(port), metrics.clone()).start();
        let binding = |key: &NamespacedName| {
            self.streams
                .get(key)
                .expect("references were checked")
                .binding
                .clone()
        };
        let config = PipelineConfig {
            resource: plan.resource(),
            group: plan.key.1.clone(),
            inputs: plan
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
            outputs: plan
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
            window: plan.window.clone(),
            capacity: self.options.capacity,
            delivery: plan.delivery.clone(),
            health: Health::default(),
            metrics,
            dead_letter: plan.dead_letter.as_ref().map(|key| {
                let stream = binding(key);
                OutputBinding {
                    name: "dead-letter".to_owned(),
                    broker: stream.broker,
                    topic: stream.topic,
                    content_type: stream.content_type,
                }
            }),
        };
        let pipeline = processor::start(config, &self.threads.next())?;
        Ok(RunningProcessor {
            plan,
            pipeline,
            function,
            _port: held,
        })
    }

    /// Drains `processors` together, then stops their pipelines and functions.
    async fn stop_processors(&self, processors: Vec<RunningProcessor>) {
        let timeout = self.options.shutdown_timeout;
        let drained = processors
            .iter()
            .map(|running| processor::drain(&running.pipeline, timeout));
        if !futures::future::join_all(drained)
            .await
            .into_iter()
            .all(|done| done)
        {
            tracing::warn!("some windows did not complete before the shutdown timeout");
        }
        for running in processors {
            running.pipeline.do_send(processor::messages::Stop);
            _ = running.function.send(StopFunction).await;
        }
    }
}
