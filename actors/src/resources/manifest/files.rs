//! Which files a path given to [`load`](super::load) stands for.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::Problem;

/// The files `path` stands for: itself, or a directory's sorted YAML files.
pub(super) fn manifest_files(path: &Path, problems: &mut Vec<Problem>) -> Vec<PathBuf> {
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

/// What the files at `paths` are now: which files, and each one's length and modification
/// time. Two fingerprints differ when a file was added, removed or written.
pub fn fingerprint(paths: &[PathBuf]) -> Vec<(PathBuf, Option<(u64, SystemTime)>)> {
    let mut ignored = Vec::new();
    paths
        .iter()
        .flat_map(|path| manifest_files(path, &mut ignored))
        .map(|file| {
            let stamp = fs::metadata(&file)
                .ok()
                .and_then(|m| Some((m.len(), m.modified().ok()?)));
            (file, stamp)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{Dir, DOCS_EXAMPLE, OUT_STREAM};
    use super::super::{check_references, load};

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
    fn missing_paths_and_empty_directories() {
        let dir = Dir::new(&[("empty/notes.txt", "")]);
        assert_eq!(
            dir.error(&["nope.yaml", "empty"]),
            "dir/nope.yaml: No such file or directory (os error 2)\ndir/empty: no .yaml or .yml file in directory"
        );
    }
}
