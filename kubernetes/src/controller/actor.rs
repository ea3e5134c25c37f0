//! One supervised actor per resource: it reconciles its resource whenever asked, one pass at a
//! time (a request during a pass runs one more pass after it), and retries a failed pass with
//! exponential backoff. Each pass ends in one log line: the resource's Ready summary, or the
//! failure with its attempt and next backoff.

use std::marker::PhantomData;
use std::time::Instant;

use actix::prelude::*;
use kube::Api;

use crate::context::ControllerContext;
use crate::error::ReconcileError;
use crate::reconcile::{reconcile, Outcome, Reconciled};
use riff_actors::metrics::controller::{self as metrics, Outcome as PassOutcome};
use riff_actors::supervision::{self, Backoff};

/// What a resource actor is told.
#[derive(Message, Clone, Copy, Debug, PartialEq, Eq)]
#[rtype(result = "()")]
pub enum Signal {
    /// The resource or something it depends on changed: reconcile it.
    Reconcile,
    /// The resource was deleted: stop (its children are garbage-collected by their owner
    /// references).
    Forget,
}

/// The actor of resource `namespace/name` of kind `K`.
pub struct ResourceActor<K> {
    namespace: String,
    name: String,
    shared: ControllerContext,
    running: Option<Instant>,
    again: bool,
    backoff: Backoff,
    retry: Option<SpawnHandle>,
    kind: PhantomData<fn() -> K>,
}

impl<K: Reconciled + 'static> ResourceActor<K> {
    /// The actor of `namespace/name`; it reconciles once started.
    pub fn new(shared: ControllerContext, namespace: &str, name: &str) -> Self {
        ResourceActor {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            shared,
            running: None,
            again: false,
            backoff: Backoff::default(),
            retry: None,
            kind: PhantomData,
        }
    }

    fn resource(&self) -> String {
        format!("{} {}/{}", K::kind(&()), self.namespace, self.name)
    }

    /// Runs one pass now, or right after the current one.
    fn pass(&mut self, ctx: &mut Context<Self>) {
        if self.running.is_some() {
            self.again = true;
            return;
        }
        if let Some(retry) = self.retry.take() {
            ctx.cancel_future(retry);
        }
        self.running = Some(Instant::now());
        let shared = self.shared.clone();
        let api: Api<K> = Api::namespaced(shared.client.clone(), &self.namespace);
        let name = self.name.clone();
        let work = async move {
            let resource = api
                .get_opt(&name)
                .await
                .map_err(|e| ReconcileError::api("get", name.clone(), e))?;
            match resource {
                Some(resource) => reconcile(&shared, &resource).await.map(Some),
                None => Ok(None),
            }
        };
        ctx.spawn(work.into_actor(self).map(|result, actor, ctx| {
            if let Some(started) = actor.running.take() {
                let outcome = match result {
                    Ok(_) => PassOutcome::Success,
                    Err(_) => PassOutcome::Error,
                };
                metrics::reconciled(&K::kind(&()), outcome, started.elapsed());
            }
            actor.finished(result, ctx);
        }));
    }

    fn finished(
        &mut self,
        result: Result<Option<Outcome>, ReconcileError>,
        ctx: &mut Context<Self>,
    ) {
        match result {
            Ok(outcome) => {
                self.backoff.reset();
                let resync = outcome.as_ref().and_then(|outcome| outcome.resync);
                if let Some(outcome) = outcome {
                    supervision::reconciled(
                        &self.resource(),
                        &outcome.ready,
                        &outcome.message,
                        outcome.status_written,
                    );
                }
                if std::mem::take(&mut self.again) {
                    self.pass(ctx);
                } else if let Some(delay) = resync {
                    self.retry = Some(ctx.run_later(delay, |actor, ctx| {
                        actor.retry = None;
                        actor.pass(ctx);
                    }));
                }
            }
            Err(error) => {
                let delay = self.backoff.next_delay();
                let attempt = self.backoff.attempt();
                supervision::failed(&self.resource(), "reconciler", &error, attempt, delay);
                self.again = false;
                self.retry = Some(ctx.run_later(delay, |actor, ctx| {
                    actor.retry = None;
                    actor.pass(ctx);
                }));
            }
        }
    }
}

impl<K: Reconciled + 'static> Actor for ResourceActor<K> {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        metrics::resources(&K::kind(&()), 1);
        supervision::started(&self.resource(), "reconciler");
        self.pass(ctx);
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        metrics::resources(&K::kind(&()), -1);
        supervision::stopped(&self.resource(), "reconciler");
    }
}

impl<K: Reconciled + 'static> Supervised for ResourceActor<K> {
    fn restarting(&mut self, _: &mut Context<Self>) {
        self.running = None;
        self.retry = None;
        supervision::restarting(
            &self.resource(),
            "reconciler",
            &"stopped",
            self.backoff.attempt(),
        );
    }
}

impl<K: Reconciled + 'static> Handler<Signal> for ResourceActor<K> {
    type Result = ();

    fn handle(&mut self, signal: Signal, ctx: &mut Context<Self>) {
        match signal {
            Signal::Reconcile => self.pass(ctx),
            Signal::Forget => ctx.stop(),
        }
    }
}
