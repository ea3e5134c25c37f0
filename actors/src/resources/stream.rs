//! `Stream`: a typed, partitioned topic of a gateway (docs/riff-compatibility.md §1.6).

use k8s_openapi::api::core::v1::LocalObjectReference;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::condition::CommonStatus;
use super::crds::{NonEmpty, Required};
use super::field_error::{FieldError, FieldErrors};
use super::metadata::validate_metadata;
use super::Admission;
use crate::broker::MAX_PARTITIONS;

/// The content type of a stream that does not say.
pub const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";

/// The desired state of a [`Stream`].
// The printer columns repeat `type_ = "string"`, which this lint mistakes for a duplicate.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "streaming.projectriff.io",
    version = "v1alpha1",
    kind = "Stream",
    namespaced,
    status = "StreamStatus",
    category = "riff",
    derive = "PartialEq",
    doc = "A stream of messages of one content type, provisioned through a gateway.",
    printcolumn(name = "Gateway", type_ = "string", json_path = ".spec.gateway.name"),
    printcolumn(
        name = "Content Type",
        type_ = "string",
        json_path = ".spec.contentType"
    )
)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = Required(&["gateway"]))]
pub struct StreamSpec {
    /// The gateway (by the name of its `Gateway`, which a concrete gateway names after itself).
    #[serde(default)]
    #[schemars(transform = NonEmpty("name"))]
    pub gateway: LocalObjectReference,
    /// The content type of every message; defaults to `application/octet-stream`.
    #[serde(default)]
    pub content_type: String,
    /// Our extension: the number of partitions of the topic (riff: always 1).
    #[serde(default = "one")]
    #[schemars(range(min = 1, max = MAX_PARTITIONS))]
    pub partitions: u32,
}

fn one() -> u32 {
    1
}

impl Default for StreamSpec {
    /// No gateway, no content type yet, one partition.
    fn default() -> Self {
        StreamSpec {
            gateway: LocalObjectReference::default(),
            content_type: String::new(),
            partitions: one(),
        }
    }
}

/// The observed state of a [`Stream`]; conditions `Ready`, `ResourceAvailable`, `BindingReady`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StreamStatus {
    /// Observed generation and conditions.
    #[serde(flatten)]
    pub common: CommonStatus,
    /// Where processors find the stream's coordinates.
    #[serde(default)]
    pub binding: StreamBinding,
}

/// The ConfigMap and Secret that bind a stream (`<s>-stream-binding-metadata` / `-secret`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StreamBinding {
    /// The ConfigMap with kind, provider, tags, stream and contentType.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata_ref: Option<LocalObjectReference>,
    /// The Secret with the gateway address and topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
}

impl Admission for Stream {
    /// An empty `contentType` becomes `application/octet-stream`.
    fn apply_defaults(&mut self) {
        if self.spec.content_type.is_empty() {
            self.spec.content_type = DEFAULT_CONTENT_TYPE.to_owned();
        }
    }

