//! Validation of `metadata` the way the API server does it for every object.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::field_error::{FieldError, FieldErrors};

const LABEL_MAX_LENGTH: usize = 63;
const LABEL_FORMAT: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric \
    characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or \
    '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

/// Checks that `metadata.name` is set and, like `metadata.namespace` when set, is an RFC 1123
/// label (names end up in topic, Deployment and Service names).
pub fn validate_metadata(metadata: &ObjectMeta) -> FieldErrors {
    let mut errors = FieldErrors::new();
    match metadata.name.as_deref() {
        None | Some("") => errors.push(FieldError::required("metadata.name", "")),
        Some(name) => errors.append(validate_label("metadata.name", name)),
    }
    if let Some(namespace) = metadata.namespace.as_deref() {
        errors.append(validate_label("metadata.namespace", namespace));
    }
    errors
}

fn validate_label(path: &str, value: &str) -> FieldErrors {
    let mut errors = FieldErrors::new();
    if value.len() > LABEL_MAX_LENGTH {
        let detail = format!("must be no more than {LABEL_MAX_LENGTH} characters");
        errors.push(FieldError::invalid(path, value, &detail));
    }
    let alphanumeric = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    let bytes = value.as_bytes();
    let well_formed = bytes.first().copied().is_some_and(alphanumeric)
        && bytes.last().copied().is_some_and(alphanumeric)
        && bytes.iter().all(|&c| alphanumeric(c) || c == b'-');
    if !well_formed {
        errors.push(FieldError::invalid(path, value, LABEL_FORMAT));
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(name: Option<&str>, namespace: Option<&str>) -> ObjectMeta {
        ObjectMeta {
            name: name.map(Into::into),
            namespace: namespace.map(Into::into),
            ..ObjectMeta::default()
        }
    }

    #[test]
    fn name_is_required() {
        assert_eq!(
            validate_metadata(&meta(None, None)).to_string(),
            "metadata.name: Required value"
        );
        assert_eq!(
            validate_metadata(&meta(Some(""), None)).to_string(),
            "metadata.name: Required value"
        );
    }

    #[test]
    fn names_are_rfc1123_labels() {
        assert!(validate_metadata(&meta(Some("time-averager"), Some("default"))).is_empty());
        assert!(validate_metadata(&meta(Some("0a"), None)).is_empty());
        assert_eq!(
            validate_metadata(&meta(Some("Time_Averager"), None)).to_string(),
            format!(r#"metadata.name: Invalid value: "Time_Averager": {LABEL_FORMAT}"#)
        );
        assert_eq!(
            validate_metadata(&meta(Some("in"), Some("-dev"))).to_string(),
            format!(r#"metadata.namespace: Invalid value: "-dev": {LABEL_FORMAT}"#)
        );
        let long = "a".repeat(64);
        assert_eq!(
            validate_metadata(&meta(Some(&long), None)).to_string(),
            format!(
                r#"metadata.name: Invalid value: "{long}": must be no more than 63 characters"#
            )
        );
    }
}
