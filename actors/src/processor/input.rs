//! InputActor: reads one input stream as the processor's consumer group.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use futures::StreamExt;

use super::ack::{AckHandle, Commits};
use super::attempts;
use super::capacity::InFlight;
use super::dead_letter::{dead_letter, GivenUp};
use super::messages::{
    Inbound, Partitions, PauseReading, PipelineFailed, PriorAttempts, Stop, Subscribed,
};
use super::window::WindowActor;
use super::ProcessorActor;
use super::{InputBinding, OutputBinding, PipelineConfig};
use crate::broker::{BrokerError, Delivery};
use crate::content_type;
use crate::message::Record;
use crate::metrics::{ProcessorMetrics, StreamCounter};

/// Subscribes to one input topic and forwards its records to the window actor, each with the
/// handle that commits its position and holds its share of the pipeline's capacity, so that a
/// slow function pauses consumption.
pub struct InputActor {
    index: usize,
    binding: InputBinding,
    /// The processor's dead-letter stream, if it has one.
    dead_letters: Option<OutputBinding>,
    group: String,
    /// Failed attempts are counted (`delivery.maxAttempts`): those of earlier runs are read back
    /// on each assignment.
    counts_attempts: bool,
    window: Addr<WindowActor>,
    capacity: InFlight,
    processor: Addr<ProcessorActor>,
    /// Where the positions of the subscription's records are committed.
    commits: Option<Arc<Commits>>,
    reading: Option<SpawnHandle>,
    /// The group assigned this member its partitions (and their start positions) once.
    assigned: bool,
    metrics: ProcessorMetrics,
    /// The records read.
    reads: StreamCounter,
}

impl InputActor {
    /// Input number `index` of pipeline `config`, reading `binding` as its consumer group.
    pub fn new(
        index: usize,
        binding: InputBinding,
        config: &PipelineConfig,
        window: Addr<WindowActor>,
        capacity: InFlight,
        processor: Addr<ProcessorActor>,
    ) -> Self {
        InputActor {
            index,
            reads: config.metrics.reads(&binding.name),
            binding,
            dead_letters: config.dead_letter.clone(),
            group: config.group.clone(),
            counts_attempts: config.delivery.max_attempts.is_some(),
            window,
            capacity,
            processor,
            commits: None,
            reading: None,
            assigned: false,
            metrics: config.metrics.clone(),
        }
    }

    /// Reports a failure that needs a pipeline restart and stops.
    fn fail(&mut self, reason: String, ctx: &mut Context<Self>) {
        self.processor.do_send(PipelineFailed {
            actor: "input",
            reason: format!("input {:?}: {reason}", self.binding.topic),
        });
        ctx.stop();
    }

    /// Warns every [`ASSIGNMENT_WARNING`] until the group first assigns this member partitions
    /// (none, when it has more members than partitions): a member that waits for ever reads
    /// nothing and says so.
    fn warn_until_assigned(&self, waited: Duration, ctx: &mut Context<Self>) {
        ctx.run_later(ASSIGNMENT_WARNING, move |actor, ctx| {
            if actor.assigned {
                return;
            }
            let waited = waited + ASSIGNMENT_WARNING;
            tracing::warn!(
                topic = %actor.binding.topic,
                group = %actor.group,
                waited = %format!("{}s", waited.as_secs()),
                "no partitions assigned yet: the consumer group is still rebalancing, or its coordinator does not answer"
            );
            actor.warn_until_assigned(waited, ctx);
        });
    }
}

/// How long a member may wait for its group's first assignment before a warning, repeated as
/// long as it waits: several session timeouts (tests use 2–6 s, Kafka's default is 45 s).
const ASSIGNMENT_WARNING: Duration = Duration::from_secs(60);

/// The most records read at once and forwarded to the window together.
pub(super) const READ_BATCH: usize = 1024;

/// Hands `records` of input `input` to the window actor.
async fn forward(
    window: &Addr<WindowActor>,
    input: usize,
    records: Vec<(Record, AckHandle)>,
) -> Result<(), String> {
    if records.is_empty() {
        return Ok(());
    }
    window
        .send(Inbound { input, records })
        .await
        .map_err(|_| "the window actor stopped".to_owned())
}

/// What to do with the records of one read batch, in order.
enum Step {
    /// Records for the window.
    Forward(Vec<Record>),
    /// A record the stream refuses, and why.
    DeadLetter(Record, String),
    /// Partitions were assigned (`true`: their failed attempts of earlier runs, when attempts
    /// are counted, then the assignment go to the window before their records) or revoked.
    Partitions(Vec<u32>, bool),
}

impl Actor for InputActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let (broker, topic, group) = (
            self.binding.broker.clone(),
            self.binding.topic.clone(),
            self.group.clone(),
        );
        let reset = self.binding.reset;
        self.warn_until_assigned(Duration::ZERO, ctx);
        ctx.wait(
            async move { broker.subscribe_keeping(&topic, &group, reset).await }
                .into_actor(self)
                .map(|subscription, actor, ctx| match subscription {
                    Ok(subscription) => {
                        let binding = &actor.binding;
                        let broker = binding.broker.clone();
                        let (alias, group) = (&binding.name, &actor.group);
                        actor
                            .metrics
                            .track_lag(alias, broker, &binding.topic, group);
                        let topic = actor.binding.topic.clone();
                        let committer = Arc::from(subscription.committer);
                        actor.commits = Some(Commits::new(topic, committer));
                        let deliveries = subscription.deliveries.ready_chunks(READ_BATCH);
                        actor.reading = Some(ctx.add_stream(deliveries));
                    }
                    Err(error) => actor.fail(format!("cannot subscribe: {error}"), ctx),
                }),
        );
    }
}

