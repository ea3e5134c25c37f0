//! InputActor: reads one input stream as the processor's consumer group.

use std::sync::Arc;

use actix::prelude::*;

use super::ack::{AckHandle, Commits};
use super::capacity::InFlight;
use super::messages::{Inbound, PauseReading, PipelineFailed, Stop, Subscribed};
use super::window::WindowActor;
use super::InputBinding;
use super::ProcessorActor;
use crate::broker::{BrokerError, Delivery};
use crate::content_type;
use crate::message::Record;

/// Subscribes to one input topic and forwards its records to the window actor, each with the
/// handle that commits its position and holds its share of the pipeline's capacity, so that a
/// slow function pauses consumption.
pub struct InputActor {
    index: usize,
    binding: InputBinding,
    group: String,
    window: Addr<WindowActor>,
    capacity: InFlight,
    processor: Addr<ProcessorActor>,
    /// Where the positions of the subscription's records are committed.
    commits: Option<Arc<Commits>>,
    reading: Option<SpawnHandle>,
    /// The group assigned this member its partitions (and their start positions) once.
    assigned: bool,
}

impl InputActor {
    /// Input number `index` of a processor, reading `binding` as consumer group `group`.
    pub fn new(
        index: usize,
        binding: InputBinding,
        group: String,
        window: Addr<WindowActor>,
        capacity: InFlight,
        processor: Addr<ProcessorActor>,
    ) -> Self {
        InputActor {
            index,
            binding,
            group,
            window,
            capacity,
            processor,
            commits: None,
            reading: None,
            assigned: false,
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
}

/// The topic where records of `topic` that the processor refuses are kept.
fn dead_letter_topic(topic: &str) -> String {
    format!("{topic}.dead-letter")
}

impl InputActor {
    /// Moves a record whose content type does not match the stream's to the dead-letter topic,
    /// with the reason and its origin in headers, before reading on. If that fails, the
    /// pipeline restarts and the record is read again: it is never dropped.
    fn dead_letter(&mut self, mut record: Record, ctx: &mut Context<Self>) {
        let (broker, topic) = (self.binding.broker.clone(), self.binding.topic.clone());
        let dead_letters = dead_letter_topic(&topic);
        let reason = format!(
            "content type {:?} is not compatible with the stream's content type {:?}",
            record.message.content_type, self.binding.content_type
        );
        tracing::error!(
            %topic, partition = record.partition, offset = record.offset, %reason, %dead_letters,
            "record refused; moved to the dead-letter topic"
        );
        let headers = &mut record.message.headers;
        headers.insert("riff-error".into(), reason);
        headers.insert("riff-topic".into(), topic.clone());
        headers.insert("riff-partition".into(), record.partition.to_string());
        headers.insert("riff-offset".into(), record.offset.to_string());
        ctx.wait(
            async move {
                broker.provision(&dead_letters, 1, "*/*").await?;
                broker.publish(&dead_letters, record.message).await
            }
            .into_actor(self)
            .map(|moved, actor, ctx| {
                if let Err(error) = moved {
                    actor.fail(
                        format!("cannot move a record to its dead-letter topic: {error}"),
                        ctx,
                    );
                }
            }),
        );
    }
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
        ctx.wait(
            async move { broker.subscribe(&topic, &group, reset).await }
                .into_actor(self)
                .map(|subscription, actor, ctx| match subscription {
                    Ok(subscription) => {
                        let topic = actor.binding.topic.clone();
                        let committer = Arc::from(subscription.committer);
                        actor.commits = Some(Commits::new(topic, committer));
                        actor.reading = Some(ctx.add_stream(subscription.deliveries));
                    }
                    Err(error) => actor.fail(format!("cannot subscribe: {error}"), ctx),
                }),
        );
    }
}

impl StreamHandler<Result<Delivery, BrokerError>> for InputActor {
    fn handle(&mut self, delivery: Result<Delivery, BrokerError>, ctx: &mut Context<Self>) {
        let mut record = match delivery {
            Ok(Delivery::Record(record)) => record,
            Ok(Delivery::Assigned(partitions)) => {
                tracing::info!(topic = %self.binding.topic, ?partitions, "partitions assigned");
                if !self.assigned {
                    // Reading positions are set: what is published from now on is read.
                    self.assigned = true;
                    self.processor.do_send(Subscribed);
                }
                return;
            }
            Ok(Delivery::Revoked(partitions)) => {
                tracing::info!(topic = %self.binding.topic, ?partitions, "partitions revoked");
                return;
            }
            Err(error) => return self.fail(error.to_string(), ctx),
        };
        let stream_type = &self.binding.content_type;
        if record.message.content_type.is_empty() {
            record.message.content_type = stream_type.clone();
        }
        if !content_type::compatible(stream_type, &record.message.content_type) {
            return self.dead_letter(record, ctx);
        }
        let commits = self
            .commits
            .clone()
            .expect("records come after the subscription");
        let (capacity, window, input) = (self.capacity.clone(), self.window.clone(), self.index);
        // Reading the next record waits until this one found room in the pipeline.
        ctx.wait(
            async move {
                let permit = capacity.acquire(&record).await;
                let ack = AckHandle::new(record.partition, record.offset, commits, permit);
                window.send(Inbound { input, record, ack }).await
            }
            .into_actor(self)
            .map(|sent, actor, ctx| {
                if sent.is_err() {
                    actor.fail("the window actor stopped".into(), ctx);
                }
            }),
        );
    }

    fn finished(&mut self, ctx: &mut Context<Self>) {
        self.fail("the subscription ended".into(), ctx);
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
