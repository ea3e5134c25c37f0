//! Reading a manifest file's YAML documents: dispatching each on `apiVersion` and `kind`, then
//! decoding, defaulting and validating it.

use std::fs;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_norway::{Mapping, Value};

use super::unknown_fields::collect_unknown_fields;
use super::{Culprit, Problem};
use crate::resources::{Admission, ManifestObject, API_VERSION, DEFAULT_NAMESPACE};

/// Every non-empty document of `path`: who it is and, when it is fine, the resource.
pub(super) fn load_file(
    path: &Path,
    problems: &mut Vec<Problem>,
) -> Vec<(Culprit, Option<ManifestObject>)> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(source) => {
            let path = path.to_owned();
            problems.push(Problem::Read { path, source });
            return Vec::new();
        }
    };
    let mut objects = Vec::new();
    for (index, document) in serde_norway::Deserializer::from_str(&text).enumerate() {
        let value = match Value::deserialize(document) {
            Ok(Value::Null) => continue,
            Ok(value) => value,
            Err(source) => {
                // The parser cannot resynchronise: the rest of the file is unreadable.
                let path = path.to_owned();
                problems.push(Problem::Yaml { path, source });
                break;
            }
        };
        let document = Document {
            path,
            text: &text,
            index,
            value,
        };
        if let Some(object) = document.load(problems) {
            objects.push(object);
        }
    }
    objects
}

/// One YAML document of a manifest file.
struct Document<'a> {
    path: &'a Path,
    text: &'a str,
    /// Position in the file, from 0.
    index: usize,
    value: Value,
}

impl Document<'_> {
    /// Who the document is and, when it is fine, the resource; `None` when it is no object of ours.
    fn load(self, problems: &mut Vec<Problem>) -> Option<(Culprit, Option<ManifestObject>)> {
        let string = |value: Option<&Value>| value.and_then(Value::as_str).map(str::to_owned);
        let (api_version, kind) = match self.value.as_mapping() {
            Some(map) => (string(map.get("apiVersion")), string(map.get("kind"))),
            None => (None, None),
        };
        let (Some(api_version), Some(kind)) = (api_version, kind) else {
            let (path, document) = (self.path.to_owned(), self.index + 1);
            problems.push(Problem::NotAnObject { path, document });
            return None;
        };
        let secret = (api_version == "v1" && kind == "Secret").then_some("Secret");
        let known = ManifestObject::KINDS
            .iter()
            .copied()
            .find(|k| *k == kind)
            .filter(|_| api_version == API_VERSION)
            .or(secret);
        let Some(kind) = known else {
            let (path, document) = (self.path.to_owned(), self.index + 1);
            problems.push(Problem::UnknownKind {
                path,
                document,
                api_version,
                kind,
            });
            return None;
        };
        let metadata = self.value.get("metadata");
        let culprit = Culprit {
            path: self.path.to_owned(),
            document: Some(self.index + 1),
            kind,
            namespace: string(metadata.and_then(|m| m.get("namespace")))
                .filter(|namespace| !namespace.is_empty())
                .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned()),
            name: string(metadata.and_then(|m| m.get("name"))).unwrap_or_default(),
        };
        let resource = self.admit(&culprit, problems);
        Some((culprit, resource))
    }

    /// Decodes the object, defaults its namespace and fields, and validates it.
    fn admit(mut self, culprit: &Culprit, problems: &mut Vec<Problem>) -> Option<ManifestObject> {
        let decoded = match culprit.kind {
            "KafkaGateway" => self.decode(ManifestObject::KafkaGateway),
            "InMemoryGateway" => self.decode(ManifestObject::InMemoryGateway),
            "Gateway" => self.decode(ManifestObject::Gateway),
            "Stream" => self.decode(ManifestObject::Stream),
            "Secret" => self.decode(ManifestObject::Secret),
            _ => self.decode(ManifestObject::Processor), // the last of ManifestObject::KINDS
        };
        let culprit = culprit.clone();
        let (mut resource, fields) = match decoded {
            Ok(decoded) => decoded,
            Err(source) => {
                problems.push(Problem::Decode { culprit, source });
                return None;
            }
        };
        if !fields.is_empty() {
            let culprit = culprit.clone();
            problems.push(Problem::UnknownFields { culprit, fields });
        }
        let metadata = resource.metadata_mut();
        if metadata.namespace.as_deref().unwrap_or_default().is_empty() {
            metadata.namespace = Some(DEFAULT_NAMESPACE.to_owned());
        }
        resource.apply_defaults();
        match resource.validate() {
            Ok(()) => Some(resource),
            Err(errors) => {
                problems.push(Problem::Invalid { culprit, errors });
                None
            }
        }
    }

    /// Deserializes the document as `T` (a missing `spec` reads as empty, so validation reports
    /// what is missing) and lists the fields `T` does not know.
    fn decode<T: DeserializeOwned + Serialize>(
        &mut self,
        wrap: fn(T) -> ManifestObject,
    ) -> Result<(ManifestObject, Vec<String>), serde_norway::Error> {
        let map = self
            .value
            .as_mapping_mut()
            .expect("checked to be a mapping");
        // A Secret has no spec.
        let has_spec = map.get("kind").and_then(Value::as_str) != Some("Secret");
        let typed: T = match map.get("spec") {
            None | Some(Value::Null) if has_spec => {
                map.insert("spec".into(), Value::Mapping(Mapping::new()));
                serde_norway::from_value(self.value.clone())?
            }
            // Re-read the text so that errors carry the field's path, line and column.
            _ => match serde_norway::Deserializer::from_str(self.text).nth(self.index) {
                Some(document) => T::deserialize(document)?,
                None => serde_norway::from_value(self.value.clone())?,
            },
        };
        let mut unknown = Vec::new();
        let known = serde_norway::to_value(&typed)?;
        collect_unknown_fields(&self.value, &known, "", &mut unknown);
        Ok((wrap(typed), unknown))
    }
}