impl StreamHandler<Vec<Result<Delivery, BrokerError>>> for InputActor {
    fn handle(&mut self, deliveries: Vec<Result<Delivery, BrokerError>>, ctx: &mut Context<Self>) {
        let mut steps = Vec::new();
        for delivery in deliveries {
            match delivery {
                Ok(Delivery::Record(record)) => self.sort(record, &mut steps),
                Ok(Delivery::Assigned(partitions)) => {
                    tracing::info!(topic = %self.binding.topic, ?partitions, "partitions assigned");
                    steps.push(Step::Partitions(partitions, true));
                    if !self.assigned {
                        // Reading positions are set: what is published from now on is read.
                        self.assigned = true;
                        self.processor.do_send(Subscribed);
                    }
                }
                Ok(Delivery::Revoked(partitions)) => {
                    tracing::info!(topic = %self.binding.topic, ?partitions, "partitions revoked");
                    steps.push(Step::Partitions(partitions, false));
                }
                Err(error) => return self.fail(error.to_string(), ctx),
            }
        }
        if steps.is_empty() {
            return;
        }
        let commits = self
            .commits
            .clone()
            .expect("records come after the subscription");
        let (capacity, window, input) = (self.capacity.clone(), self.window.clone(), self.index);
        let (binding, dead_letters) = (self.binding.clone(), self.dead_letters.clone());
        let (group, metrics, reads) =
            (self.group.clone(), self.metrics.clone(), self.reads.clone());
        let counts_attempts = self.counts_attempts;
        // Reading the next batch waits until this one found room in the pipeline.
        ctx.wait(
            async move {
                for step in steps {
                    match step {
                        Step::Forward(records) => {
                            reads.add(records.len());
                            let mut held = Vec::with_capacity(records.len());
                            for record in records {
                                let permit = match capacity.try_acquire(&record) {
                                    Some(permit) => permit,
                                    None => {
                                        // Full: what was taken goes on, so that it can free room.
                                        forward(&window, input, std::mem::take(&mut held)).await?;
                                        capacity.acquire(&record).await
                                    }
                                };
                                let (partition, offset) = (record.partition, record.offset);
                                let ack =
                                    AckHandle::new(partition, offset, commits.clone(), permit);
                                held.push((record, ack));
                            }
                            forward(&window, input, held).await?;
                        }
                        Step::Partitions(partitions, assigned) => {
                            if assigned && counts_attempts {
                                let mut records = attempts::load(&binding, &group).await;
                                records.retain(|(partition, ..)| partitions.contains(partition));
                                if !records.is_empty() {
                                    let prior = PriorAttempts { input, records };
                                    window
                                        .send(prior)
                                        .await
                                        .map_err(|_| "the window actor stopped")?;
                                }
                            }
                            let change = Partitions {
                                input,
                                partitions,
                                assigned,
                            };
                            window
                                .send(change)
                                .await
                                .map_err(|_| "the window actor stopped")?;
                        }
                        Step::DeadLetter(record, reason) => {
                            reads.add(1);
                            let stream = dead_letters.as_ref();
                            dead_letter(stream, &binding, record, GivenUp::Refused(reason)).await?;
                            metrics.dead_lettered();
                        }
                    }
                }
                Ok(())
            }
            .into_actor(self)
            .map(|forwarded: Result<(), String>, actor, ctx| {
                if let Err(reason) = forwarded {
                    actor.fail(reason, ctx);
                }
            }),
        );
    }

    fn finished(&mut self, ctx: &mut Context<Self>) {
        self.fail("the subscription ended".into(), ctx);
    }
}

impl InputActor {
    /// Adds `record` to the steps: for the window, or for the dead letters when its content type
    /// is not compatible with the stream's or its payload does not decode as its content type.
    fn sort(&self, mut record: Record, steps: &mut Vec<Step>) {
        let stream_type = &self.binding.content_type;
        if record.message.content_type.is_empty() {
            record.message.content_type = stream_type.clone();
        }
        let message = &record.message;
        if !content_type::compatible(stream_type, &message.content_type) {
            let reason = format!(
                "content type {:?} is not compatible with the stream's content type {stream_type:?}",
                message.content_type
            );
            return steps.push(Step::DeadLetter(record, reason));
        }
        if let Err(reason) = content_type::decodes(&message.content_type, &message.payload) {
            return steps.push(Step::DeadLetter(record, reason));
        }
        match steps.last_mut() {
            Some(Step::Forward(records)) => records.push(record),
            _ => steps.push(Step::Forward(vec![record])),
        }
    }
}

impl Handler<PauseReading> for InputActor {
    type Result = ();

    fn handle(&mut self, _: PauseReading, ctx: &mut Context<Self>) {
        if let Some(reading) = self.reading.take() {
            ctx.cancel_future(reading);
        }
    }
}

impl Handler<Stop> for InputActor {
    type Result = ();

    fn handle(&mut self, _: Stop, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}
