//! GatewayActor: a gateway served in-process (liiklus gRPC + provisioner HTTP) over its broker.

use std::net::SocketAddr;
use std::sync::Arc;

use actix::prelude::*;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::broker::Broker;
use crate::gateway;
use crate::supervision;

/// Serves one gateway's APIs over its broker for as long as the actor lives.
pub struct GatewayActor {
    resource: String,
    broker: Arc<dyn Broker>,
    listeners: Option<(std::net::TcpListener, std::net::TcpListener)>,
    shutdown: watch::Sender<bool>,
}

impl GatewayActor {
    /// Binds the gateway's gRPC and provisioner addresses; fails with the address in the error.
    pub fn bind(
        resource: String,
        broker: Arc<dyn Broker>,
        grpc: SocketAddr,
        provisioner: SocketAddr,
    ) -> anyhow::Result<Self> {
        let bind = |address: SocketAddr, api: &str| {
            let listener = std::net::TcpListener::bind(address).map_err(|error| {
                anyhow::anyhow!("{resource}: cannot serve its {api} on {address}: {error}")
            })?;
            listener.set_nonblocking(true)?;
            anyhow::Ok(listener)
        };
        let listeners = (
            bind(grpc, "gateway API")?,
            bind(provisioner, "provisioner API")?,
        );
        Ok(GatewayActor {
            resource,
            broker,
            listeners: Some(listeners),
            shutdown: watch::channel(false).0,
        })
    }
}

impl Actor for GatewayActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let Some((grpc, provisioner)) = self.listeners.take() else {
            return;
        };
        let gateway_host = grpc.local_addr().map(|a| a.to_string()).unwrap_or_default();
        tracing::info!(resource = %self.resource, gateway = %gateway_host,
            provisioner = ?provisioner.local_addr().ok(), "serving");
        let until = |mut shutdown: watch::Receiver<bool>| async move {
            _ = shutdown.wait_for(|stop| *stop).await;
        };
        let (broker, resource) = (self.broker.clone(), self.resource.clone());
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
        let addr = ctx.address();
        tokio::spawn(async move {
            let outcome = tokio::try_join!(
                async { serve_grpc.await.map_err(|e| e.to_string()) },
                async { serve_http.await.map_err(|e| e.to_string()) },
            );
            if let Err(error) = outcome {
                tracing::error!(resource = %resource, %error, "gateway server failed");
                addr.do_send(StopGateway);
            }
        });
        supervision::started(&self.resource, "gateway");
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        _ = self.shutdown.send(true);
        supervision::stopped(&self.resource, "gateway");
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
