//! The CustomResourceDefinitions of every kind, generated from the Rust types and shipped as
//! `deploy/crds.yaml` (kept up to date by the `crds` test), plus the schema transforms the types
//! use for validation that serde attributes alone cannot express.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceColumnDefinition, CustomResourceDefinition,
};
use kube::CustomResourceExt;
use schemars::transform::Transform;
use schemars::Schema;

use super::condition_type::READY;
use super::{Gateway, InMemoryGateway, KafkaGateway, Processor, Stream};

/// The CRD of every kind, sorted by kind.
pub fn all() -> Vec<CustomResourceDefinition> {
    vec![
        of::<Gateway>(),
        of::<InMemoryGateway>(),
        of::<KafkaGateway>(),
        of::<Processor>(),
        of::<Stream>(),
    ]
}

/// The CRD of kind `K`: its own columns, then those of every kind.
pub fn of<K: CustomResourceExt>() -> CustomResourceDefinition {
    with_status_columns(K::crd())
}

/// `crd` with the columns every kind shows last, as riff's did: its Ready condition's status
/// and reason, and its age.
fn with_status_columns(mut crd: CustomResourceDefinition) -> CustomResourceDefinition {
    let column = |name: &str, type_: &str, json_path: String| CustomResourceColumnDefinition {
        name: name.to_owned(),
        type_: type_.to_owned(),
        json_path,
        ..CustomResourceColumnDefinition::default()
    };
    let ready = |field: &str| format!(".status.conditions[?(@.type==\"{READY}\")].{field}");
    for version in &mut crd.spec.versions {
        version
            .additional_printer_columns
            .get_or_insert_with(Vec::new)
            .extend([
                column("Ready", "string", ready("status")),
                column("Reason", "string", ready("reason")),
                column("Age", "date", ".metadata.creationTimestamp".to_owned()),
            ]);
    }
    crd
}

/// [`all`] as one multi-document YAML file, the content of `deploy/crds.yaml`.
pub fn to_yaml() -> String {
    let mut yaml = String::from(
        "# Generated from the Rust types in actors/src/resources; do not edit.\n\
         # Regenerate with: RIFF_BLESS=1 cargo test -p riff-actors --test crds\n",
    );
    for crd in all() {
        yaml.push_str("---\n");
        yaml.push_str(&serde_norway::to_string(&crd).expect("a CRD serializes to YAML"));
    }
    yaml
}

/// Schema transform marking properties required although serde lets them default (schemars makes
/// every `#[serde(default)]` field optional). Their schema defaults go too: the API server would
/// fill them in before checking, and reject the CRD when a default fails the property's own rules.
pub(super) struct Required(pub &'static [&'static str]);

impl Transform for Required {
    fn transform(&mut self, schema: &mut Schema) {
        let object = schema.ensure_object();
        if let Some(properties) = object.get_mut("properties").and_then(|p| p.as_object_mut()) {
            for name in self.0 {
                if let Some(property) = properties.get_mut(*name).and_then(|p| p.as_object_mut()) {
                    property.remove("default");
                }
            }
        }
        let required = object
            .entry("required")
            .or_insert_with(|| serde_json::Value::Array(Vec::new()));
        if let Some(required) = required.as_array_mut() {
            for name in self.0 {
                if !required.iter().any(|r| r == name) {
                    required.push((*name).into());
                }
            }
        }
    }
}

/// Schema transform for a field of a type we do not own (`LocalObjectReference`): its string
/// property `.0` must not be empty (`minLength: 1`).
pub(super) struct NonEmpty(pub &'static str);

impl Transform for NonEmpty {
    fn transform(&mut self, schema: &mut Schema) {
        if let Some(property) = schema
            .get_mut("properties")
            .and_then(|p| p.get_mut(self.0))
            .and_then(|p| p.as_object_mut())
        {
            property.insert("minLength".into(), 1.into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[test]
    fn yaml_has_one_document_per_kind_in_order() {
        let yaml = to_yaml();
        let kinds: Vec<String> = serde_norway::Deserializer::from_str(&yaml)
            .map(|doc| {
                let crd = CustomResourceDefinition::deserialize(doc).unwrap();
                crd.spec.names.kind
            })
            .collect();
        assert_eq!(kinds, super::super::ManifestObject::KINDS);
    }

    fn spec_schema(kind: &str) -> serde_json::Value {
        let crd = all()
            .into_iter()
            .find(|c| c.spec.names.kind == kind)
            .unwrap();
        let schema = serde_json::to_value(&crd.spec.versions[0].schema).unwrap();
        schema["openAPIV3Schema"]["properties"]["spec"].clone()
    }

    #[test]
    fn schemas_carry_the_validation() {
        let stream = spec_schema("Stream");
        assert_eq!(stream["required"], serde_json::json!(["gateway"]));
        assert_eq!(
            stream["properties"]["gateway"]["default"],
            serde_json::Value::Null
        );
        assert_eq!(
            stream["properties"]["gateway"]["properties"]["name"]["minLength"],
            1
        );
        let kafka = spec_schema("KafkaGateway");
        assert_eq!(kafka["required"], serde_json::json!(["bootstrapServers"]));
        assert_eq!(kafka["properties"]["bootstrapServers"]["minLength"], 1);
        let processor = spec_schema("Processor");
        assert_eq!(processor["required"], serde_json::json!(["inputs"]));
        let inputs = &processor["properties"]["inputs"];
        assert_eq!(inputs["minItems"], 1);
        assert_eq!(inputs["default"], serde_json::Value::Null);
        assert_eq!(inputs["items"]["required"], serde_json::json!(["stream"]));
        assert_eq!(
            inputs["items"]["properties"]["startOffset"]["enum"],
            serde_json::json!(["", "earliest", "latest"])
        );
        let rules = |schema: &serde_json::Value| schema["x-kubernetes-validations"].clone();
        assert!(rules(&processor).is_array());
        assert!(rules(inputs).is_array());
        assert!(rules(&processor["properties"]["outputs"]).is_array());
        assert!(rules(&processor["properties"]["build"]).is_array());
        let window = &processor["properties"]["window"]["properties"];
        assert_eq!(window["count"]["minimum"].as_f64(), Some(1.0));
        assert!(window["duration"]["pattern"].is_string());
        assert!(rules(&spec_schema("Gateway")).is_array());
    }
}
