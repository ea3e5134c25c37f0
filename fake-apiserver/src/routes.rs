//! HTTP routing: Kubernetes REST paths to store operations, watches and pod logs.

use crate::logs::serve_logs;
use crate::selector::Selector;
use crate::shared::Shared;
use crate::status::{ApiError, ApiResult};
use crate::store::{Mode, PatchKind, Resource};
use crate::watch::watch;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use axum::Router;
use bytes::Bytes;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// The router serving every path from `shared`.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .fallback(handle)
        .layer(DefaultBodyLimit::disable())
        .with_state(shared)
}

/// What a request path names.
#[derive(Debug, PartialEq)]
enum Target {
    /// A collection in one namespace, or across all namespaces / cluster-scoped when `None`.
    Collection {
        resource: Resource,
        namespace: Option<String>,
    },
    /// One object (`namespace` empty when cluster-scoped), possibly a subresource of it.
    Item {
        resource: Resource,
        namespace: String,
        name: String,
        subresource: Option<String>,
    },
}

fn parse_path(path: &str) -> Option<Target> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (api_version, rest) = match segments.as_slice() {
        ["api", version, rest @ ..] => (version.to_string(), rest),
        ["apis", group, version, rest @ ..] => (format!("{group}/{version}"), rest),
        _ => return None,
    };
    let resource = |plural: &str| Resource::new(&api_version, plural);
    let item = |plural: &str, namespace: &str, name: &str, sub: Option<&str>| Target::Item {
        resource: resource(plural),
        namespace: namespace.into(),
        name: name.into(),
        subresource: sub.map(String::from),
    };
    if rest.iter().any(|s| s.is_empty()) {
        return None;
    }
    Some(match rest {
        ["namespaces", name, "status"] => item("namespaces", "", name, Some("status")),
        ["namespaces", namespace, plural] => Target::Collection {
            resource: resource(plural),
            namespace: Some(namespace.to_string()),
        },
        ["namespaces", namespace, plural, name] => item(plural, namespace, name, None),
        ["namespaces", namespace, plural, name, sub] => item(plural, namespace, name, Some(sub)),
        [plural] => Target::Collection {
            resource: resource(plural),
            namespace: None,
        },
        [plural, name] => item(plural, "", name, None),
        [plural, name, sub] => item(plural, "", name, Some(sub)),
        _ => return None,
    })
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path_and_query = uri.path_and_query().map_or("/", |p| p.as_str());
    shared.record_request(method.as_str(), path_and_query);
    if let Some(code) = shared.take_failure(method.as_str(), path_and_query) {
        return error(ApiError::injected(code));
    }
    let query = match Query::<HashMap<String, String>>::try_from_uri(&uri) {
        Ok(Query(query)) => query,
        Err(e) => return error(ApiError::bad_request(e.to_string())),
    };
    let request = Request {
        shared,
        method,
        query,
        headers,
        body,
    };
    request.dispatch(uri.path()).unwrap_or_else(error)
}

struct Request {
    shared: Arc<Shared>,
    method: Method,
    query: HashMap<String, String>,
    headers: HeaderMap,
    body: Bytes,
}

impl Request {
    fn dispatch(&self, path: &str) -> ApiResult<Response> {
        if let Some(response) = self.discovery(path) {
            return Ok(response);
        }
        match parse_path(path).ok_or_else(not_found)? {
            Target::Collection {
                resource,
                namespace,
            } => self.collection(resource, namespace),
            Target::Item {
                resource,
                namespace,
                name,
                subresource,
            } => match subresource.as_deref() {
                None => self.item(&resource, &namespace, &name, Mode::Main),
                Some("status") => self.item(&resource, &namespace, &name, Mode::Status),
                Some("log")
                    if resource == Resource::new("v1", "pods") && self.method == Method::GET =>
                {
                    serve_logs(self.shared.clone(), &namespace, &name, &self.query)
                }
                Some(_) => Err(not_found()),
            },
        }
    }

