//! `Processor`: a function bound to input and output streams (docs/riff-compatibility.md §1.7).

use std::collections::HashSet;

use k8s_openapi::api::core::v1::{Container, PodSpec, PodTemplateSpec, TypedLocalObjectReference};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::condition::CommonStatus;
use super::crds::Required;
use super::delivery::{DeliveryPolicy, ResolvedDelivery};
use super::field_error::{FieldError, FieldErrors};
use super::metadata::validate_metadata;
use super::window::{ResolvedWindow, Window};
use super::Admission;

/// The name container 0 of a processor's template must have.
pub const FUNCTION_CONTAINER: &str = "function";

/// The desired state of a [`Processor`].
// The printer columns repeat `type_ = "string"`, which this lint mistakes for a duplicate.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "streaming.projectriff.io",
    version = "v1alpha1",
    kind = "Processor",
    namespaced,
    status = "ProcessorStatus",
    category = "riff",
    derive = "PartialEq",
    doc = "A function invoked once per window over messages of its input streams, writing to its output streams."
)]
#[serde(rename_all = "camelCase")]
#[schemars(
    transform = Required(&["inputs"]),
    extend("x-kubernetes-validations" = [{
        "rule": "has(self.build) != (has(self.template) && has(self.template.spec) \
            && size(self.template.spec.containers) > 0 \
            && has(self.template.spec.containers[0].image) \
            && self.template.spec.containers[0].image != '')",
        "message": "exactly one of build and template.spec.containers[0].image must be set",
    }])
)]
pub struct ProcessorSpec {
    /// Where the function image comes from, instead of `template.spec.containers[0].image`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<Build>,
    /// The streams read, at least one. (At most 100, which bounds the cost of the CEL rule.)
    #[serde(default)]
    #[schemars(
        length(min = 1, max = 100),
        extend("x-kubernetes-validations" = [{
            "rule": UNIQUE_ALIASES,
            "message": "aliases (defaulting to the stream name) must be unique among inputs",
        }])
    )]
    pub inputs: Vec<InputStreamBinding>,
    /// The streams written. (At most 100, which bounds the cost of the CEL rule.)
    #[serde(default)]
    #[schemars(
        length(max = 100),
        extend("x-kubernetes-validations" = [{
            "rule": UNIQUE_ALIASES,
            "message": "aliases (defaulting to the stream name) must be unique among outputs",
        }])
    )]
    pub outputs: Vec<OutputStreamBinding>,
    /// The pod: `serviceAccountName`, `volumes` and container 0 (`function`) only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-validations" = [
        {
            "rule": "!has(self.spec) || size(self.spec.containers) <= 1",
            "message": "only one container, the function, may be set",
        },
        {
            "rule": "!has(self.spec) || size(self.spec.containers) == 0 \
                || self.spec.containers[0].name in ['', 'function']",
            "message": "containers[0].name must be function (or empty, which means function)",
        },
    ]))]
    pub template: Option<PodTemplateSpec>,
    /// Our extension: when a window closes; riff's 60 s when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Window>,
    /// Our extension: retries, call timeout and dead letters; retried until it succeeds when
    /// absent (riff dropped a failed window instead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<DeliveryPolicy>,
}

/// Where a processor's function image comes from; exactly one reference is set.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "(has(self.containerRef) && self.containerRef != '') \
        != (has(self.functionRef) && self.functionRef != '')",
    "message": "exactly one of containerRef and functionRef must be set",
}]))]
pub struct Build {
    /// Name of a riff `Container` resource.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub container_ref: String,
    /// Name of a riff `Function` resource.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub function_ref: String,
}

/// One input of a processor.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = Required(&["stream"]))]
pub struct InputStreamBinding {
    /// The Stream's name.
    #[serde(default)]
    #[schemars(length(min = 1, max = 253))]
    pub stream: String,
    /// The function's name for the input; defaults to the stream name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(length(max = 253))]
    pub alias: String,
    /// `earliest` or `latest` (the default): where a new consumer group starts.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(extend("enum" = ["", "earliest", "latest"]))]
    pub start_offset: String,
}

/// One output of a processor.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = Required(&["stream"]))]
pub struct OutputStreamBinding {
    /// The Stream's name.
    #[serde(default)]
    #[schemars(length(min = 1, max = 253))]
    pub stream: String,
    /// The function's name for the output; defaults to the stream name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(length(max = 253))]
    pub alias: String,
}

