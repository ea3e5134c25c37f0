//! Duplicate detection: each object is defined once per kind, namespace and name.

use std::collections::HashMap;

use super::{Culprit, Problem};
use crate::resources::ManifestObject;

/// The first definition of each (kind or `gateway`, namespace, name): gateways of all kinds share
/// one name space, as each is a `Gateway`.
#[derive(Default)]
pub(super) struct Definitions(HashMap<(&'static str, String, String), Culprit>);

impl Definitions {
    /// Records the object; a duplicate is a problem (unnamed objects are never duplicates).
    pub(super) fn is_new(&mut self, culprit: Culprit, problems: &mut Vec<Problem>) -> bool {
        if culprit.name.is_empty() {
            return true;
        }
        let group = if ManifestObject::is_gateway_kind(culprit.kind) {
            "gateway"
        } else {
            culprit.kind
        };
        let key = (group, culprit.namespace.clone(), culprit.name.clone());
        match self.0.get(&key) {
            Some(first) => {
                let first = first.clone();
                problems.push(Problem::Duplicate { culprit, first });
                false
            }
            None => {
                self.0.insert(key, culprit);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{Dir, DOCS_EXAMPLE, OUT_STREAM};

    #[test]
    fn duplicates_are_errors_and_gateway_kinds_share_names() {
        let dir = Dir::new(&[
            ("a.yaml", &format!("{OUT_STREAM}---\n{OUT_STREAM}---\n{}", DOCS_EXAMPLE.split("---\n").next().unwrap())),
            (
                "b.yaml",
                &format!("{OUT_STREAM}---\napiVersion: streaming.projectriff.io/v1alpha1\nkind: KafkaGateway\nmetadata: {{name: franz}}\nspec: {{bootstrapServers: 'kafka:9092'}}\n---\n{}",
                    OUT_STREAM.replace("name: out}", "name: out, namespace: other}")),
            ),
        ]);
        assert_eq!(
            dir.error(&["a.yaml", "b.yaml"]),
            "dir/a.yaml: Stream default/out: already defined in dir/a.yaml (document 1)\n\
             dir/b.yaml: Stream default/out: already defined in dir/a.yaml (document 1)\n\
             dir/b.yaml: KafkaGateway default/franz: gateway name already used by InMemoryGateway default/franz in dir/a.yaml (document 3)"
        );
    }
}
