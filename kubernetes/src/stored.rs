//! Whether an object read back from the API server already holds what the controller wants. The
//! server returns objects in its own form, so three things are not differences:
//! - fields it defaulted (present in the stored object, absent from the desired one);
//! - Go zero values it omits (`""`, `0`, `false`, `[]`, `{}` are dropped by `omitempty`);
//! - resource quantities in another spelling (`0.5` is stored as `500m`, `1024Mi` as `1Gi`).

use serde_json::{Map, Value};

/// Keys whose values (or whose map's values) are resource quantities.
const QUANTITY_KEYS: [&str; 3] = ["limits", "requests", "sizeLimit"];

/// Whether the fields of `stored` hold every value of `wanted`: objects may have more keys,
/// arrays must have the same length with each element containing the wanted one, scalars must
/// be equal (quantities by value).
pub fn holds(stored: &Map<String, Value>, wanted: &Map<String, Value>) -> bool {
    holds_fields(stored, wanted, false)
}

fn holds_fields(
    stored: &Map<String, Value>,
    wanted: &Map<String, Value>,
    quantities: bool,
) -> bool {
    wanted.iter().all(|(key, value)| {
        let quantities = quantities || QUANTITY_KEYS.contains(&key.as_str());
        match stored.get(key) {
            Some(s) => holds_at(s, value, quantities),
            None => is_omitted(value),
        }
    })
}

fn holds_at(stored: &Value, wanted: &Value, quantities: bool) -> bool {
    match (stored, wanted) {
        (Value::Object(stored), Value::Object(wanted)) => holds_fields(stored, wanted, quantities),
        (Value::Array(stored), Value::Array(wanted)) => {
            stored.len() == wanted.len()
                && stored
                    .iter()
                    .zip(wanted)
                    .all(|(s, w)| holds_at(s, w, quantities))
        }
        (Value::String(stored), Value::String(wanted)) if quantities => {
            stored == wanted || same_quantity(stored, wanted)
        }
        (Value::String(stored), Value::Number(wanted)) if quantities => {
            same_quantity(stored, &wanted.to_string())
        }
        _ => stored == wanted,
    }
}

/// Whether the API server leaves `value` out of what it returns: null and Go's zero values.
fn is_omitted(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

fn same_quantity(a: &str, b: &str) -> bool {
    match (quantity(a), quantity(b)) {
        (Some(a), Some(b)) => (a - b).abs() <= 1e-9 * a.abs().max(b.abs()),
        _ => false,
    }
}

/// The value of a Kubernetes quantity (`500m`, `1.5Gi`, `2e3`, `0.5`), or `None` if it is not one.
fn quantity(text: &str) -> Option<f64> {
    const SUFFIXES: [(&str, f64); 16] = [
        ("Ki", 1024.0),
        ("Mi", 1048576.0),
        ("Gi", 1073741824.0),
        ("Ti", 1099511627776.0),
        ("Pi", 1125899906842624.0),
        ("Ei", 1152921504606846976.0),
        ("n", 1e-9),
        ("u", 1e-6),
        ("m", 1e-3),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
        ("E", 1e18),
        ("", 1.0),
    ];
    let text = text.trim();
    SUFFIXES.iter().find_map(|(suffix, factor)| {
        let number = text.strip_suffix(suffix)?;
        let plain = number
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | '+' | '-' | 'e' | 'E'));
        let exponent_only_without_suffix = suffix.is_empty() || !number.contains(['e', 'E']);
        if number.is_empty() || !plain || !exponent_only_without_suffix {
            return None;
        }
        number.parse::<f64>().ok().map(|n| n * factor)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// [`super::holds`] of two JSON objects.
    fn holds(stored: &Value, wanted: &Value) -> bool {
        super::holds(stored.as_object().unwrap(), wanted.as_object().unwrap())
    }

    #[test]
    fn server_defaults_are_not_differences_but_changed_or_missing_values_are() {
        let stored = json!({"replicas": 1, "template": {"spec": {"containers": [
            {"name": "f", "image": "a", "imagePullPolicy": "Always"}]}}});
        assert!(holds(
            &stored,
            &json!({"template": {"spec": {"containers": [{"name": "f", "image": "a"}]}}})
        ));
        assert!(!holds(
            &stored,
            &json!({"template": {"spec": {"containers": [{"name": "f", "image": "b"}]}}})
        ));
        assert!(!holds(
            &stored,
            &json!({"template": {"spec": {"containers": [{"name": "f"}, {"name": "g"}]}}})
        ));
        assert!(!holds(&stored, &json!({"paused": true})));
    }

    #[test]
    fn zero_values_the_server_omits_are_not_differences() {
        // A processor with no outputs: `OUTPUT_NAMES=""` comes back without a value.
        let stored = json!({"env": [{"name": "OUTPUT_NAMES"}], "ports": [{"containerPort": 8081}]});
        let wanted = json!({
            "env": [{"name": "OUTPUT_NAMES", "value": ""}],
            "ports": [{"containerPort": 8081, "hostPort": 0}],
            "args": [], "resources": {}, "stdin": false, "command": null,
        });
        assert!(holds(&stored, &wanted));
        assert!(!holds(
            &stored,
            &json!({"env": [{"name": "OUTPUT_NAMES", "value": "out"}]})
        ));
        assert!(!holds(&stored, &json!({"stdin": true})));
        assert!(!holds(&stored, &json!({"args": ["x"]})));
    }

    #[test]
    fn resource_quantities_compare_by_value_in_any_spelling() {
        let stored = json!({"resources": {
            "limits": {"cpu": "500m", "memory": "1Gi"},
            "requests": {"cpu": "2", "memory": "128974848", "ephemeral-storage": "1k"}}});
        let wanted = json!({"resources": {
            "limits": {"cpu": "0.5", "memory": "1024Mi"},
            "requests": {"cpu": 2, "memory": "129e6", "ephemeral-storage": "1000"}}});
        assert!(!holds(&stored, &wanted), "129e6 is not 123Mi");
        let wanted = json!({"resources": {
            "limits": {"cpu": "0.5", "memory": "1024Mi"},
            "requests": {"cpu": 2, "memory": "123Mi", "ephemeral-storage": "1000"}}});
        assert!(holds(&stored, &wanted));
        let more_cpu = json!({"resources": {"limits": {"cpu": "0.6"}}});
        assert!(!holds(&stored, &more_cpu));
    }

    #[test]
    fn quantities_are_only_compared_by_value_where_kubernetes_stores_quantities() {
        let stored = json!({"env": [{"name": "CPU", "value": "500m"}]});
        assert!(!holds(
            &stored,
            &json!({"env": [{"name": "CPU", "value": "0.5"}]})
        ));
    }

    #[test]
    fn quantity_spellings() {
        assert_eq!(quantity("500m"), Some(0.5));
        assert_eq!(quantity("1.5Gi"), Some(1.5 * 1073741824.0));
        assert_eq!(quantity("2e3"), Some(2000.0));
        assert_eq!(quantity("1M"), Some(1e6));
        assert_eq!(quantity("1Mi"), Some(1048576.0));
        assert_eq!(quantity("abc"), None);
        assert_eq!(quantity("1e3m"), None);
        assert_eq!(quantity(""), None);
    }
}