/// The CEL rule of `inputs` and `outputs`: every binding's alias, defaulting to its stream name, is
/// used once. Quadratic, hence the bounds on the lists and names.
const UNIQUE_ALIASES: &str = "self.all(x, self.exists_one(y, \
    (has(y.alias) && y.alias != '' ? y.alias : y.stream) \
    == (has(x.alias) && x.alias != '' ? x.alias : x.stream)))";

/// Where an input starts reading when its consumer group has no committed position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartOffset {
    /// From the oldest retained message.
    Earliest,
    /// Only messages published from now on.
    Latest,
}

impl StartOffset {
    /// Parses `earliest` or `latest`.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "earliest" => Some(StartOffset::Earliest),
            "latest" => Some(StartOffset::Latest),
            _ => None,
        }
    }

    /// `earliest` or `latest`.
    pub fn as_str(self) -> &'static str {
        match self {
            StartOffset::Earliest => "earliest",
            StartOffset::Latest => "latest",
        }
    }
}

/// The observed state of a [`Processor`]; conditions `Ready`, `StreamsReady`, `DeploymentReady`,
/// `ScaledObjectReady`, `DeliveryReady`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProcessorStatus {
    /// Observed generation and conditions.
    #[serde(flatten)]
    pub common: CommonStatus,
    /// The processor Deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_ref: Option<TypedLocalObjectReference>,
    /// The KEDA ScaledObject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaled_object_ref: Option<TypedLocalObjectReference>,
    /// The function image resolved from `build`, or the template's image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_image: Option<String>,
}

impl ProcessorSpec {
    /// The checked window (riff's 60 s when `window` is absent or empty); error paths start at
    /// `spec.window`.
    pub fn resolved_window(&self) -> Result<ResolvedWindow, FieldErrors> {
        match &self.window {
            None => Ok(ResolvedWindow::default()),
            Some(window) => window.resolve().map_err(|e| e.via_field("spec.window")),
        }
    }

    /// The checked delivery policy (retry until success when `delivery` is absent); error
    /// paths start at `spec.delivery`.
    pub fn resolved_delivery(&self) -> Result<ResolvedDelivery, FieldErrors> {
        match &self.delivery {
            None => Ok(ResolvedDelivery::default()),
            Some(delivery) => delivery.resolve().map_err(|e| e.via_field("spec.delivery")),
        }
    }

    /// The streams the processor names: inputs, outputs, then its dead-letter stream.
    pub fn stream_names(&self) -> impl Iterator<Item = &str> {
        let dead_letter = self.delivery.as_ref().and_then(|d| d.dead_letter.as_ref());
        (self.inputs.iter().map(|i| i.stream.as_str()))
            .chain(self.outputs.iter().map(|o| o.stream.as_str()))
            .chain(dead_letter.map(|d| d.stream.as_str()))
    }

    /// Container 0 of the template, the function, if there is one.
    pub fn function_container(&self) -> Option<&Container> {
        self.template.as_ref()?.spec.as_ref()?.containers.first()
    }

    fn validate(&self) -> FieldErrors {
        let mut errors = FieldErrors::new();
        let function = self.function_container();
        if let Some(pod) = self.template.as_ref().and_then(|t| t.spec.as_ref()) {
            errors.append(validate_pod_spec(pod));
        }
        if let Some(function) = function.filter(|c| c.name != FUNCTION_CONTAINER) {
            let path = "template.spec.containers[0].name";
            errors.push(FieldError::invalid(
                path,
                function.name.as_str(),
                "must be function",
            ));
        }
        let image = function
            .and_then(|c| c.image.as_deref())
            .unwrap_or_default();
        let image_or_build = ["build", "template.spec.containers[0].image"];
        match (&self.build, image.is_empty()) {
            (None, true) => errors.push(FieldError::missing_one_of(&image_or_build)),
            (Some(_), false) => errors.push(FieldError::multiple_one_of(&image_or_build)),
            (Some(build), true) => errors.append(build.validate().via_field("build")),
            (None, false) => {}
        }
        if self.inputs.is_empty() {
            errors.push(FieldError::required("inputs", ""));
        }
        for (i, input) in self.inputs.iter().enumerate() {
            let path = format!("inputs[{i}]");
            errors.append(validate_binding(&path, &input.stream, &input.alias));
            let offset = input.start_offset.as_str();
            if !offset.is_empty() && StartOffset::parse(offset).is_none() {
                let detail = "must be one of earliest, latest";
                errors.push(FieldError::invalid(
                    &format!("{path}.startOffset"),
                    offset,
                    detail,
                ));
            }
        }
        for (i, output) in self.outputs.iter().enumerate() {
            let path = format!("outputs[{i}]");
            errors.append(validate_binding(&path, &output.stream, &output.alias));
        }
        errors.append(unique_aliases(
            "inputs",
            self.inputs.iter().map(|b| b.alias.as_str()),
        ));
        errors.append(unique_aliases(
            "outputs",
            self.outputs.iter().map(|b| b.alias.as_str()),
        ));
        if let Some(Err(window)) = self.window.as_ref().map(Window::resolve) {
            errors.append(window.via_field("window"));
        }
        if let Some(Err(delivery)) = self.delivery.as_ref().map(DeliveryPolicy::resolve) {
            errors.append(delivery.via_field("delivery"));
        }
        errors
    }
}

