//! The problems [`load`](super::load) and [`check_references`](super::check_references) report,
//! and their messages.

use std::fmt;
use std::path::PathBuf;

use super::Loaded;
use crate::resources::{FieldError, FieldErrors, ManifestObject, API_VERSION};

/// Every problem found while loading or cross-checking manifests, one per line.
#[derive(Debug)]
pub struct ManifestError {
    /// The problems, in file and document order.
    pub problems: Vec<Problem>,
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ManifestError {}

/// The object a problem is about: `<file>: <Kind> <namespace>/<name>`, or
/// `<file>: document <n>: <Kind>` when it has no name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Culprit {
    /// The manifest file.
    pub path: PathBuf,
    /// The document's position in the file, from 1, when known.
    pub document: Option<usize>,
    /// The object's kind.
    pub kind: &'static str,
    /// The object's namespace (`default` when unset).
    pub namespace: String,
    /// The object's name (empty when unset).
    pub name: String,
}

impl fmt::Display for Culprit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        match (self.name.is_empty(), self.document) {
            (false, _) => write!(f, "{path}: {} {}/{}", self.kind, self.namespace, self.name),
            (true, Some(n)) => write!(f, "{path}: document {n}: {}", self.kind),
            (true, None) => write!(f, "{path}: {}", self.kind),
        }
    }
}

impl Culprit {
    /// The object of a loaded resource (its document is no longer known).
    pub(super) fn of(loaded: &Loaded) -> Self {
        Culprit {
            path: loaded.source.clone(),
            document: None,
            kind: loaded.resource.kind(),
            namespace: loaded.resource.namespace().to_owned(),
            name: loaded.resource.name().to_owned(),
        }
    }
}

/// One problem with the manifests.
#[derive(Debug, thiserror::Error)]
pub enum Problem {
    /// A file or directory could not be read.
    #[error("{}: {source}", path.display())]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A directory holds no manifest.
    #[error("{}: no .yaml or .yml file in directory", path.display())]
    EmptyDirectory {
        /// The directory.
        path: PathBuf,
    },
    /// A file is not well-formed YAML; its remaining documents are not read.
    #[error("{}: {source}", path.display())]
    Yaml {
        /// The file.
        path: PathBuf,
        /// The parser's error, with line and column.
        source: serde_norway::Error,
    },
    /// A document is not an object with `apiVersion` and `kind`.
    #[error("{}: document {document}: not a Kubernetes object (apiVersion and kind are required)", path.display())]
    NotAnObject {
        /// The file.
        path: PathBuf,
        /// The document's position in the file, from 1.
        document: usize,
    },
    /// A document's `apiVersion` and `kind` name no kind of this API group.
    #[error(
        "{}: document {document}: unknown kind {kind:?} of apiVersion {api_version:?}; known kinds of {API_VERSION}: {}",
        path.display(),
        ManifestObject::KINDS.join(", ")
    )]
    UnknownKind {
        /// The file.
        path: PathBuf,
        /// The document's position in the file, from 1.
        document: usize,
        /// The document's `apiVersion`.
        api_version: String,
        /// The document's `kind`.
        kind: String,
    },
    /// A document does not fit its kind's types (e.g. a string where a number belongs).
    #[error("{culprit}: {source}")]
    Decode {
        /// The object.
        culprit: Culprit,
        /// serde's error, with the field's path and, when known, line and column.
        source: serde_norway::Error,
    },
    /// A document sets fields its kind does not have (`kubectl --validate=strict` rejects them).
    #[error("{culprit}: {}", unknown_fields(fields))]
    UnknownFields {
        /// The object.
        culprit: Culprit,
        /// The fields' paths, e.g. `spec.inptus`.
        fields: Vec<String>,
    },
    /// An object fails validation.
    #[error("{culprit}: {errors}")]
    Invalid {
        /// The object.
        culprit: Culprit,
        /// What is wrong.
        errors: FieldErrors,
    },
    /// An object is defined twice (gateways of all kinds share one name space: each is a `Gateway`).
    #[error("{culprit}: {}", duplicate(culprit, first))]
    Duplicate {
        /// The second definition.
        culprit: Culprit,
        /// The first definition.
        first: Culprit,
    },
    /// A reference to a gateway or stream that is not among the manifests.
    #[error(
        "{culprit}: {} (no {target} {name:?} in namespace {:?})",
        FieldError::not_found(field, name.as_str()),
        culprit.namespace
    )]
    NotFound {
        /// The referring object.
        culprit: Culprit,
        /// The referring field, e.g. `spec.inputs[0].stream`.
        field: String,
        /// What kind of object is missing, e.g. `Stream`.
        target: &'static str,
        /// The missing object's name.
        name: String,
    },
}

fn unknown_fields(fields: &[String]) -> String {
    let fields: Vec<_> = fields
        .iter()
        .map(|f| format!("unknown field {f:?}"))
        .collect();
    fields.join(", ")
}

fn duplicate(culprit: &Culprit, first: &Culprit) -> String {
    let place = match first.document {
        Some(n) => format!("{} (document {n})", first.path.display()),
        None => first.path.display().to_string(),
    };
    if culprit.kind == first.kind {
        format!("already defined in {place}")
    } else {
        format!(
            "gateway name already used by {} {}/{} in {place}",
            first.kind, first.namespace, first.name
        )
    }
}
