//! OutputActor: publishes a processor's results to one output stream, in order.

use std::sync::Arc;

use actix::prelude::*;

use super::messages::{Publish, Stop};
use crate::broker::{Broker, BrokerError};

/// Publishes the messages routed to one output stream, one at a time, in emission order.
pub struct OutputActor {
    broker: Arc<dyn Broker>,
    topic: String,
}

impl OutputActor {
    /// An output actor publishing to `topic` on `broker`.
    pub fn new(broker: Arc<dyn Broker>, topic: String) -> Self {
        OutputActor { broker, topic }
    }
}

impl Actor for OutputActor {
    type Context = Context<Self>;
}

impl Handler<Publish> for OutputActor {
    /// Atomic: the next Publish is handled only after this one was accepted.
    type Result = AtomicResponse<Self, Result<(), BrokerError>>;

    fn handle(&mut self, Publish(message): Publish, _: &mut Context<Self>) -> Self::Result {
        let (broker, topic) = (self.broker.clone(), self.topic.clone());
        AtomicResponse::new(Box::pin(
            async move { broker.publish(&topic, message).await.map(|_| ()) }.into_actor(self),
        ))
    }
}

impl Handler<Stop> for OutputActor {
    type Result = ();

    fn handle(&mut self, _: Stop, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}
