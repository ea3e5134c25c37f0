//! StreamActor: provisions a stream's topic on its gateway, retrying with backoff; supervised for
//! the life of the stream (a restarted one provisions again).

use std::sync::Arc;

use actix::prelude::*;
use tokio::sync::oneshot;

use crate::broker::Broker;
use crate::supervision::{self, Backoff};

/// Where a provisioned stream lives.
#[derive(Clone)]
pub struct ProvisionedStream {
    /// The broker of the stream's gateway.
    pub broker: Arc<dyn Broker>,
    /// The stream's topic on that broker.
    pub topic: String,
    /// The stream's content type.
    pub content_type: String,
}

/// Provisions its stream once started; answers [`WhenProvisioned`] once that succeeded.
pub struct StreamActor {
    resource: String,
    binding: ProvisionedStream,
    partitions: u32,
    backoff: Backoff,
    provisioned: bool,
    waiting: Vec<oneshot::Sender<ProvisionedStream>>,
}

impl StreamActor {
    /// A stream actor provisioning `binding` with `partitions` partitions.
    pub fn new(resource: String, binding: ProvisionedStream, partitions: u32) -> Self {
        StreamActor {
            resource,
            binding,
            partitions,
            backoff: Backoff::default(),
            provisioned: false,
            waiting: Vec::new(),
        }
    }

    fn provision(&mut self, ctx: &mut Context<Self>) {
        let binding = self.binding.clone();
        let partitions = self.partitions;
        ctx.wait(
            async move {
                binding
                    .broker
                    .provision(&binding.topic, partitions, &binding.content_type)
                    .await
            }
            .into_actor(self)
            .map(|outcome, actor, ctx| match outcome {
                Ok(created) => {
                    tracing::info!(resource = %actor.resource, topic = %actor.binding.topic, created, "provisioned");
                    actor.provisioned = true;
                    let binding = actor.binding.clone();
                    actor.waiting.drain(..).for_each(|w| _ = w.send(binding.clone()));
                }
                Err(error) => {
                    let delay = actor.backoff.next_delay();
                    supervision::failed(&actor.resource, "stream", &error, actor.backoff.attempt(), delay);
                    ctx.run_later(delay, |actor, ctx| actor.provision(ctx));
                }
            }),
        );
    }
}

impl Actor for StreamActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        supervision::started(&self.resource, "stream");
        self.provision(ctx);
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        supervision::stopped(&self.resource, "stream");
    }
}

impl Supervised for StreamActor {
    fn restarting(&mut self, _: &mut Context<Self>) {
        self.provisioned = false;
        self.backoff.reset();
    }
}

/// Resolves with the stream's binding once it is provisioned.
#[derive(Message)]
#[rtype(result = "()")]
pub struct WhenProvisioned(pub oneshot::Sender<ProvisionedStream>);

impl Handler<WhenProvisioned> for StreamActor {
    type Result = ();

    fn handle(&mut self, WhenProvisioned(reply): WhenProvisioned, _: &mut Context<Self>) {
        if self.provisioned {
            _ = reply.send(self.binding.clone());
        } else {
            self.waiting.push(reply);
        }
    }
}
