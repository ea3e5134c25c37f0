//! The provisioner HTTP API (riff's stream provisioner contract) over any [`Broker`]:
//!
//! - `PUT /<namespace>/<stream>` provisions the broker's topic for the stream
//!   ([`Broker::topic_name`]) and
//!   answers `201` when it was created, `200` when it existed already, with the JSON body
//!   `{"gateway":"<host:port>","topic":"<topic>"}` followed by a newline.
//! - Any other method → `405` with an empty body.
//! - A path that is not exactly two non-empty segments → `400` with the text
//!   `URLs should be of the form /<namespace>/<stream-name>`.
//! - A broker failure → `500` with the error's text.
//!
//! Our extensions:
//! - riff sends an empty body; we also accept a JSON object
//!   `{"partitions": <n>, "contentType": "<type>"}` whose absent fields default to 1 partition
//!   and content type `*/*` (any message). A malformed body, or partitions outside 1 to
//!   [`MAX_PARTITIONS`], → `400` with the reason.
//! - `GET /readyz` (the gateway pod's readiness probe) → `200` while the broker answers, `503`
//!   with the broker's error otherwise.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use crate::broker::{Broker, MAX_PARTITIONS};
use crate::metrics::gateway as metrics;

/// The answer to a request whose path is not `/<namespace>/<stream-name>`.
const PATH_FORM: &str = "URLs should be of the form /<namespace>/<stream-name>";

/// The provisioner's routes over `broker`; `gateway` is the `host:port` of the gRPC API that
/// answers for the provisioned topics.
pub fn router(broker: Arc<dyn Broker>, gateway: impl Into<String>) -> Router {
    let provisioner = Provisioner {
        broker,
        gateway: gateway.into(),
    };
    Router::new()
        .route("/readyz", get(ready).fallback(provision))
        .fallback(provision)
        .with_state(Arc::new(provisioner))
}

async fn ready(State(provisioner): State<Arc<Provisioner>>) -> Response {
    match provisioner.broker.reachable().await {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(error) => (StatusCode::SERVICE_UNAVAILABLE, format!("{error}\n")).into_response(),
    }
}

struct Provisioner {
    broker: Arc<dyn Broker>,
    gateway: String,
}

/// The optional PUT body.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
struct Options {
    partitions: u32,
    content_type: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            partitions: 1,
            content_type: "*/*".to_string(),
        }
    }
}

async fn provision(
    State(provisioner): State<Arc<Provisioner>>,
    method: Method,
    uri: Uri,
    body: Bytes,
) -> Response {
    if method != Method::PUT {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let refused = |reason: String| {
        metrics::provisioned("refused");
        (StatusCode::BAD_REQUEST, reason).into_response()
    };
    let Some((namespace, stream)) = stream_path(uri.path()) else {
        return refused(PATH_FORM.to_owned());
    };
    let options = match options(&body) {
        Ok(options) => options,
        Err(reason) => return refused(reason),
    };
    let topic = provisioner.broker.topic_name(namespace, stream);
    let provisioned = provisioner
        .broker
        .provision(&topic, options.partitions, &options.content_type)
        .await;
    let (status, outcome) = match provisioned {
        Ok(true) => (StatusCode::CREATED, "created"),
        Ok(false) => (StatusCode::OK, "existed"),
        Err(error) => {
            metrics::provisioned("failed");
            return (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response();
        }
    };
    metrics::provisioned(outcome);
    let answer = serde_json::json!({ "gateway": provisioner.gateway, "topic": topic });
    let body = format!("{answer}\n");
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// `(namespace, stream)` of a `/<namespace>/<stream>` path.
fn stream_path(path: &str) -> Option<(&str, &str)> {
    let (namespace, stream) = path.strip_prefix('/')?.split_once('/')?;
    let valid = |segment: &str| !segment.is_empty() && !segment.contains('/');
    (valid(namespace) && valid(stream)).then_some((namespace, stream))
}

fn options(body: &[u8]) -> Result<Options, String> {
    if body.trim_ascii().is_empty() {
        return Ok(Options::default());
    }
    let options: Options =
        serde_json::from_slice(body).map_err(|error| format!("invalid body: {error}"))?;
    if options.partitions == 0 {
        return Err("invalid body: partitions must be at least 1".to_string());
    }
    if options.partitions > MAX_PARTITIONS {
        return Err(format!(
            "invalid body: partitions must be at most {MAX_PARTITIONS}, got {}",
            options.partitions
        ));
    }
    Ok(options)
}

#[cfg(test)]
mod tests {
    use super::stream_path;

    #[test]
    fn only_two_non_empty_segments_name_a_stream() {
        assert_eq!(stream_path("/ns/s"), Some(("ns", "s")));
        assert_eq!(stream_path("/ns"), None);
        assert_eq!(stream_path("/ns/s/x"), None);
        assert_eq!(stream_path("/ns/"), None);
        assert_eq!(stream_path("//s"), None);
    }
}
