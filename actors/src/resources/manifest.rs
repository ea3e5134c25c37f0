//! Loading YAML manifests the way `riff local run -f <file|dir>` needs them: every document of
//! every file, dispatched on `apiVersion` and `kind`, defaulted and validated, with every problem
//! of every document reported at once.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_yaml::{Mapping, Value};

use super::{Admission, FieldError, FieldErrors, Resource, API_VERSION, DEFAULT_NAMESPACE};

/// A resource read from a manifest file.
#[derive(Clone, Debug, PartialEq)]
pub struct Loaded {
    /// The resource, defaulted and valid.
    pub resource: Resource,
    /// The file it was read from.
    pub source: PathBuf,
}

impl Loaded {
    /// The folder of the file (`.` for a bare file name); a processor runs its function there.
    pub fn directory(&self) -> &Path {
        match self.source.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        }
    }
}

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
    fn of(loaded: &Loaded) -> Self {
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
        source: serde_yaml::Error,
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
        Resource::KINDS.join(", ")
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
        source: serde_yaml::Error,
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

/// Loads every resource of the given files and directories (each `*.yaml` / `*.yml` file of a
/// directory, sorted, not recursive), in order; namespace defaults to `default`, then each is
/// defaulted and validated. All problems of all documents are reported together.
pub fn load(paths: &[PathBuf]) -> Result<Vec<Loaded>, ManifestError> {
    let mut loader = Loader::default();
    for path in paths {
        for file in manifest_files(path, &mut loader.problems) {
            loader.file(&file);
        }
    }
    if loader.problems.is_empty() {
        Ok(loader.loaded)
    } else {
        Err(ManifestError {
            problems: loader.problems,
        })
    }
}

/// What [`load`] has found so far.
#[derive(Default)]
struct Loader {
    loaded: Vec<Loaded>,
    problems: Vec<Problem>,
    /// Canonical paths of the files read, so that a file named twice is read once.
    files: HashSet<PathBuf>,
    /// The first definition of each (kind or `gateway`, namespace, name).
    objects: HashMap<(&'static str, String, String), Culprit>,
}

impl Loader {
    fn file(&mut self, file: &Path) {
        if !self
            .files
            .insert(fs::canonicalize(file).unwrap_or_else(|_| file.to_owned()))
        {
            return;
        }
        for (culprit, resource) in load_file(file, &mut self.problems) {
            if self.is_new(culprit) {
                if let Some(resource) = resource {
                    let source = file.to_owned();
                    self.loaded.push(Loaded { resource, source });
                }
            }
        }
    }

    /// Records the object; a duplicate is a problem (unnamed objects are never duplicates).
    fn is_new(&mut self, culprit: Culprit) -> bool {
        if culprit.name.is_empty() {
            return true;
        }
        let group = if Resource::is_gateway_kind(culprit.kind) {
            "gateway"
        } else {
            culprit.kind
        };
        let key = (group, culprit.namespace.clone(), culprit.name.clone());
        match self.objects.get(&key) {
            Some(first) => {
                let first = first.clone();
                self.problems.push(Problem::Duplicate { culprit, first });
                false
            }
            None => {
                self.objects.insert(key, culprit);
                true
            }
        }
    }
}

/// Checks that every Stream's gateway and every processor's streams are among `resources`, in the
/// same namespace.
pub fn check_references(resources: &[Loaded]) -> Result<(), ManifestError> {
    let key = |loaded: &Loaded| {
        (
            loaded.resource.namespace().to_owned(),
            loaded.resource.name().to_owned(),
        )
    };
    let gateways: HashSet<_> = resources
        .iter()
        .filter(|l| l.resource.is_gateway())
        .map(key)
        .collect();
    let streams: HashSet<_> = resources
        .iter()
        .filter(|l| matches!(l.resource, Resource::Stream(_)))
        .map(key)
        .collect();
    let mut problems = Vec::new();
    for loaded in resources {
        let namespace = loaded.resource.namespace();
        let mut require = |known: &HashSet<(String, String)>, target, field: String, name: &str| {
            if !known.contains(&(namespace.to_owned(), name.to_owned())) {
                problems.push(Problem::NotFound {
                    culprit: Culprit::of(loaded),
                    field,
                    target,
                    name: name.to_owned(),
                });
            }
        };
        match &loaded.resource {
            Resource::Stream(stream) => {
                let target = "Gateway, KafkaGateway or InMemoryGateway";
                let field = "spec.gateway.name".to_owned();
                require(&gateways, target, field, &stream.spec.gateway.name);
            }
            Resource::Processor(processor) => {
                for (i, input) in processor.spec.inputs.iter().enumerate() {
                    let field = format!("spec.inputs[{i}].stream");
                    require(&streams, "Stream", field, &input.stream);
                }
                for (i, output) in processor.spec.outputs.iter().enumerate() {
                    let field = format!("spec.outputs[{i}].stream");
                    require(&streams, "Stream", field, &output.stream);
                }
            }
            _ => {}
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ManifestError { problems })
    }
}

/// The files `path` stands for: itself, or a directory's sorted YAML files.
fn manifest_files(path: &Path, problems: &mut Vec<Problem>) -> Vec<PathBuf> {
    if !path.is_dir() {
        return vec![path.to_owned()];
    }
    let entries = match fs::read_dir(path) {
        Ok(entries) => entries,
        Err(source) => {
            let path = path.to_owned();
            problems.push(Problem::Read { path, source });
            return Vec::new();
        }
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    if files.is_empty() {
        let path = path.to_owned();
        problems.push(Problem::EmptyDirectory { path });
    }
    files.sort();
    files
}

/// Every non-empty document of `path`: who it is and, when it is fine, the resource.
fn load_file(path: &Path, problems: &mut Vec<Problem>) -> Vec<(Culprit, Option<Resource>)> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(source) => {
            let path = path.to_owned();
            problems.push(Problem::Read { path, source });
            return Vec::new();
        }
    };
    let mut objects = Vec::new();
    for (index, document) in serde_yaml::Deserializer::from_str(&text).enumerate() {
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
    fn load(self, problems: &mut Vec<Problem>) -> Option<(Culprit, Option<Resource>)> {
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
        let known = Resource::KINDS
            .iter()
            .find(|k| **k == kind)
            .filter(|_| api_version == API_VERSION);
        let Some(&kind) = known else {
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
    fn admit(mut self, culprit: &Culprit, problems: &mut Vec<Problem>) -> Option<Resource> {
        let decoded = match culprit.kind {
            "KafkaGateway" => self.decode(Resource::KafkaGateway),
            "InMemoryGateway" => self.decode(Resource::InMemoryGateway),
            "Gateway" => self.decode(Resource::Gateway),
            "Stream" => self.decode(Resource::Stream),
            _ => self.decode(Resource::Processor), // the last of Resource::KINDS
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
        wrap: fn(T) -> Resource,
    ) -> Result<(Resource, Vec<String>), serde_yaml::Error> {
        let map = self
            .value
            .as_mapping_mut()
            .expect("checked to be a mapping");
        let typed: T = match map.get("spec") {
            None | Some(Value::Null) => {
                map.insert("spec".into(), Value::Mapping(Mapping::new()));
                serde_yaml::from_value(self.value.clone())?
            }
            // Re-read the text so that errors carry the field's path, line and column.
            Some(_) => match serde_yaml::Deserializer::from_str(self.text).nth(self.index) {
                Some(document) => T::deserialize(document)?,
                None => serde_yaml::from_value(self.value.clone())?,
            },
        };
        let mut unknown = Vec::new();
        let known = serde_yaml::to_value(&typed)?;
        collect_unknown_fields(&self.value, &known, "", &mut unknown);
        Ok((wrap(typed), unknown))
    }
}

/// Appends to `unknown` the paths of non-empty fields of `original` that `known` (what the typed
/// object serializes to) lacks.
fn collect_unknown_fields(original: &Value, known: &Value, path: &str, unknown: &mut Vec<String>) {
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
    use super::*;
    use std::time::Duration;

    const DOCS_EXAMPLE: &str = r#"apiVersion: streaming.projectriff.io/v1alpha1
kind: InMemoryGateway
metadata: {name: franz}
spec: {}
---
apiVersion: streaming.projectriff.io/v1alpha1
kind: Stream
metadata: {name: in}
spec: {gateway: {name: franz}, contentType: application/json}
---
apiVersion: streaming.projectriff.io/v1alpha1
kind: Processor
metadata: {name: time-averager}
spec:
  inputs: [{stream: in}]
  outputs: [{stream: out}]
  window: {duration: 10s}
  template:
    spec:
      containers:
      - image: ghcr.io/example/time-averager
        command: [time-averager]
        env: [{name: AVERAGE_OVER, value: 2s}]
"#;

    const OUT_STREAM: &str = "apiVersion: streaming.projectriff.io/v1alpha1\nkind: Stream\nmetadata: {name: out}\nspec: {gateway: {name: franz}}\n";

    struct Dir(tempfile::TempDir);

    impl Dir {
        fn new(files: &[(&str, &str)]) -> Self {
            let dir = Dir(tempfile::tempdir().unwrap());
            for (name, text) in files {
                let path = dir.path(name);
                fs::create_dir_all(path.parent().unwrap()).unwrap();
                fs::write(path, text).unwrap();
            }
            dir
        }

        fn path(&self, name: &str) -> PathBuf {
            self.0.path().join(name)
        }

        /// Loads `names` and returns the error text with the temp dir's path shortened to `dir`.
        fn error(&self, names: &[&str]) -> String {
            let paths: Vec<_> = names.iter().map(|n| self.path(n)).collect();
            let err = load(&paths).unwrap_err().to_string();
            err.replace(&self.0.path().display().to_string(), "dir")
        }
    }

    fn processor_yaml(spec: &str) -> String {
        format!("apiVersion: streaming.projectriff.io/v1alpha1\nkind: Processor\nmetadata: {{name: p}}\nspec:\n{spec}")
    }

    #[test]
    fn loads_the_riff_docs_example() {
        let dir = Dir::new(&[("config/time-averager.yaml", DOCS_EXAMPLE)]);
        let loaded = load(&[dir.path("config/time-averager.yaml")]).unwrap();
        let kinds: Vec<_> = loaded
            .iter()
            .map(|l| (l.resource.kind(), l.resource.name()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("InMemoryGateway", "franz"),
                ("Stream", "in"),
                ("Processor", "time-averager")
            ]
        );
        assert!(loaded.iter().all(|l| l.resource.namespace() == "default"));
        assert!(loaded
            .iter()
            .all(|l| l.source == dir.path("config/time-averager.yaml")));
        assert_eq!(loaded[2].directory(), dir.path("config"));
        let Resource::Stream(stream) = &loaded[1].resource else {
            panic!()
        };
        assert_eq!(stream.metadata.namespace.as_deref(), Some("default"));
        assert_eq!(stream.spec.content_type, "application/json");
        assert_eq!(stream.spec.partitions, 1);
        let Resource::Processor(processor) = &loaded[2].resource else {
            panic!()
        };
        assert_eq!(processor.spec.inputs[0].alias, "in");
        assert_eq!(processor.spec.inputs[0].start_offset, "latest");
        assert_eq!(processor.spec.outputs[0].alias, "out");
        let function = processor.spec.function_container().unwrap();
        assert_eq!(function.name, "function");
        assert_eq!(function.command, Some(vec!["time-averager".to_owned()]));
        assert_eq!(
            processor.spec.resolved_window().unwrap().duration,
            Some(Duration::from_secs(10))
        );
        // The example's `out` stream is missing.
        assert_eq!(
            check_references(&loaded)
                .unwrap_err()
                .to_string()
                .replace(&dir.0.path().display().to_string(), "dir"),
            r#"dir/config/time-averager.yaml: Processor default/time-averager: spec.outputs[0].stream: Not found: "out" (no Stream "out" in namespace "default")"#
        );
    }

    #[test]
    fn loads_directories_sorted_skipping_other_files_and_subdirectories() {
        let dir = Dir::new(&[
            (
                "config/b-processor.yml",
                DOCS_EXAMPLE.split("---\n").nth(2).unwrap(),
            ),
            (
                "config/a-gateway.yaml",
                DOCS_EXAMPLE.split("---\n").next().unwrap(),
            ),
            (
                "config/c-streams.yaml",
                &format!(
                    "---\n{}---\n\n---\n# nothing\n---\n{OUT_STREAM}",
                    DOCS_EXAMPLE.split("---\n").nth(1).unwrap()
                ),
            ),
            ("config/README.md", "not yaml"),
            ("config/nested/z.yaml", "kind: Nonsense"),
        ]);
        let loaded = load(&[dir.path("config")]).unwrap();
        let names: Vec<_> = loaded.iter().map(|l| l.resource.name()).collect();
        assert_eq!(names, ["franz", "time-averager", "in", "out"]);
        assert_eq!(loaded[3].source, dir.path("config/c-streams.yaml"));
        assert!(check_references(&loaded).is_ok());
    }

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
    fn repeated_paths_are_read_once() {
        let dir = Dir::new(&[("config/all.yaml", DOCS_EXAMPLE)]);
        let loaded = load(&[dir.path("config"), dir.path("config/all.yaml")]).unwrap();
        assert_eq!(loaded.len(), 3);
    }

    #[test]
    fn directory_of_a_bare_file_name_is_dot() {
        let loaded = Loaded {
            resource: Resource::InMemoryGateway(crate::resources::InMemoryGateway::new(
                "franz",
                crate::resources::InMemoryGatewaySpec {},
            )),
            source: PathBuf::from("franz.yaml"),
        };
        assert_eq!(loaded.directory(), Path::new("."));
    }

    #[test]
    fn missing_paths_and_empty_directories() {
        let dir = Dir::new(&[("empty/notes.txt", "")]);
        assert_eq!(
            dir.error(&["nope.yaml", "empty"]),
            "dir/nope.yaml: No such file or directory (os error 2)\ndir/empty: no .yaml or .yml file in directory"
        );
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

    #[test]
    fn references_must_resolve_in_the_same_namespace() {
        let dir = Dir::new(&[(
            "all.yaml",
            &format!(
                "{DOCS_EXAMPLE}---\n{}---\n{}",
                OUT_STREAM.replace("name: out}", "name: out, namespace: other}"),
                OUT_STREAM
                    .replace("name: out}", "name: lonely}")
                    .replace("franz", "kafka")
            ),
        )]);
        let loaded = load(&[dir.path("all.yaml")]).unwrap();
        let err = check_references(&loaded).unwrap_err().to_string();
        assert_eq!(
            err.replace(&dir.0.path().display().to_string(), "dir"),
            "dir/all.yaml: Processor default/time-averager: spec.outputs[0].stream: Not found: \"out\" (no Stream \"out\" in namespace \"default\")\n\
             dir/all.yaml: Stream other/out: spec.gateway.name: Not found: \"franz\" (no Gateway, KafkaGateway or InMemoryGateway \"franz\" in namespace \"other\")\n\
             dir/all.yaml: Stream default/lonely: spec.gateway.name: Not found: \"kafka\" (no Gateway, KafkaGateway or InMemoryGateway \"kafka\" in namespace \"default\")"
        );
    }

    #[test]
    fn processor_inputs_must_name_streams() {
        let dir = Dir::new(&[(
            "all.yaml",
            &DOCS_EXAMPLE.replace("[{stream: in}]", "[{stream: inn}]"),
        )]);
        let loaded = load(&[dir.path("all.yaml")]).unwrap();
        let err = check_references(&loaded).unwrap_err();
        assert!(err.to_string().contains(
            r#"Processor default/time-averager: spec.inputs[0].stream: Not found: "inn" (no Stream "inn" in namespace "default")"#
        ));
        assert_eq!(err.problems.len(), 2);
    }
}