impl Build {
    fn validate(&self) -> FieldErrors {
        let refs = [
            ("containerRef", &self.container_ref),
            ("functionRef", &self.function_ref),
        ];
        let set: Vec<&str> = refs
            .iter()
            .filter(|r| !r.1.is_empty())
            .map(|r| r.0)
            .collect();
        match set.len() {
            0 => FieldError::missing_one_of(&refs.map(|r| r.0)).into(),
            1 => FieldErrors::new(),
            _ => FieldError::multiple_one_of(&set).into(),
        }
    }
}

/// Only `serviceAccountName`, `containers[0]` and `volumes` may be set.
fn validate_pod_spec(pod: &PodSpec) -> FieldErrors {
    let allowed = PodSpec {
        service_account_name: pod.service_account_name.clone(),
        containers: pod.containers.iter().take(1).cloned().collect(),
        volumes: pod.volumes.clone(),
        ..PodSpec::default()
    };
    if &allowed == pod {
        return FieldErrors::new();
    }
    let mut extra: Vec<String> = (1..pod.containers.len())
        .map(|i| format!("containers[{i}]"))
        .collect();
    if let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(pod) {
        let allowed = ["serviceAccountName", "containers", "volumes"];
        extra.extend(
            fields
                .keys()
                .filter(|k| !allowed.contains(&k.as_str()))
                .cloned(),
        );
    }
    let detail = format!(
        "limited PodSpec fields may be set (serviceAccountName, containers[0], volumes), got: {}",
        extra.join(", ")
    );
    FieldError::forbidden("template.spec", &detail).into()
}

fn validate_binding(path: &str, stream: &str, alias: &str) -> FieldErrors {
    let mut errors = FieldErrors::new();
    if stream.is_empty() {
        errors.push(FieldError::required(&format!("{path}.stream"), ""));
    }
    if alias.is_empty() {
        errors.push(FieldError::required(&format!("{path}.alias"), ""));
    }
    errors
}

/// riff main's rule: aliases are unique within one direction; one `Duplicate value` per use,
/// alias by alias.
fn unique_aliases<'a>(direction: &str, aliases: impl Iterator<Item = &'a str>) -> FieldErrors {
    let aliases: Vec<&str> = aliases.collect();
    let mut checked = HashSet::new();
    let mut errors = FieldErrors::new();
    for &alias in &aliases {
        if alias.is_empty() || !checked.insert(alias) {
            continue;
        }
        let uses: Vec<usize> = (0..aliases.len())
            .filter(|&i| aliases[i] == alias)
            .collect();
        if uses.len() > 1 {
            for i in uses {
                let path = format!("{direction}[{i}].alias");
                errors.push(FieldError::duplicate(&path, alias));
            }
        }
    }
    errors
}