    /// `/version`, `/api` and `/apis`, enough for clients that probe the server.
    fn discovery(&self, path: &str) -> Option<Response> {
        let body = match path.trim_end_matches('/') {
            "/version" => json!({
                "major": "1", "minor": "33", "gitVersion": "v1.33.0-fake",
                "gitCommit": "", "gitTreeState": "clean", "buildDate": "",
                "goVersion": "", "compiler": "", "platform": "linux/amd64",
            }),
            "/api" => {
                json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []})
            }
            "/apis" => json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": []}),
            "/healthz" | "/readyz" | "/livez" => {
                return Some(text(StatusCode::OK, "ok"));
            }
            _ => return None,
        };
        Some(json_response(StatusCode::OK, &body))
    }

    fn dry_run(&self) -> bool {
        self.query.contains_key("dryRun")
    }

    fn selector(&self) -> ApiResult<Selector> {
        Selector::parse(
            self.query.get("labelSelector").map(String::as_str),
            self.query.get("fieldSelector").map(String::as_str),
        )
    }

    fn json_body(&self) -> ApiResult<Value> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&self.body)
            .map_err(|e| ApiError::bad_request(format!("malformed JSON body: {e}")))
    }

    fn collection(&self, resource: Resource, namespace: Option<String>) -> ApiResult<Response> {
        match self.method {
            Method::GET
                if matches!(
                    self.query.get("watch").map(String::as_str),
                    Some("true" | "1")
                ) =>
            {
                watch(self.shared.clone(), resource, namespace, &self.query)
            }
            Method::GET => {
                let selector = self.selector()?;
                let (items, rv, kind) = self.shared.read(|store| {
                    (
                        store.list(&resource, namespace.as_deref(), &selector),
                        store.resource_version(),
                        store.kind_of(&resource),
                    )
                });
                Ok(json_response(
                    StatusCode::OK,
                    &list(&resource, kind, rv, items),
                ))
            }
            Method::POST => {
                let body = self.json_body()?;
                let namespace = namespace.unwrap_or_default();
                let created = self.shared.write(self.dry_run(), |store| {
                    store.create(&resource, &namespace, body, Mode::Main)
                })?;
                Ok(json_response(StatusCode::CREATED, &created))
            }
            Method::DELETE => {
                let selector = self.selector()?;
                let (items, rv, kind) = self.shared.write(self.dry_run(), |store| {
                    let items = store.delete_collection(&resource, namespace.as_deref(), &selector);
                    (items, store.resource_version(), store.kind_of(&resource))
                });
                Ok(json_response(
                    StatusCode::OK,
                    &list(&resource, kind, rv, items),
                ))
            }
            _ => Err(method_not_allowed()),
        }
    }

    fn item(
        &self,
        resource: &Resource,
        namespace: &str,
        name: &str,
        mode: Mode,
    ) -> ApiResult<Response> {
        let dry_run = self.dry_run();
        match self.method {
            Method::GET => {
                let object = self
                    .shared
                    .read(|store| store.get_or_404(resource, namespace, name))?;
                Ok(json_response(StatusCode::OK, &object))
            }
            Method::PUT => {
                let body = self.json_body()?;
                let object = self.shared.write(dry_run, |store| {
                    store.update(resource, namespace, name, body, mode)
                })?;
                Ok(json_response(StatusCode::OK, &object))
            }
            Method::PATCH => {
                let (kind, patch) = self.patch_body()?;
                let (object, created) = self.shared.write(dry_run, |store| {
                    store.patch(resource, namespace, name, kind, &patch, mode)
                })?;
                let code = if created {
                    StatusCode::CREATED
                } else {
                    StatusCode::OK
                };
                Ok(json_response(code, &object))
            }
            Method::DELETE if mode == Mode::Main => {
                let options = self.json_body()?;
                let object = self.shared.write(dry_run, |store| {
                    store.delete(resource, namespace, name, &options)
                })?;
                Ok(json_response(StatusCode::OK, &object))
            }
            _ => Err(method_not_allowed()),
        }
    }

    fn patch_body(&self) -> ApiResult<(PatchKind, Value)> {
        let content_type = self
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let media_type = content_type.split(';').next().unwrap_or_default().trim();
        let kind = match media_type {
            "application/merge-patch+json" | "application/strategic-merge-patch+json" => PatchKind::Merge,
            "application/json-patch+json" => PatchKind::Json,
            "application/apply-patch+yaml" => PatchKind::Apply,
            other => {
                return Err(ApiError::new(
                    415,
                    "UnsupportedMediaType",
                    format!("the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml (got {other:?})"),
                ))
            }
        };
        let patch = if kind == PatchKind::Apply {
            serde_norway::from_slice::<Value>(&self.body)
                .map_err(|e| ApiError::bad_request(format!("malformed YAML body: {e}")))?
        } else {
            self.json_body()?
        };
        Ok((kind, patch))
    }
}

fn list(resource: &Resource, kind: Option<String>, rv: u64, items: Vec<Value>) -> Value {
    json!({
        "apiVersion": resource.api_version,
        "kind": kind.map_or_else(|| "List".to_string(), |k| format!("{k}List")),
        "metadata": {"resourceVersion": rv.to_string()},
        "items": items,
    })
}

fn not_found() -> ApiError {
    ApiError::new(
        404,
        "NotFound",
        "the server could not find the requested resource",
    )
}

fn method_not_allowed() -> ApiError {
    ApiError::new(
        405,
        "MethodNotAllowed",
        "the server does not allow this method on the requested resource",
    )
}

/// A JSON response.
pub fn json_response(code: StatusCode, body: &Value) -> Response {
    let mut response = Response::new(Body::from(serde_json::to_vec(body).unwrap_or_default()));
    *response.status_mut() = code;
    response.headers_mut().insert(
        "content-type",
        "application/json".parse().expect("static header"),
    );
    response
}

/// A plain-text response.
pub fn text(code: StatusCode, body: impl Into<Body>) -> Response {
    let mut response = Response::new(body.into());
    *response.status_mut() = code;
    response
        .headers_mut()
        .insert("content-type", "text/plain".parse().expect("static header"));
    response
}

/// The `Status` response for `error`.
pub fn error(error: ApiError) -> Response {
    let code = StatusCode::from_u16(error.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json_response(code, &error.to_status())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_paths() {
        assert_eq!(
            parse_path("/api/v1/namespaces/ns/pods/p/log"),
            Some(Target::Item {
                resource: Resource::new("v1", "pods"),
                namespace: "ns".into(),
                name: "p".into(),
                subresource: Some("log".into()),
            })
        );
        assert_eq!(
            parse_path("/apis/apps/v1/deployments"),
            Some(Target::Collection {
                resource: Resource::new("apps/v1", "deployments"),
                namespace: None,
            })
        );
        assert_eq!(
            parse_path("/api/v1/namespaces/ns"),
            Some(Target::Item {
                resource: Resource::new("v1", "namespaces"),
                namespace: "".into(),
                name: "ns".into(),
                subresource: None,
            })
        );
        assert_eq!(parse_path("/apis/example.com"), None);
        assert_eq!(parse_path("/api/v1/namespaces/ns/pods/p/log/x"), None);
    }
}
