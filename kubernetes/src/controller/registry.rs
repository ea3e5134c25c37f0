//! The live resource actors, keyed by kind, namespace and name: watch events become
//! [`Signal`]s to them, starting an actor the first time a resource is seen.

use std::sync::Arc;

use actix::{Addr, Supervisor};
use dashmap::DashMap;

use super::actor::{ResourceActor, Signal};
use crate::context::ControllerContext;
use crate::reconcile::Reconciled;
use riff_actors::resources::{Gateway, InMemoryGateway, KafkaGateway, Processor, Stream};

/// The kinds the controller reconciles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `KafkaGateway`.
    KafkaGateway,
    /// `InMemoryGateway`.
    InMemoryGateway,
    /// `Gateway`.
    Gateway,
    /// `Stream`.
    Stream,
    /// `Processor`.
    Processor,
}

impl Kind {
    /// The kind named `kind` in an owner reference of our API group.
    pub fn from_name(kind: &str) -> Option<Kind> {
        Some(match kind {
            "KafkaGateway" => Kind::KafkaGateway,
            "InMemoryGateway" => Kind::InMemoryGateway,
            "Gateway" => Kind::Gateway,
            "Stream" => Kind::Stream,
            "Processor" => Kind::Processor,
            _ => return None,
        })
    }
}

/// A resource: kind, namespace, name.
pub type ActorKey = (Kind, String, String);

/// The actors, by resource.
#[derive(Clone)]
pub struct Registry {
    context: ControllerContext,
    actors: Arc<DashMap<ActorKey, actix::Recipient<Signal>>>,
}

impl Registry {
    /// An empty registry whose actors share `context`.
    pub fn new(context: ControllerContext) -> Self {
        Registry {
            context,
            actors: Arc::default(),
        }
    }

    /// Reconciles `key`, starting its actor if it has none (a new actor reconciles at start).
    pub fn reconcile(&self, key: ActorKey) {
        if let Some(actor) = self.actors.get(&key) {
            actor.do_send(Signal::Reconcile);
            return;
        }
        let (kind, namespace, name) = &key;
        let recipient = match kind {
            Kind::KafkaGateway => self.start::<KafkaGateway>(namespace, name),
            Kind::InMemoryGateway => self.start::<InMemoryGateway>(namespace, name),
            Kind::Gateway => self.start::<Gateway>(namespace, name),
            Kind::Stream => self.start::<Stream>(namespace, name),
            Kind::Processor => self.start::<Processor>(namespace, name),
        };
        self.actors.insert(key, recipient);
    }

    /// Stops the actor of a deleted resource.
    pub fn forget(&self, key: &ActorKey) {
        if let Some((_, actor)) = self.actors.remove(key) {
            actor.do_send(Signal::Forget);
        }
    }

    /// Stops every actor (the replica stops reconciling).
    pub fn forget_all(&self) {
        let keys: Vec<ActorKey> = self.actors.iter().map(|e| e.key().clone()).collect();
        for key in keys {
            self.forget(&key);
        }
    }

    /// Reconciles every known resource of `kind` in `namespace` (those that may refer to a
    /// resource that changed there).
    pub fn reconcile_all(&self, kind: Kind, namespace: Option<&str>) {
        let keys: Vec<ActorKey> = self
            .actors
            .iter()
            .filter(|e| e.key().0 == kind && namespace.is_none_or(|ns| e.key().1 == ns))
            .map(|e| e.key().clone())
            .collect();
        for key in keys {
            self.reconcile(key);
        }
    }

    fn start<K: Reconciled + 'static>(
        &self,
        namespace: &str,
        name: &str,
    ) -> actix::Recipient<Signal> {
        let actor = ResourceActor::<K>::new(self.context.clone(), namespace, name);
        let address: Addr<_> = Supervisor::start(move |_| actor);
        address.recipient()
    }
}
