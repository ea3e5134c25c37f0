//! GatewayActor: a gateway served in-process (liiklus gRPC + provisioner HTTP) over its broker.
//! A server that fails is served again on the same addresses after a backoff.

use std::net::SocketAddr;
use std::sync::Arc;

use actix::prelude::*;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::broker::Broker;
use crate::gateway;
use crate::supervision::{self, Backoff};

/// Serves one gateway's APIs over its broker for as long as the actor lives.
pub struct GatewayActor {
    resource: String,
    broker: Arc<dyn Broker>,
    /// The gRPC and provisioner addresses it was bound to, to bind again after a failure.
    addresses: (SocketAddr, SocketAddr),
    listeners: Option<(std::net::TcpListener, std::net::TcpListener)>,
    shutdown: watch::Sender<bool>,
    backoff: Backoff,
}

impl GatewayActor {
    /// Binds the gateway's gRPC and provisioner addresses; fails with the address in the error.
    pub fn bind(
        resource: String,
        broker: Arc<dyn Broker>,
        grpc: SocketAddr,
        provisioner: SocketAddr,
    ) -> anyhow::Result<Self> {
        let listeners = listen(&resource, grpc, provisioner)?;
        let addresses = (listeners.0.local_addr()?, listeners.1.local_addr()?);
        Ok(GatewayActor {
            resource,
            broker,
            addresses,
            listeners: Some(listeners),
            shutdown: watch::channel(false).0,
            backoff: Backoff::default(),
        })
    }

    /// Serves on the bound listeners, or binds them again first; a failure is retried.
    fn serve(&mut self, ctx: &mut Context<Self>) {
        let bound = match self.listeners.take() {
            Some(listeners) => Ok(listeners),
            None => listen(&self.resource, self.addresses.0, self.addresses.1),
        };
        let (grpc, provisioner) = match bound {
            Ok(listeners) => listeners,
            Err(error) => return self.failed(error.to_string(), ctx),
        };
        let gateway_host = self.addresses.0.to_string();
        tracing::info!(resource = %self.resource, gateway = %gateway_host,
            provisioner = %self.addresses.1, "serving");
        let until = |mut shutdown: watch::Receiver<bool>| async move {
            _ = shutdown.wait_for(|stop| *stop).await;
        };
        let broker = self.broker.clone();
        let serve_grpc = gateway::serve_grpc(
            broker.clone(),
            TcpListener::from_std(grpc).expect("a non-blocking listener"),
            until(self.shutdown.subscribe()),
        );
        let serve_http = gateway::serve_provisioner(
            broker,
            gateway_host,
            TcpListener::from_std(provisioner).expect("a non-blocking listener"),
            until(self.shutdown.subscribe()),
        );
        let gateway = ctx.address();
        // Outside the actor's context: a stopped gateway's servers finish their shutdown.
        tokio::spawn(async move {
            let outcome = tokio::try_join!(
                async { serve_grpc.await.map_err(|e| e.to_string()) },
                async { serve_http.await.map_err(|e| e.to_string()) },
            );
            if let Err(reason) = outcome {
                gateway.do_send(ServerFailed(reason));
            }
        });
    }

    /// Logs a failed server and serves again after a backoff.
    fn failed(&mut self, reason: String, ctx: &mut Context<Self>) {
        _ = self.shutdown.send(true); // stops the other server of the pair
        self.shutdown = watch::channel(false).0;
        let delay = self.backoff.next_delay();
        supervision::failed(
            &self.resource,
            "gateway",
            &reason,
            self.backoff.attempt(),
            delay,
        );
        ctx.run_later(delay, |actor, ctx| {
            supervision::restarting(
                &actor.resource,
                "gateway",
                &"server failed",
                actor.backoff.attempt(),
            );
            actor.serve(ctx);
        });
    }
}

/// Binds the gateway's gRPC and provisioner addresses; fails with the address in the error.
fn listen(
    resource: &str,
    grpc: SocketAddr,
    provisioner: SocketAddr,
) -> anyhow::Result<(std::net::TcpListener, std::net::TcpListener)> {
    let bind = |address: SocketAddr, api: &str| {
        let listener = std::net::TcpListener::bind(address).map_err(|error| {
            anyhow::anyhow!("{resource}: cannot serve its {api} on {address}: {error}")
        })?;
        listener.set_nonblocking(true)?;
        anyhow::Ok(listener)
    };
    Ok((
        bind(grpc, "gateway API")?,
        bind(provisioner, "provisioner API")?,
    ))
}

impl Actor for GatewayActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.serve(ctx);
        supervision::started(&self.resource, "gateway");
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        _ = self.shutdown.send(true);
        supervision::stopped(&self.resource, "gateway");
    }
}

/// A server of the gateway failed.
#[derive(Message)]
#[rtype(result = "()")]
struct ServerFailed(String);

impl Handler<ServerFailed> for GatewayActor {
    type Result = ();

    fn handle(&mut self, ServerFailed(reason): ServerFailed, ctx: &mut Context<Self>) {
        self.failed(reason, ctx);
    }
}

/// Stops serving.
#[derive(Message)]
#[rtype(result = "()")]
pub struct StopGateway;

impl Handler<StopGateway> for GatewayActor {
    type Result = ();

    fn handle(&mut self, _: StopGateway, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}
