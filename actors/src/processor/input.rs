//! InputActor: reads one input stream as the processor's consumer group.

use std::sync::Arc;

use actix::prelude::*;
use tokio::sync::Semaphore;

use super::messages::{Commit, Inbound, PauseReading, PipelineFailed, Stop, Subscribed};
use super::window::WindowActor;
use super::InputBinding;
use super::ProcessorActor;
use crate::broker::{BrokerError, Committer, Delivery};

/// Subscribes to one input topic and forwards its records to the window actor, holding one
/// unit of the pipeline's capacity per record so that a slow function pauses consumption.
pub struct InputActor {
    index: usize,
    binding: InputBinding,
    group: String,
    window: Addr<WindowActor>,
    capacity: Arc<Semaphore>,
    processor: Addr<ProcessorActor>,
    committer: Option<Box<dyn Committer>>,
    reading: Option<SpawnHandle>,
}

impl InputActor {
    /// Input number `index` of a processor, reading `binding` as consumer group `group`.
    pub fn new(
        index: usize,
        binding: InputBinding,
        group: String,
        window: Addr<WindowActor>,
        capacity: Arc<Semaphore>,
        processor: Addr<ProcessorActor>,
    ) -> Self {
        InputActor {
            index,
            binding,
            group,
            window,
            capacity,
            processor,
            committer: None,
            reading: None,
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
                        actor.committer = Some(subscription.committer);
                        actor.reading = Some(ctx.add_stream(subscription.deliveries));
                        actor.processor.do_send(Subscribed);
                    }
                    Err(error) => actor.fail(format!("cannot subscribe: {error}"), ctx),
                }),
        );
    }
}

impl StreamHandler<Result<Delivery, BrokerError>> for InputActor {
    fn handle(&mut self, delivery: Result<Delivery, BrokerError>, ctx: &mut Context<Self>) {
        let record = match delivery {
            Ok(Delivery::Record(record)) => record,
            Ok(Delivery::Assigned(partitions)) => {
                tracing::info!(topic = %self.binding.topic, ?partitions, "partitions assigned");
                return;
            }
            Ok(Delivery::Revoked(partitions)) => {
                tracing::info!(topic = %self.binding.topic, ?partitions, "partitions revoked");
                return;
            }
            Err(error) => return self.fail(error.to_string(), ctx),
        };
        let (capacity, window, input) = (self.capacity.clone(), self.window.clone(), self.index);
        // Reading the next record waits until this one found room in the pipeline.
        ctx.wait(
            async move {
                let permit = capacity
                    .acquire_owned()
                    .await
                    .expect("capacity is never closed");
                window
                    .send(Inbound {
                        input,
                        record,
                        permit,
                    })
                    .await
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

impl Handler<Commit> for InputActor {
    type Result = ();

    fn handle(&mut self, Commit(positions): Commit, ctx: &mut Context<Self>) {
        let Some(committer) = self.committer.take() else {
            return;
        };
        let topic = self.binding.topic.clone();
        // Commits are applied in order; a failed commit only means redelivery later.
        ctx.wait(
            async move {
                if let Err(error) = committer.commit(&positions).await {
                    tracing::warn!(%topic, %error, "commit failed; the records will be redelivered");
                }
                committer
            }
            .into_actor(self)
            .map(|committer, actor, _| actor.committer = Some(committer)),
        );
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
