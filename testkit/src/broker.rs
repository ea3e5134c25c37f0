//! Where the test broker is.

use std::path::PathBuf;

/// Where `tests/tansu/install.sh` installs the test broker (tansu 0.6.0 with the fetch fixes the
/// tests need, and its storage engines): `$CARGO_HOME/tansu-0.6.0-riff4/bin/tansu`.
pub fn tansu_path() -> PathBuf {
    let home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cargo")
        });
    home.join("tansu-0.6.0-riff4/bin/tansu")
}
