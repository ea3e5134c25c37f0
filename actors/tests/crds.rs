//! `deploy/crds.yaml` is generated from the Rust types: this test fails when it is stale, and
//! rewrites it when `RIFF_BLESS=1`.

use std::path::PathBuf;

use riff_actors::resources::crds;

#[test]
fn deploy_crds_yaml_is_up_to_date() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/crds.yaml");
    let generated = crds::to_yaml();
    if std::env::var_os("RIFF_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let shipped = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        shipped == generated,
        "{} is not what the Rust types generate; regenerate it with \
         `RIFF_BLESS=1 cargo test -p riff-actors --test crds`",
        path.display()
    );
}
