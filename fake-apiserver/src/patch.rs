//! Patch formats: JSON merge patch (RFC 7386) and JSON patch (RFC 6902).

use crate::status::{ApiError, ApiResult};
use serde_json::Value;

/// Applies an RFC 7386 merge patch to `target`.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch_map) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Default::default());
    }
    let Value::Object(target_map) = target else {
        return;
    };
    for (key, value) in patch_map {
        if value.is_null() {
            target_map.remove(key);
        } else {
            merge_patch(target_map.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

/// Applies an RFC 6902 JSON patch (`add`, `remove`, `replace`, `move`, `copy`, `test`).
pub fn json_patch(target: &mut Value, operations: &Value) -> ApiResult<()> {
    let Value::Array(operations) = operations else {
        return Err(ApiError::bad_request("a JSON patch must be an array"));
    };
    for operation in operations {
        let op = operation["op"].as_str().unwrap_or_default();
        let path = operation["path"]
            .as_str()
            .ok_or_else(|| ApiError::bad_request("JSON patch operation without path"))?;
        let value = || {
            operation
                .get("value")
                .cloned()
                .ok_or_else(|| ApiError::bad_request(format!("JSON patch {op} without value")))
        };
        let from = || {
            operation["from"]
                .as_str()
                .ok_or_else(|| ApiError::bad_request(format!("JSON patch {op} without from")))
        };
        match op {
            "add" => add(target, path, value()?)?,
            "remove" => {
                remove(target, path)?;
            }
            "replace" => {
                remove(target, path)?;
                add(target, path, value()?)?;
            }
            "move" => {
                let moved = remove(target, from()?)?;
                add(target, path, moved)?;
            }
            "copy" => {
                let copied = target
                    .pointer(&pointer(from()?)?)
                    .cloned()
                    .ok_or_else(|| missing(from().unwrap_or_default()))?;
                add(target, path, copied)?;
            }
            "test" => {
                if target.pointer(&pointer(path)?) != Some(&value()?) {
                    return Err(ApiError::invalid(format!(
                        "JSON patch test failed at {path}"
                    )));
                }
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown JSON patch operation {other:?}"
                )))
            }
        }
    }
    Ok(())
}

fn missing(path: &str) -> ApiError {
    ApiError::invalid(format!("JSON patch path {path} does not exist"))
}

/// Validates a JSON pointer (the empty string or `/`-prefixed).
fn pointer(path: &str) -> ApiResult<String> {
    if path.is_empty() || path.starts_with('/') {
        Ok(path.to_string())
    } else {
        Err(ApiError::bad_request(format!(
            "invalid JSON pointer {path:?}"
        )))
    }
}

/// Splits a pointer into its parent pointer and unescaped last token.
fn split(path: &str) -> ApiResult<(String, String)> {
    let path = pointer(path)?;
    let Some(index) = path.rfind('/') else {
        return Err(ApiError::bad_request("cannot patch the document root"));
    };
    let token = path[index + 1..].replace("~1", "/").replace("~0", "~");
    Ok((path[..index].to_string(), token))
}

fn add(target: &mut Value, path: &str, value: Value) -> ApiResult<()> {
    if path.is_empty() {
        *target = value;
        return Ok(());
    }
    let (parent, token) = split(path)?;
    match target.pointer_mut(&parent) {
        Some(Value::Object(map)) => {
            map.insert(token, value);
            Ok(())
        }
        Some(Value::Array(items)) => {
            let index = if token == "-" {
                items.len()
            } else {
                token.parse::<usize>().map_err(|_| missing(path))?
            };
            if index > items.len() {
                return Err(missing(path));
            }
            items.insert(index, value);
            Ok(())
        }
        _ => Err(missing(path)),
    }
}

fn remove(target: &mut Value, path: &str) -> ApiResult<Value> {
    let (parent, token) = split(path)?;
    let removed = match target.pointer_mut(&parent) {
        Some(Value::Object(map)) => map.remove(&token),
        Some(Value::Array(items)) => match token.parse::<usize>() {
            Ok(index) if index < items.len() => Some(items.remove(index)),
            _ => None,
        },
        _ => None,
    };
    removed.ok_or_else(|| missing(path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_follows_rfc7386() {
        let mut doc = json!({"a": "b", "c": {"d": "e", "f": "g"}, "l": [1, 2]});
        merge_patch(&mut doc, &json!({"a": "z", "c": {"f": null}, "l": [3]}));
        assert_eq!(doc, json!({"a": "z", "c": {"d": "e"}, "l": [3]}));
    }

    #[test]
    fn json_patch_operations() {
        let mut doc = json!({"a": {"b": 1}, "l": [1, 2]});
        let ops = json!([
            {"op": "add", "path": "/a/c", "value": 2},
            {"op": "add", "path": "/l/-", "value": 3},
            {"op": "replace", "path": "/a/b", "value": 5},
            {"op": "remove", "path": "/l/0"},
            {"op": "test", "path": "/a/b", "value": 5},
            {"op": "copy", "from": "/a", "path": "/x~1y"},
        ]);
        json_patch(&mut doc, &ops).unwrap();
        assert_eq!(
            doc,
            json!({"a": {"b": 5, "c": 2}, "l": [2, 3], "x/y": {"b": 5, "c": 2}})
        );
        let failed = json_patch(
            &mut doc,
            &json!([{"op": "test", "path": "/a/b", "value": 1}]),
        );
        assert_eq!(failed.unwrap_err().code, 422);
        let missing = json_patch(
            &mut doc,
            &json!([{"op": "replace", "path": "/nope", "value": 1}]),
        );
        assert!(missing.is_err());
    }
}
