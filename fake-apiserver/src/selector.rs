//! Label and field selectors, as sent in `labelSelector` and `fieldSelector`.

use crate::status::{ApiError, ApiResult};
use serde_json::Value;

/// One requirement of a label selector.
#[derive(Debug, Clone, PartialEq)]
enum LabelRequirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// One requirement of a field selector: a dotted path compared with a value.
#[derive(Debug, Clone, PartialEq)]
struct FieldRequirement {
    path: String,
    value: String,
    equal: bool,
}

/// A parsed label selector and field selector; every requirement must match (AND).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selector {
    labels: Vec<LabelRequirement>,
    fields: Vec<FieldRequirement>,
}

impl Selector {
    /// Parses the `labelSelector` and `fieldSelector` query parameters.
    pub fn parse(labels: Option<&str>, fields: Option<&str>) -> ApiResult<Selector> {
        let mut selector = Selector::default();
        for term in split_terms(labels.unwrap_or_default()) {
            selector.labels.push(parse_label_term(&term)?);
        }
        for term in split_terms(fields.unwrap_or_default()) {
            selector.fields.push(parse_field_term(&term)?);
        }
        Ok(selector)
    }

    /// Whether `object` satisfies every requirement.
    pub fn matches(&self, object: &Value) -> bool {
        let labels = &object["metadata"]["labels"];
        let label = |key: &str| labels.get(key).and_then(Value::as_str);
        let labels_match = self.labels.iter().all(|requirement| match requirement {
            LabelRequirement::Equals(k, v) => label(k) == Some(v.as_str()),
            LabelRequirement::NotEquals(k, v) => label(k) != Some(v.as_str()),
            LabelRequirement::In(k, values) => {
                label(k).is_some_and(|l| values.iter().any(|v| v == l))
            }
            LabelRequirement::NotIn(k, values) => {
                !label(k).is_some_and(|l| values.iter().any(|v| v == l))
            }
            LabelRequirement::Exists(k) => label(k).is_some(),
            LabelRequirement::NotExists(k) => label(k).is_none(),
        });
        labels_match
            && self.fields.iter().all(|requirement| {
                let actual = field(object, &requirement.path);
                (actual == requirement.value) == requirement.equal
            })
    }
}

/// The string value of the dotted `path` in `object`; absent fields are empty.
fn field(object: &Value, path: &str) -> String {
    let mut current = object;
    for part in path.split('.') {
        current = match current.get(part) {
            Some(next) => next,
            None => return String::new(),
        };
    }
    match current {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Splits on commas outside parentheses, dropping empty terms.
fn split_terms(selector: &str) -> Vec<String> {
    let mut terms = Vec::new();
    let mut depth = 0usize;
    let mut current = String::new();
    for c in selector.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                terms.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    terms.push(current);
    terms
        .into_iter()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect()
}

fn parse_label_term(term: &str) -> ApiResult<LabelRequirement> {
    let invalid = || ApiError::bad_request(format!("invalid label selector term {term:?}"));
    if let Some((key, value)) = term.split_once("!=") {
        return Ok(LabelRequirement::NotEquals(
            key.trim().into(),
            value.trim().into(),
        ));
    }
    if let Some((key, value)) = term.split_once("==").or_else(|| term.split_once('=')) {
        return Ok(LabelRequirement::Equals(
            key.trim().into(),
            value.trim().into(),
        ));
    }
    if let Some(key) = term.strip_prefix('!') {
        return Ok(LabelRequirement::NotExists(key.trim().into()));
    }
    if let Some(open) = term.find('(') {
        let close = term.rfind(')').filter(|c| *c > open).ok_or_else(invalid)?;
        let values = term[open + 1..close]
            .split(',')
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect();
        let mut words = term[..open].split_whitespace();
        let (Some(key), Some(op), None) = (words.next(), words.next(), words.next()) else {
            return Err(invalid());
        };
        return match op {
            "in" => Ok(LabelRequirement::In(key.into(), values)),
            "notin" => Ok(LabelRequirement::NotIn(key.into(), values)),
            _ => Err(invalid()),
        };
    }
    if term.contains(char::is_whitespace) {
        return Err(invalid());
    }
    Ok(LabelRequirement::Exists(term.into()))
}

fn parse_field_term(term: &str) -> ApiResult<FieldRequirement> {
    let (path, value, equal) = if let Some((p, v)) = term.split_once("!=") {
        (p, v, false)
    } else if let Some((p, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
        (p, v, true)
    } else {
        return Err(ApiError::bad_request(format!(
            "invalid field selector term {term:?}"
        )));
    };
    Ok(FieldRequirement {
        path: path.trim().into(),
        value: value.trim().into(),
        equal,
    })
}

#[cfg(test)]
mod tests {
    use super::Selector;
    use serde_json::json;

    fn matches(labels: &str, fields: &str) -> bool {
        let object = json!({
            "metadata": {"name": "a", "namespace": "ns", "labels": {"app": "web", "tier": "front"}},
            "status": {"phase": "Running"}
        });
        Selector::parse(Some(labels), Some(fields))
            .unwrap()
            .matches(&object)
    }

    #[test]
    fn label_selectors() {
        assert!(matches("app=web", ""));
        assert!(matches("app==web,tier", ""));
        assert!(!matches("app=db", ""));
        assert!(matches("app!=db,!missing", ""));
        assert!(!matches("!tier", ""));
        assert!(matches("app in (db, web),tier notin (back)", ""));
        assert!(!matches("app in (db),tier", ""));
        assert!(Selector::parse(Some("app in db x"), None).is_err());
    }

    #[test]
    fn field_selectors() {
        assert!(matches("", "metadata.name=a,metadata.namespace==ns"));
        assert!(!matches("", "metadata.name=b"));
        assert!(matches("", "status.phase!=Pending"));
    }
}
