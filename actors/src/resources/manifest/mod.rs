//! Loading YAML manifests the way `riff local run -f <file|dir>` needs them: every document of
//! every file, dispatched on `apiVersion` and `kind`, defaulted and validated, with every problem
//! of every document reported at once.

mod documents;
mod duplicates;
mod files;
mod problem;
mod references;
#[cfg(test)]
mod test_support;
mod unknown_fields;

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use super::ManifestObject;
use duplicates::Definitions;

pub use files::fingerprint;
pub use problem::{Culprit, ManifestError, Problem};
pub use references::check_references;

/// A resource read from a manifest file.
#[derive(Clone, Debug, PartialEq)]
pub struct Loaded {
    /// The resource, defaulted and valid.
    pub resource: ManifestObject,
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

/// Loads every resource of the given files and directories (each `*.yaml` / `*.yml` file of a
/// directory, sorted, not recursive), in order; namespace defaults to `default`, then each is
/// defaulted and validated. All problems of all documents are reported together.
pub fn load(paths: &[PathBuf]) -> Result<Vec<Loaded>, ManifestError> {
    let mut loader = Loader::default();
    for path in paths {
        for file in files::manifest_files(path, &mut loader.problems) {
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
    /// The objects defined so far, to report duplicates.
    definitions: Definitions,
}

impl Loader {
    fn file(&mut self, file: &Path) {
        if !self
            .files
            .insert(fs::canonicalize(file).unwrap_or_else(|_| file.to_owned()))
        {
            return;
        }
        for (culprit, resource) in documents::load_file(file, &mut self.problems) {
            if self.definitions.is_new(culprit, &mut self.problems) {
                if let Some(resource) = resource {
                    let source = file.to_owned();
                    self.loaded.push(Loaded { resource, source });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};
    use std::time::Duration;

    use super::test_support::{Dir, DOCS_EXAMPLE};
    use super::{check_references, load, Loaded, ManifestObject};

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
        let ManifestObject::Stream(stream) = &loaded[1].resource else {
            panic!()
        };
        assert_eq!(stream.metadata.namespace.as_deref(), Some("default"));
        assert_eq!(stream.spec.content_type, "application/json");
        assert_eq!(stream.spec.partitions, 1);
        let ManifestObject::Processor(processor) = &loaded[2].resource else {
            panic!()
        };
        assert_eq!(processor.spec.inputs[0].alias, "in");
        assert_eq!(processor.spec.inputs[0].start_offset, "latest");
        assert_eq!(processor.spec.outputs[0].alias, "out");
        let function = processor.spec.function_container().unwrap();
        assert_eq!(function.name, "function");
        assert_eq!(function.command, Some(vec!["time-averager".to_owned()]));
        assert_eq!(
            processor.spec.resolved_window().unwrap().duration(),
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
    fn repeated_paths_are_read_once() {
        let dir = Dir::new(&[("config/all.yaml", DOCS_EXAMPLE)]);
        let loaded = load(&[dir.path("config"), dir.path("config/all.yaml")]).unwrap();
        assert_eq!(loaded.len(), 3);
    }

    #[test]
    fn directory_of_a_bare_file_name_is_dot() {
        let loaded = Loaded {
            resource: ManifestObject::InMemoryGateway(crate::resources::InMemoryGateway::new(
                "franz",
                crate::resources::InMemoryGatewaySpec {},
            )),
            source: PathBuf::from("franz.yaml"),
        };
        assert_eq!(loaded.directory(), Path::new("."));
    }
}
