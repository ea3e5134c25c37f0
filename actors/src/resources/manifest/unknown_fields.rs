//! Fields a document sets that its kind does not have.

use serde_norway::Value;

/// Appends to `unknown` the paths of non-empty fields of `original` that `known` (what the typed
/// object serializes to) lacks.
pub(super) fn collect_unknown_fields(
    original: &Value,
    known: &Value,
    path: &str,
    unknown: &mut Vec<String>,
) {
    match (original, known) {
        (Value::Mapping(original), Value::Mapping(known)) => {
            for (key, value) in original {
                let Some(name) = key.as_str() else { continue };
                let child = if path.is_empty() {
                    name.to_owned()
                } else {
                    format!("{path}.{name}")
                };
                match known.get(key) {
                    Some(known) => collect_unknown_fields(value, known, &child, unknown),
                    None if is_empty(value) => {}
                    None => unknown.push(child),
                }
            }
        }
        (Value::Sequence(original), Value::Sequence(known)) => {
            for (i, (value, known)) in original.iter().zip(known).enumerate() {
                collect_unknown_fields(value, known, &format!("{path}[{i}]"), unknown);
            }
        }
        _ => {}
    }
}

/// Values that serialization may omit as empty.
fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Sequence(s) => s.is_empty(),
        Value::Mapping(m) => m.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{processor_yaml, Dir};

    #[test]
    fn unknown_fields_are_reported_with_their_paths() {
        let dir = Dir::new(&[(
            "p.yaml",
            &processor_yaml("  inptus: [{stream: in}]\n  inputs: [{stream: in, offset: earliest}]\n  template: {spec: {containers: [{image: f, imagePullPolicy: Always, imag: g}]}}\n  window: {}\n  status: {}\n"),
        )]);
        assert_eq!(
            dir.error(&["p.yaml"]),
            r#"dir/p.yaml: Processor default/p: unknown field "spec.inptus", unknown field "spec.inputs[0].offset", unknown field "spec.template.spec.containers[0].imag""#
        );
    }
}