#[cfg(test)]
mod tests {
    use super::super::load;
    use super::super::test_support::{processor_yaml, Dir, OUT_STREAM};

    #[test]
    fn a_missing_spec_reads_as_empty() {
        let dir = Dir::new(&[(
            "gateways.yaml",
            "apiVersion: streaming.projectriff.io/v1alpha1\nkind: InMemoryGateway\nmetadata: {name: franz}\n---\napiVersion: streaming.projectriff.io/v1alpha1\nkind: KafkaGateway\nmetadata: {name: k}\nspec:\n",
        )]);
        assert_eq!(
            dir.error(&["gateways.yaml"]),
            "dir/gateways.yaml: KafkaGateway default/k: spec.bootstrapServers: Required value"
        );
        let loaded = load(&[dir.path("gateways.yaml")]).unwrap_err();
        assert_eq!(loaded.problems.len(), 1);
    }

    #[test]
    fn malformed_yaml_names_file_line_and_column() {
        let dir = Dir::new(&[
            (
                "bad.yaml",
                &format!("{OUT_STREAM}---\nkind: Stream\nmetadata: {{name: [x}}\n"),
            ),
            (
                "good.yaml",
                &OUT_STREAM.replace("name: out}", "name: other}"),
            ),
        ]);
        assert_eq!(
            dir.error(&["bad.yaml", "good.yaml"]),
            "dir/bad.yaml: did not find expected ',' or ']' at line 7 column 20, while parsing a flow sequence at line 7 column 18"
        );
    }

    #[test]
    fn unknown_kinds_name_document_and_list_known_kinds() {
        let dir = Dir::new(&[(
            "x.yaml",
            &format!("{OUT_STREAM}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c}}\n---\napiVersion: streaming.projectriff.io/v1alpha1\nkind: PulsarGateway\n---\n[1, 2]\n"),
        )]);
        assert_eq!(
            dir.error(&["x.yaml"]),
            "dir/x.yaml: document 2: unknown kind \"ConfigMap\" of apiVersion \"v1\"; known kinds of streaming.projectriff.io/v1alpha1: Gateway, InMemoryGateway, KafkaGateway, Processor, Stream\n\
             dir/x.yaml: document 3: unknown kind \"PulsarGateway\" of apiVersion \"streaming.projectriff.io/v1alpha1\"; known kinds of streaming.projectriff.io/v1alpha1: Gateway, InMemoryGateway, KafkaGateway, Processor, Stream\n\
             dir/x.yaml: document 4: not a Kubernetes object (apiVersion and kind are required)"
        );
    }

    #[test]
    fn invalid_fields_name_file_kind_and_object() {
        let dir = Dir::new(&[
            ("bad.yaml", &processor_yaml("  template: {spec: {containers: [{image: f}]}}\n")),
            (
                "gateways.yaml",
                "apiVersion: streaming.projectriff.io/v1alpha1\nkind: KafkaGateway\nmetadata: {name: k, namespace: dev}\n---\napiVersion: streaming.projectriff.io/v1alpha1\nkind: Stream\nmetadata: {}\nspec: {gateway: {name: k}}\n",
            ),
        ]);
        assert_eq!(
            dir.error(&["bad.yaml", "gateways.yaml"]),
            "dir/bad.yaml: Processor default/p: spec.inputs: Required value\n\
             dir/gateways.yaml: KafkaGateway dev/k: spec.bootstrapServers: Required value\n\
             dir/gateways.yaml: document 2: Stream: metadata.name: Required value"
        );
    }

    #[test]
    fn type_errors_name_the_field_and_position() {
        let dir = Dir::new(&[(
            "s.yaml",
            "apiVersion: streaming.projectriff.io/v1alpha1\nkind: Stream\nmetadata: {name: s}\nspec:\n  gateway: {name: franz}\n  partitions: many\n",
        )]);
        assert_eq!(
            dir.error(&["s.yaml"]),
            "dir/s.yaml: Stream default/s: spec.partitions: invalid type: string \"many\", expected u32 at line 6 column 15"
        );
    }

    #[test]
    fn all_problems_of_all_documents_are_reported() {
        let dir = Dir::new(&[(
            "p.yaml",
            &format!(
                "{}  typo: 1\n---\n{}",
                processor_yaml("  inputs: [{stream: in, startOffset: middle}, {stream: in}]\n  template: {spec: {containers: [{image: f}]}}\n"),
                "apiVersion: streaming.projectriff.io/v1alpha1\nkind: Stream\nmetadata: {name: in}\n"
            ),
        )]);
        assert_eq!(
            dir.error(&["p.yaml"]),
            "dir/p.yaml: Processor default/p: unknown field \"spec.typo\"\n\
             dir/p.yaml: Processor default/p: [spec.inputs[0].startOffset: Invalid value: \"middle\": must be one of earliest, latest, spec.inputs[0].alias: Duplicate value: \"in\", spec.inputs[1].alias: Duplicate value: \"in\"]\n\
             dir/p.yaml: Stream default/in: spec.gateway: Required value"
        );
    }
}
