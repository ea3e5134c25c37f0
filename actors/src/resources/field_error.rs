//! Kubernetes-style field errors (`k8s.io/apimachinery/pkg/util/validation/field`), rendered
//! exactly like the API server renders them.

use std::fmt;

/// What is wrong with a field (Kubernetes' `field.ErrorType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// A required field is missing or empty (`Required value`).
    Required,
    /// A field has a malformed value (`Invalid value`).
    Invalid,
    /// A value that must be unique is repeated (`Duplicate value`).
    Duplicate,
    /// A field may not be set (`Forbidden`).
    Forbidden,
    /// A value refers to something that does not exist (`Not found`).
    NotFound,
}

impl ErrorKind {
    fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Required => "Required value",
            ErrorKind::Invalid => "Invalid value",
            ErrorKind::Duplicate => "Duplicate value",
            ErrorKind::Forbidden => "Forbidden",
            ErrorKind::NotFound => "Not found",
        }
    }
}

/// The offending value of a field error, printed like Go's `%q` (strings) or `%v` (numbers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BadValue {
    /// A string value, printed quoted.
    Str(String),
    /// An unsigned integer value, printed bare.
    UInt(u64),
}

impl From<&str> for BadValue {
    fn from(value: &str) -> Self {
        BadValue::Str(value.to_owned())
    }
}

impl From<u64> for BadValue {
    fn from(value: u64) -> Self {
        BadValue::UInt(value)
    }
}

impl fmt::Display for BadValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BadValue::Str(s) => write!(f, "{s:?}"),
            BadValue::UInt(n) => write!(f, "{n}"),
        }
    }
}

/// One problem with one field, e.g. `spec.inputs[0].startOffset: Invalid value: "middle": ...`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// The field's path, e.g. `spec.inputs[0].alias` or `spec[build, template.spec.containers[0].image]`.
    pub path: String,
    /// What is wrong.
    pub kind: ErrorKind,
    /// The offending value, for kinds that print one.
    pub value: Option<BadValue>,
    /// Free-form explanation appended after the value (may be empty).
    pub detail: String,
}

impl FieldError {
    fn new(path: &str, kind: ErrorKind, value: Option<BadValue>, detail: &str) -> Self {
        FieldError {
            path: path.to_owned(),
            kind,
            value,
            detail: detail.to_owned(),
        }
    }

    /// `<path>: Required value[: <detail>]`.
    pub fn required(path: &str, detail: &str) -> Self {
        Self::new(path, ErrorKind::Required, None, detail)
    }

    /// `<path>: Invalid value: <value>[: <detail>]`.
    pub fn invalid(path: &str, value: impl Into<BadValue>, detail: &str) -> Self {
        Self::new(path, ErrorKind::Invalid, Some(value.into()), detail)
    }

    /// `<path>: Duplicate value: <value>`.
    pub fn duplicate(path: &str, value: impl Into<BadValue>) -> Self {
        Self::new(path, ErrorKind::Duplicate, Some(value.into()), "")
    }

    /// `<path>: Forbidden[: <detail>]`.
    pub fn forbidden(path: &str, detail: &str) -> Self {
        Self::new(path, ErrorKind::Forbidden, None, detail)
    }

    /// `<path>: Not found: <value>`.
    pub fn not_found(path: &str, value: impl Into<BadValue>) -> Self {
        Self::new(path, ErrorKind::NotFound, Some(value.into()), "")
    }

    /// `Required` on a group of fields of which exactly one must be set, but none is:
    /// `[a, b]: Required value: expected exactly one, got neither`.
    pub fn missing_one_of(names: &[&str]) -> Self {
        Self::required(
            &format!("[{}]", names.join(", ")),
            "expected exactly one, got neither",
        )
    }

    /// `Required` on a group of fields of which exactly one must be set, but several are:
    /// `[a, b]: Required value: expected exactly one, got both`.
    pub fn multiple_one_of(names: &[&str]) -> Self {
        Self::required(
            &format!("[{}]", names.join(", ")),
            "expected exactly one, got both",
        )
    }

    /// This error seen from the parent field `key` (riff's `ViaField`): `x` becomes `key.x`,
    /// `[0]` becomes `key[0]`, an empty path becomes `key`.
    pub fn via_field(mut self, key: &str) -> Self {
        self.path = join(key, &self.path);
        self
    }
}

fn join(parent: &str, child: &str) -> String {
    if child.is_empty() {
        parent.to_owned()
    } else if child.starts_with('[') || parent.is_empty() {
        format!("{parent}{child}")
    } else {
        format!("{parent}.{child}")
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.kind.as_str())?;
        let prints_value = matches!(
            self.kind,
            ErrorKind::Invalid | ErrorKind::Duplicate | ErrorKind::NotFound
        );
        if let (true, Some(value)) = (prints_value, &self.value) {
            write!(f, ": {value}")?;
        }
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}

