//! Watches: newline-delimited JSON events, replayed from the history after a resourceVersion
//! or starting with the current objects, then live until the timeout.

use crate::selector::Selector;
use crate::shared::Shared;
use crate::status::{ApiError, ApiResult};
use crate::store::{Event, EventType, Resource, Store};
use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Watch duration when the client sends no `timeoutSeconds`.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(290);

/// What a watch selects.
struct Filter {
    resource: Resource,
    namespace: Option<String>,
    selector: Selector,
}

impl Filter {
    fn matches(&self, object: &Value) -> bool {
        let namespace = object["metadata"]["namespace"].as_str().unwrap_or_default();
        self.namespace.as_deref().is_none_or(|n| n == namespace) && self.selector.matches(object)
    }

    /// The event as this watch sees it: an object leaving the selection is DELETED, one
    /// entering it is ADDED.
    fn line(&self, event: &Event) -> Option<Bytes> {
        if event.resource != self.resource {
            return None;
        }
        let now = self.matches(&event.object);
        let before = event.previous.as_deref().is_some_and(|p| self.matches(p));
        let kind = match (event.kind, before, now) {
            (EventType::Modified, true, true) => EventType::Modified,
            (EventType::Modified, false, true) => EventType::Added,
            (EventType::Modified, true, false) => EventType::Deleted,
            (kind, _, true) if kind != EventType::Modified => kind,
            _ => return None,
        };
        Some(line(kind.as_str(), &event.object))
    }
}

fn line(kind: &str, object: &Value) -> Bytes {
    let mut bytes =
        serde_json::to_vec(&json!({"type": kind, "object": object})).unwrap_or_default();
    bytes.push(b'\n');
    Bytes::from(bytes)
}

/// Starts a watch of `resource` in `namespace` (all when `None`) for the query parameters.
pub fn watch(
    shared: Arc<Shared>,
    resource: Resource,
    namespace: Option<String>,
    query: &HashMap<String, String>,
) -> ApiResult<Response> {
    let selector = Selector::parse(
        query.get("labelSelector").map(String::as_str),
        query.get("fieldSelector").map(String::as_str),
    )?;
    let timeout = match query.get("timeoutSeconds") {
        Some(seconds) => Duration::from_secs(
            seconds
                .parse()
                .map_err(|_| ApiError::bad_request("timeoutSeconds must be a number"))?,
        ),
        None => DEFAULT_TIMEOUT,
    };
    let send_initial = query.get("sendInitialEvents").is_some_and(|v| v == "true");
    let since = match query.get("resourceVersion").map(String::as_str) {
        None | Some("") | Some("0") => None,
        Some(_) if send_initial => None,
        Some(rv) => Some(
            rv.parse::<u64>()
                .map_err(|_| ApiError::bad_request(format!("invalid resourceVersion {rv:?}")))?,
        ),
    };
    let filter = Filter {
        resource,
        namespace,
        selector,
    };
    let mut changes = shared.changes();
    let stopping = shared.stopping();
    changes.borrow_and_update();
    let (initial, cursor) = shared.read(|store| match since {
        Some(rv) => (Vec::new(), rv),
        None => (
            current_state(store, &filter, send_initial),
            store.resource_version(),
        ),
    });
    let (sender, receiver) = mpsc::channel::<Bytes>(256);
    tokio::spawn(async move {
        for line in initial {
            if sender.send(line).await.is_err() {
                return;
            }
        }
        stream_changes(shared, filter, cursor, timeout, changes, stopping, sender).await;
    });
    let body = futures::stream::unfold(receiver, |mut receiver| async move {
        receiver
            .recv()
            .await
            .map(|line| (Ok::<_, std::convert::Infallible>(line), receiver))
    });
    Response::builder()
        .header("content-type", "application/json")
        .body(Body::from_stream(body))
        .map_err(|e| ApiError::new(500, "InternalError", e.to_string()))
}

/// ADDED for every current matching object; with `sendInitialEvents`, then the bookmark
/// marking the end of the initial events.
fn current_state(store: &Store, filter: &Filter, send_initial: bool) -> Vec<Bytes> {
    let mut lines: Vec<Bytes> = store
        .list(
            &filter.resource,
            filter.namespace.as_deref(),
            &filter.selector,
        )
        .iter()
        .map(|object| line("ADDED", object))
        .collect();
    if send_initial {
        let bookmark = json!({
            "apiVersion": filter.resource.api_version,
            "kind": store.kind_of(&filter.resource).unwrap_or_default(),
            "metadata": {
                "resourceVersion": store.resource_version().to_string(),
                "annotations": {"k8s.io/initial-events-end": "true"},
            },
        });
        lines.push(line("BOOKMARK", &bookmark));
    }
    lines
}

async fn stream_changes(
    shared: Arc<Shared>,
    filter: Filter,
    mut cursor: u64,
    timeout: Duration,
    mut changes: tokio::sync::watch::Receiver<u64>,
    mut stopping: tokio::sync::watch::Receiver<bool>,
    sender: mpsc::Sender<Bytes>,
) {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        changes.borrow_and_update();
        let batch = shared.read(|store| {
            let events = store.events_after(cursor).ok()?;
            let mut lines = Vec::new();
            for event in events {
                cursor = event.rv;
                lines.extend(filter.line(event));
            }
            Some(lines)
        });
        let Some(lines) = batch else {
            let expired = ApiError::new(410, "Expired", "too old resource version");
            let _ = sender.send(line("ERROR", &expired.to_status())).await;
            return;
        };
        for line in lines {
            if sender.send(line).await.is_err() {
                return;
            }
        }
        tokio::select! {
            changed = changes.changed() => if changed.is_err() { return },
            _ = tokio::time::sleep_until(deadline) => return,
            _ = sender.closed() => return,
            _ = stopping.wait_for(|stopped| *stopped) => return,
        }
    }
}
