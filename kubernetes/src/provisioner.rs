//! The client of gateways' provisioner APIs (docs/riff-compatibility.md §3): `PUT http://<gateway host>/<ns>/<stream>`
//! on port 80, answered with the stream's `{gateway, topic}`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use serde::Deserialize;

use super::children::gateway::address_host;

/// How long one provisioning call may take (riff's had no timeout and could hang a reconcile).
const TIMEOUT: Duration = Duration::from_secs(10);

/// What a provisioner answers.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Provisioned {
    /// The liiklus address of the gateway, `host:port`.
    pub gateway: String,
    /// The stream's topic.
    pub topic: String,
}

/// Calls provisioner APIs over HTTP.
#[derive(Clone, Debug)]
pub struct Provisioner {
    http: reqwest::Client,
}

impl Default for Provisioner {
    fn default() -> Self {
        Provisioner::with(reqwest::Client::builder())
    }
}

impl Provisioner {
    /// A provisioner client that reaches every gateway host at `address` instead of resolving
    /// its cluster DNS name: for a controller running outside the cluster next to a port-forward,
    /// and for tests.
    pub fn resolving_to(address: SocketAddr) -> Self {
        Provisioner::with(reqwest::Client::builder().dns_resolver(Arc::new(Fixed(address))))
    }

    fn with(builder: reqwest::ClientBuilder) -> Self {
        let http = builder
            .timeout(TIMEOUT)
            .build()
            .expect("an HTTP client without TLS builds");
        Provisioner { http }
    }

    /// Provisions stream `namespace/name` with `partitions` partitions and `content_type` through
    /// the gateway at `address` (its `status.address.url`). The error is the text riff put in
    /// the Stream's status: `status: <code>, body: "<body>"` or the transport error.
    pub async fn provision(
        &self,
        address: &str,
        namespace: &str,
        name: &str,
        partitions: u32,
        content_type: &str,
    ) -> Result<Provisioned, String> {
        let url = format!("http://{}/{namespace}/{name}", address_host(address));
        let body = serde_json::json!({"partitions": partitions, "contentType": content_type});
        let response = self
            .http
            .put(&url)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| format!("PUT {url}: {}", error_chain(&e)))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| format!("PUT {url}: {}", error_chain(&e)))?;
        if status.as_u16() >= 400 {
            return Err(format!("status: {}, body: {text:?}", status.as_u16()));
        }
        serde_json::from_str(&text).map_err(|e| format!("PUT {url}: invalid answer {text:?}: {e}"))
    }
}

/// An error and its causes, `: `-separated (reqwest's own message hides the cause).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Resolves every name to one address.
struct Fixed(SocketAddr);

impl Resolve for Fixed {
    fn resolve(&self, _: Name) -> Resolving {
        let address = self.0;
        Box::pin(async move { Ok(Box::new(std::iter::once(address)) as Addrs) })
    }
}