impl Admission for Processor {
    /// riff's defaults: aliases default to the stream name, `startOffset` to `latest`; the
    /// template exists with label and annotation maps, volumes and a container 0 named `function`.
    fn apply_defaults(&mut self) {
        let spec = &mut self.spec;
        for input in &mut spec.inputs {
            if input.alias.is_empty() {
                input.alias = input.stream.clone();
            }
            if input.start_offset.is_empty() {
                input.start_offset = StartOffset::Latest.as_str().to_owned();
            }
        }
        for output in &mut spec.outputs {
            if output.alias.is_empty() {
                output.alias = output.stream.clone();
            }
        }
        let template = spec.template.get_or_insert_with(PodTemplateSpec::default);
        let metadata = template.metadata.get_or_insert_with(Default::default);
        metadata.annotations.get_or_insert_with(Default::default);
        metadata.labels.get_or_insert_with(Default::default);
        let pod = template.spec.get_or_insert_with(PodSpec::default);
        if pod.containers.is_empty() {
            pod.containers.push(Container::default());
        }
        if pod.containers[0].name.is_empty() {
            pod.containers[0].name = FUNCTION_CONTAINER.to_owned();
        }
        pod.volumes.get_or_insert_with(Vec::new);
    }

    /// docs/riff-compatibility.md §1.7, with aliases unique per direction, plus our window's bounds.
    fn validate(&self) -> Result<(), FieldErrors> {
        let mut errors = validate_metadata(&self.metadata);
        errors.append(self.spec.validate().via_field("spec"));
        errors.into_result()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::Shape;
    use std::time::Duration;

    /// A processor as loaded: parsed, then defaulted.
    fn processor(spec: &str) -> Processor {
        let yaml = format!("metadata: {{name: p}}\nspec:\n{spec}");
        let mut processor: Processor = serde_norway::from_str(&yaml).unwrap();
        processor.apply_defaults();
        processor
    }

    fn errors(spec: &str) -> String {
        processor(spec).validate().unwrap_err().to_string()
    }

    const IMAGE: &str = "  template: {spec: {containers: [{image: ghcr.io/example/f}]}}\n";

    #[test]
    fn minimal_processor_is_valid() {
        let p = processor(&format!("  inputs: [{{stream: in}}]\n{IMAGE}"));
        assert_eq!(p.validate(), Ok(()));
    }

    #[test]
    fn defaults_fill_template_bindings_and_offsets() {
        let mut p = Processor::new("p", ProcessorSpec::default());
        p.apply_defaults();
        let template = p.spec.template.as_ref().unwrap();
        let metadata = template.metadata.as_ref().unwrap();
        assert_eq!(metadata.annotations, Some(Default::default()));
        assert_eq!(metadata.labels, Some(Default::default()));
        let pod = template.spec.as_ref().unwrap();
        assert_eq!(pod.containers.len(), 1);
        assert_eq!(pod.containers[0].name, "function");
        assert_eq!(pod.volumes, Some(vec![]));
        assert!(p.spec.inputs.is_empty() && p.spec.outputs.is_empty());
        // Defaulting is idempotent.
        let once = p.clone();
        p.apply_defaults();
        assert_eq!(p, once);
    }

    // Behaviour 4 of docs/riff-compatibility.md.
    #[test]
    fn inputs_are_required() {
        assert_eq!(errors(IMAGE), "spec.inputs: Required value");
        assert_eq!(
            errors(&format!("  inputs: []\n{IMAGE}")),
            "spec.inputs: Required value"
        );
    }

    // Behaviour 5 of docs/riff-compatibility.md.
    #[test]
    fn start_offset_is_earliest_or_latest_defaulting_to_latest() {
        assert_eq!(
            errors(&format!(
                "  inputs: [{{stream: in, startOffset: middle}}]\n{IMAGE}"
            )),
            r#"spec.inputs[0].startOffset: Invalid value: "middle": must be one of earliest, latest"#
        );
        let p = processor(&format!(
            "  inputs: [{{stream: a}}, {{stream: b, startOffset: earliest}}]\n{IMAGE}"
        ));
        assert_eq!(p.spec.inputs[0].start_offset, "latest");
        assert_eq!(p.spec.inputs[1].start_offset, "earliest");
        assert_eq!(
            StartOffset::parse(&p.spec.inputs[1].start_offset),
            Some(StartOffset::Earliest)
        );
        assert_eq!(StartOffset::parse("middle"), None);
        assert_eq!(p.validate(), Ok(()));
    }

    // Behaviour 6 of docs/riff-compatibility.md.
    #[test]
    fn aliases_default_to_stream_names() {
        let p = processor(&format!(
            "  inputs: [{{stream: in}}, {{stream: in2, alias: second}}]\n  outputs: [{{stream: out}}]\n{IMAGE}"
        ));
        assert_eq!(p.spec.inputs[0].alias, "in");
        assert_eq!(p.spec.inputs[1].alias, "second");
        assert_eq!(p.spec.outputs[0].alias, "out");
    }

    #[test]
    fn bindings_need_a_stream() {
        assert_eq!(
            errors(&format!("  inputs: [{{alias: a}}]\n  outputs: [{{}}]\n{IMAGE}")),
            "[spec.inputs[0].stream: Required value, spec.outputs[0].stream: Required value, spec.outputs[0].alias: Required value]"
        );
    }

    // Behaviour 7 of docs/riff-compatibility.md.
    #[test]
    fn exactly_one_of_build_and_image() {
        assert_eq!(
            errors("  inputs: [{stream: in}]\n"),
            "spec[build, template.spec.containers[0].image]: Required value: expected exactly one, got neither"
        );
        assert_eq!(
            errors(&format!("  inputs: [{{stream: in}}]\n  build: {{functionRef: f}}\n{IMAGE}")),
            "spec[build, template.spec.containers[0].image]: Required value: expected exactly one, got both"
        );
        let p = processor("  inputs: [{stream: in}]\n  build: {functionRef: f}\n");
        assert_eq!(p.validate(), Ok(()));
        let p = processor("  inputs: [{stream: in}]\n  build: {containerRef: c}\n");
        assert_eq!(p.validate(), Ok(()));
        assert_eq!(
            errors("  inputs: [{stream: in}]\n  build: {containerRef: c, functionRef: f}\n"),
            "spec.build[containerRef, functionRef]: Required value: expected exactly one, got both"
        );
        assert_eq!(
            errors("  inputs: [{stream: in}]\n  build: {}\n"),
            "spec.build[containerRef, functionRef]: Required value: expected exactly one, got neither"
        );
    }

    // Behaviour 8 of docs/riff-compatibility.md.
    #[test]
    fn only_limited_pod_spec_fields() {
        let two = "  inputs: [{stream: in}]\n  template: {spec: {containers: [{image: f}, {name: sidecar}]}}\n";
        assert_eq!(
            errors(two),
            "spec.template.spec: Forbidden: limited PodSpec fields may be set (serviceAccountName, containers[0], volumes), got: containers[1]"
        );
        let node_selector = "  inputs: [{stream: in}]\n  template: {spec: {nodeSelector: {disk: ssd}, containers: [{image: f}]}}\n";
        assert_eq!(
            errors(node_selector),
            "spec.template.spec: Forbidden: limited PodSpec fields may be set (serviceAccountName, containers[0], volumes), got: nodeSelector"
        );
        let allowed = "  inputs: [{stream: in}]\n  template:\n    metadata: {labels: {team: a}}\n    spec:\n      serviceAccountName: fn\n      volumes: [{name: data, emptyDir: {}}]\n      containers: [{image: f, env: [{name: A, value: b}], volumeMounts: [{name: data, mountPath: /data}]}]\n";
        assert_eq!(processor(allowed).validate(), Ok(()));
    }

    // Behaviour 9 of docs/riff-compatibility.md.
    #[test]
    fn container_zero_is_the_function() {
        let p = processor(&format!("  inputs: [{{stream: in}}]\n{IMAGE}"));
        assert_eq!(p.spec.function_container().unwrap().name, "function");
        assert_eq!(
            errors("  inputs: [{stream: in}]\n  template: {spec: {containers: [{name: fn, image: f}]}}\n"),
            r#"spec.template.spec.containers[0].name: Invalid value: "fn": must be function"#
        );
    }

    // Behaviour 10 of docs/riff-compatibility.md, riff main's mode.
    #[test]
    fn aliases_are_unique_per_direction() {
        let same_both_ways = format!(
            "  inputs: [{{stream: a, alias: x}}]\n  outputs: [{{stream: b, alias: x}}]\n{IMAGE}"
        );
        assert_eq!(processor(&same_both_ways).validate(), Ok(()));
        assert_eq!(
            errors(&format!(
                "  inputs: [{{stream: a, alias: x}}, {{stream: b}}, {{stream: c, alias: x}}]\n{IMAGE}"
            )),
            r#"[spec.inputs[0].alias: Duplicate value: "x", spec.inputs[2].alias: Duplicate value: "x"]"#
        );
        assert_eq!(
            errors(&format!(
                "  inputs: [{{stream: in}}]\n  outputs: [{{stream: a, alias: out}}, {{stream: out}}]\n{IMAGE}"
            )),
            r#"[spec.outputs[0].alias: Duplicate value: "out", spec.outputs[1].alias: Duplicate value: "out"]"#
        );
        // Errors are grouped alias by alias, like riff's.
        let interleaved = format!(
            "  inputs: [{{stream: x}}, {{stream: y}}, {{stream: x}}, {{stream: y}}]\n{IMAGE}"
        );
        assert_eq!(
            errors(&interleaved),
            r#"[spec.inputs[0].alias: Duplicate value: "x", spec.inputs[2].alias: Duplicate value: "x", spec.inputs[1].alias: Duplicate value: "y", spec.inputs[3].alias: Duplicate value: "y"]"#
        );
    }

    // Behaviour 11 of docs/riff-compatibility.md.
    #[test]
    fn updates_are_validated_like_creates() {
        let mut p = processor(&format!("  inputs: [{{stream: in}}]\n{IMAGE}"));
        p.spec.inputs.clear();
        assert_eq!(
            p.validate().unwrap_err().to_string(),
            "spec.inputs: Required value"
        );
    }

    #[test]
    fn window_is_resolved_and_validated() {
        let p = processor(&format!("  inputs: [{{stream: in}}]\n{IMAGE}"));
        assert_eq!(p.spec.resolved_window(), Ok(ResolvedWindow::default()));
        let p = processor(&format!(
            "  inputs: [{{stream: in}}]\n  window: {{}}\n{IMAGE}"
        ));
        assert_eq!(
            p.spec.resolved_window().unwrap().duration(),
            Some(Duration::from_secs(60))
        );
        let p = processor(&format!(
            "  inputs: [{{stream: in}}]\n  window: {{duration: 1m30s, count: 10}}\n{IMAGE}"
        ));
        assert_eq!(
            p.spec.resolved_window(),
            Ok(ResolvedWindow {
                shape: Shape::Tumbling {
                    duration: Some(Duration::from_secs(90)),
                    aligned: false
                },
                count: Some(10),
                ..ResolvedWindow::default()
            })
        );
        let bad =
            format!("  inputs: [{{stream: in}}]\n  window: {{duration: abc, count: 0}}\n{IMAGE}");
        let expected = r#"[spec.window.duration: Invalid value: "abc": must be a duration such as 500ms, 10s or 1m, spec.window.count: Invalid value: 0: must be at least 1]"#;
        assert_eq!(errors(&bad), expected);
        assert_eq!(
            processor(&bad)
                .spec
                .resolved_window()
                .unwrap_err()
                .to_string(),
            expected
        );
    }

    #[test]
    fn metadata_name_is_required() {
        let mut p = processor(&format!("  inputs: [{{stream: in}}]\n{IMAGE}"));
        p.metadata.name = None;
        assert_eq!(
            p.validate().unwrap_err().to_string(),
            "metadata.name: Required value"
        );
    }

    #[test]
    fn serializes_riff_field_names() {
        let p = processor(
            "  inputs: [{stream: in, startOffset: earliest}]\n  build: {functionRef: f}\n  window: {count: 5}\n",
        );
        let json = serde_json::to_value(&p.spec).unwrap();
        assert_eq!(
            json["inputs"],
            serde_json::json!([{"stream": "in", "alias": "in", "startOffset": "earliest"}])
        );
        assert_eq!(json["build"], serde_json::json!({"functionRef": "f"}));
        assert_eq!(json["window"], serde_json::json!({"count": 5}));
        assert_eq!(json["outputs"], serde_json::json!([]));
        let status: ProcessorStatus = serde_json::from_value(serde_json::json!({
            "latestImage": "ghcr.io/example/f@sha256:00",
            "deploymentRef": {"apiGroup": "apps", "kind": "Deployment", "name": "p-processor-x"},
            "conditions": [{"type": "Ready", "status": "True"}],
        }))
        .unwrap();
        assert_eq!(status.deployment_ref.unwrap().name, "p-processor-x");
        assert_eq!(status.common.conditions.len(), 1);
    }
}