impl std::error::Error for FieldError {}

/// A list of field errors; displayed like Kubernetes' aggregate error (duplicates dropped, several
/// messages joined with `, ` inside `[...]`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldErrors(pub Vec<FieldError>);

impl FieldErrors {
    /// No errors.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one error.
    pub fn push(&mut self, error: FieldError) {
        self.0.push(error);
    }

    /// Adds all errors of `other`.
    pub fn append(&mut self, other: FieldErrors) {
        self.0.extend(other.0);
    }

    /// Whether there is no error.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The errors, in the order found.
    pub fn iter(&self) -> std::slice::Iter<'_, FieldError> {
        self.0.iter()
    }

    /// All errors seen from the parent field `key` (see [`FieldError::via_field`]).
    pub fn via_field(self, key: &str) -> Self {
        FieldErrors(self.0.into_iter().map(|e| e.via_field(key)).collect())
    }

    /// `Ok(())` when empty, else `Err(self)`.
    pub fn into_result(self) -> Result<(), FieldErrors> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }
}

impl From<FieldError> for FieldErrors {
    fn from(error: FieldError) -> Self {
        FieldErrors(vec![error])
    }
}

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut messages: Vec<String> = Vec::new();
        for message in self.0.iter().map(ToString::to_string) {
            if !messages.contains(&message) {
                messages.push(message);
            }
        }
        match messages.as_slice() {
            [only] => f.write_str(only),
            all => write!(f, "[{}]", all.join(", ")),
        }
    }
}

impl std::error::Error for FieldErrors {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_kubernetes() {
        assert_eq!(
            FieldError::required("spec.inputs", "").to_string(),
            "spec.inputs: Required value"
        );
        assert_eq!(
            FieldError::invalid(
                "spec.inputs[0].startOffset",
                "middle",
                "must be one of earliest, latest"
            )
            .to_string(),
            r#"spec.inputs[0].startOffset: Invalid value: "middle": must be one of earliest, latest"#
        );
        assert_eq!(
            FieldError::invalid("spec.partitions", 0u64, "must be at least 1").to_string(),
            "spec.partitions: Invalid value: 0: must be at least 1"
        );
        assert_eq!(
            FieldError::duplicate("spec.outputs[1].alias", "out").to_string(),
            r#"spec.outputs[1].alias: Duplicate value: "out""#
        );
        assert_eq!(
            FieldError::forbidden("spec.template.spec", "limited PodSpec fields may be set")
                .to_string(),
            "spec.template.spec: Forbidden: limited PodSpec fields may be set"
        );
        assert_eq!(
            FieldError::not_found("spec.inputs[0].stream", "inn").to_string(),
            r#"spec.inputs[0].stream: Not found: "inn""#
        );
    }

    #[test]
    fn one_of_groups_nest_under_their_parent() {
        assert_eq!(
            FieldError::missing_one_of(&["build", "template.spec.containers[0].image"])
                .via_field("spec")
                .to_string(),
            "spec[build, template.spec.containers[0].image]: Required value: expected exactly one, got neither"
        );
        assert_eq!(
            FieldError::multiple_one_of(&["containerRef", "functionRef"])
                .via_field("build")
                .via_field("spec")
                .to_string(),
            "spec.build[containerRef, functionRef]: Required value: expected exactly one, got both"
        );
    }

    #[test]
    fn via_field_joins_paths() {
        assert_eq!(FieldError::required("", "").via_field("spec").path, "spec");
        assert_eq!(
            FieldError::required("[0]", "").via_field("inputs").path,
            "inputs[0]"
        );
        assert_eq!(
            FieldError::required("alias", "")
                .via_field("inputs[0]")
                .path,
            "inputs[0].alias"
        );
    }

    #[test]
    fn aggregate_joins_and_deduplicates() {
        let mut errors = FieldErrors::new();
        assert!(errors.clone().into_result().is_ok());
        errors.push(FieldError::required("spec.inputs", ""));
        assert_eq!(errors.to_string(), "spec.inputs: Required value");
        errors.push(FieldError::required("spec.inputs", ""));
        assert_eq!(errors.to_string(), "spec.inputs: Required value");
        errors.append(FieldError::duplicate("spec.outputs[1].alias", "out").into());
        assert_eq!(
            errors.to_string(),
            r#"[spec.inputs: Required value, spec.outputs[1].alias: Duplicate value: "out"]"#
        );
        assert_eq!(errors.iter().count(), 3);
        let err: Box<dyn std::error::Error> = Box::new(errors);
        assert!(err.to_string().starts_with('['));
    }
}
