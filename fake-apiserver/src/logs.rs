//! Pod container logs: what `FakeApiServer::append_pod_log` appends and `GET .../pods/{pod}/log` serves.

use crate::routes::text;
use crate::shared::Shared;
use crate::status::{ApiError, ApiResult};
use crate::store::Resource;
use axum::body::Body;
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// One appended piece of log text.
#[derive(Debug, Clone)]
struct LogChunk {
    at: Instant,
    text: String,
}

/// Log text per (namespace, pod, container), kept as appended chunks.
#[derive(Debug, Clone, Default)]
pub struct PodLogs {
    chunks: HashMap<(String, String, String), Vec<LogChunk>>,
}

/// Which part of a log to read.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogQuery {
    /// Only chunks appended within this many seconds.
    pub since_seconds: Option<u64>,
    /// Only the last this many lines.
    pub tail_lines: Option<usize>,
}

impl PodLogs {
    /// Appends `text` to the log of `container` in `pod`.
    pub fn append(&mut self, namespace: &str, pod: &str, container: &str, text: &str) {
        self.chunks
            .entry((namespace.into(), pod.into(), container.into()))
            .or_default()
            .push(LogChunk {
                at: Instant::now(),
                text: text.into(),
            });
    }

    /// Forgets every container log of `pod` (the pod was deleted).
    pub fn remove_pod(&mut self, namespace: &str, pod: &str) {
        self.chunks
            .retain(|(ns, name, _), _| !(ns == namespace && name == pod));
    }

    /// Names of the containers of `pod` that have logs, sorted.
    pub fn containers(&self, namespace: &str, pod: &str) -> Vec<String> {
        let mut names: Vec<String> = self
            .chunks
            .keys()
            .filter(|(ns, name, _)| ns == namespace && name == pod)
            .map(|(_, _, container)| container.clone())
            .collect();
        names.sort();
        names
    }

    /// The text appended from chunk `from` on, filtered by `query`, and the index of the next chunk.
    pub fn read(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        from: usize,
        query: LogQuery,
    ) -> (String, usize) {
        let key = (
            namespace.to_string(),
            pod.to_string(),
            container.to_string(),
        );
        let Some(chunks) = self.chunks.get(&key) else {
            return (String::new(), from);
        };
        let cutoff = query
            .since_seconds
            .and_then(|s| Instant::now().checked_sub(Duration::from_secs(s)));
        let text: String = chunks
            .iter()
            .skip(from)
            .filter(|chunk| cutoff.is_none_or(|cutoff| chunk.at >= cutoff))
            .map(|chunk| chunk.text.as_str())
            .collect();
        (tail(text, query.tail_lines), chunks.len().max(from))
    }
}

/// The last `lines` lines of `text` (all of it when `None`).
fn tail(text: String, lines: Option<usize>) -> String {
    let Some(lines) = lines else {
        return text;
    };
    let body = text.strip_suffix('\n').unwrap_or(&text);
    let starts: Vec<usize> = std::iter::once(0)
        .chain(body.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    if lines == 0 || text.is_empty() {
        return String::new();
    }
    match starts.len().checked_sub(lines) {
        Some(first) if first > 0 => text[starts[first]..].to_string(),
        _ => text,
    }
}

/// Serves `GET /api/v1/namespaces/{namespace}/pods/{pod}/log`; with `follow=true` the
/// response streams later appends until the pod is deleted or the server stops.
pub fn serve_logs(
    shared: Arc<Shared>,
    namespace: &str,
    pod: &str,
    query: &HashMap<String, String>,
) -> ApiResult<Response> {
    let number = |key: &str| -> ApiResult<Option<u64>> {
        query
            .get(key)
            .map(|v| {
                v.parse()
                    .map_err(|_| ApiError::bad_request(format!("{key} must be a number")))
            })
            .transpose()
    };
    let log_query = LogQuery {
        since_seconds: number("sinceSeconds")?,
        tail_lines: number("tailLines")?.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
    };
    let follow = query.get("follow").is_some_and(|v| v == "true" || v == "1");
    let pods = Resource::new("v1", "pods");
    let mut changes = shared.changes();
    changes.borrow_and_update();
    let (uid, container, initial, next) = shared.read(|store| {
        let object = store.get_or_404(&pods, namespace, pod)?;
        let container = match query.get("container") {
            Some(container) => container.clone(),
            None => object["spec"]["containers"][0]["name"]
                .as_str()
                .map(String::from)
                .or_else(|| store.logs.containers(namespace, pod).into_iter().next())
                .unwrap_or_default(),
        };
        let (text, next) = store.logs.read(namespace, pod, &container, 0, log_query);
        let uid = object["metadata"]["uid"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        Ok::<_, ApiError>((uid, container, text, next))
    })?;
    if !follow {
        return Ok(text(StatusCode::OK, initial));
    }
    let (sender, receiver) = mpsc::channel::<Bytes>(256);
    let (namespace, pod) = (namespace.to_string(), pod.to_string());
    let mut stopping = shared.stopping();
    tokio::spawn(async move {
        if !initial.is_empty() && sender.send(Bytes::from(initial)).await.is_err() {
            return;
        }
        let mut next = next;
        loop {
            tokio::select! {
                changed = changes.changed() => if changed.is_err() { return },
                _ = sender.closed() => return,
                _ = stopping.wait_for(|stopped| *stopped) => return,
            }
            changes.borrow_and_update();
            let appended = shared.read(|store| {
                let object = store.get(&pods, &namespace, &pod)?;
                if object["metadata"]["uid"].as_str() != Some(uid.as_str()) {
                    return None;
                }
                let since = LogQuery {
                    since_seconds: log_query.since_seconds,
                    tail_lines: None,
                };
                let (text, after) = store.logs.read(&namespace, &pod, &container, next, since);
                next = after;
                Some(text)
            });
            match appended {
                None => return,
                Some(text) if text.is_empty() => {}
                Some(text) => {
                    if sender.send(Bytes::from(text)).await.is_err() {
                        return;
                    }
                }
            }
        }
    });
    let body = futures::stream::unfold(receiver, |mut receiver| async move {
        receiver
            .recv()
            .await
            .map(|chunk| (Ok::<_, std::convert::Infallible>(chunk), receiver))
    });
    Ok(text(StatusCode::OK, Body::from_stream(body)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_chunks_incrementally_and_tails() {
        let mut logs = PodLogs::default();
        logs.append("ns", "p", "c", "one\ntwo\n");
        logs.append("ns", "p", "other", "x\n");
        let (text, next) = logs.read("ns", "p", "c", 0, LogQuery::default());
        assert_eq!((text.as_str(), next), ("one\ntwo\n", 1));
        logs.append("ns", "p", "c", "three\n");
        let (text, next) = logs.read("ns", "p", "c", next, LogQuery::default());
        assert_eq!((text.as_str(), next), ("three\n", 2));
        let tail = LogQuery {
            tail_lines: Some(2),
            ..LogQuery::default()
        };
        assert_eq!(logs.read("ns", "p", "c", 0, tail).0, "two\nthree\n");
        assert_eq!(logs.containers("ns", "p"), vec!["c", "other"]);
        logs.remove_pod("ns", "p");
        assert!(logs.containers("ns", "p").is_empty());
    }
}