    /// `spec.gateway` is required and `spec.partitions` from 1 to [`MAX_PARTITIONS`].
    fn validate(&self) -> Result<(), FieldErrors> {
        let mut errors = validate_metadata(&self.metadata);
        if self.spec.gateway.name.is_empty() {
            errors.push(FieldError::required("spec.gateway", ""));
        }
        if self.spec.partitions == 0 {
            errors.push(FieldError::invalid(
                "spec.partitions",
                0u64,
                "must be at least 1",
            ));
        }
        if self.spec.partitions > MAX_PARTITIONS {
            errors.push(FieldError::invalid(
                "spec.partitions",
                u64::from(self.spec.partitions),
                &format!("must be at most {MAX_PARTITIONS}"),
            ));
        }
        errors.into_result()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(yaml: &str) -> Stream {
        let mut stream: Stream = serde_norway::from_str(yaml).unwrap();
        stream.apply_defaults();
        stream
    }

    // Behaviour 1 of docs/riff-compatibility.md.
    #[test]
    fn content_type_defaults_to_octet_stream() {
        let s = stream("metadata: {name: in}\nspec: {gateway: {name: franz}}");
        assert_eq!(s.spec.content_type, "application/octet-stream");
        let s = stream("metadata: {name: in}\nspec: {gateway: {name: franz}, contentType: ''}");
        assert_eq!(s.spec.content_type, "application/octet-stream");
        let s =
            stream("metadata: {name: in}\nspec: {gateway: {name: franz}, contentType: text/csv}");
        assert_eq!(s.spec.content_type, "text/csv");
        assert_eq!(s.validate(), Ok(()));
    }

    // Behaviour 2 of docs/riff-compatibility.md.
    #[test]
    fn gateway_is_required() {
        let s = stream("metadata: {name: in}\nspec: {contentType: application/json}");
        assert_eq!(
            s.validate().unwrap_err().to_string(),
            "spec.gateway: Required value"
        );
        let s = stream("metadata: {name: in}\nspec: {gateway: {}}");
        assert_eq!(
            s.validate().unwrap_err().to_string(),
            "spec.gateway: Required value"
        );
    }

    #[test]
    fn partitions_default_to_one_and_must_be_positive() {
        let s = stream("metadata: {name: in}\nspec: {gateway: {name: franz}}");
        assert_eq!(s.spec.partitions, 1);
        assert_eq!(StreamSpec::default().partitions, 1);
        let s = stream("metadata: {name: in}\nspec: {gateway: {name: franz}, partitions: 8}");
        assert_eq!(s.spec.partitions, 8);
        let s = stream("metadata: {name: in}\nspec: {gateway: {name: franz}, partitions: 0}");
        assert_eq!(
            s.validate().unwrap_err().to_string(),
            "spec.partitions: Invalid value: 0: must be at least 1"
        );
        let s =
            stream("metadata: {name: in}\nspec: {gateway: {name: franz}, partitions: 4000000000}");
        assert_eq!(
            s.validate().unwrap_err().to_string(),
            "spec.partitions: Invalid value: 4000000000: must be at most 4096"
        );
    }

    // Behaviour 11 of docs/riff-compatibility.md: validation is a pure function of the object, so an update is checked like a create.
    #[test]
    fn updates_are_validated_like_creates() {
        let mut s = stream("metadata: {name: in}\nspec: {gateway: {name: franz}}");
        assert_eq!(s.validate(), Ok(()));
        s.spec.gateway.name.clear();
        assert_eq!(
            s.validate().unwrap_err().to_string(),
            "spec.gateway: Required value"
        );
    }

    #[test]
    fn status_round_trips_binding_refs() {
        let s: Stream = serde_norway::from_str(
            "metadata: {name: in}\nspec: {gateway: {name: franz}}\nstatus:\n  observedGeneration: 1\n  binding:\n    metadataRef: {name: in-stream-binding-metadata}\n    secretRef: {name: in-stream-binding-secret}\n",
        )
        .unwrap();
        let status = s.status.as_ref().unwrap();
        assert_eq!(status.common.observed_generation, Some(1));
        assert_eq!(
            status.binding.secret_ref.as_ref().unwrap().name,
            "in-stream-binding-secret"
        );
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(
            json["status"]["binding"]["metadataRef"]["name"],
            "in-stream-binding-metadata"
        );
        assert_eq!(json["spec"]["partitions"], 1);
    }

    #[test]
    fn crd_prints_gateway_and_content_type() {
        let crd = crate::resources::crds::of::<Stream>();
        let columns: Vec<_> = crd.spec.versions[0]
            .additional_printer_columns
            .iter()
            .flatten()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(
            columns,
            ["Gateway", "Content Type", "Ready", "Reason", "Age"]
        );
        let schema = serde_json::to_value(&crd.spec.versions[0].schema).unwrap();
        let partitions =
            &schema["openAPIV3Schema"]["properties"]["spec"]["properties"]["partitions"];
        assert_eq!(partitions["default"], 1);
        assert_eq!(partitions["minimum"].as_f64(), Some(1.0));
        assert_eq!(partitions["maximum"].as_f64(), Some(4096.0));
    }
}
