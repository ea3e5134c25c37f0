//! `riff streaming gateway`: the abstract gateways the concrete ones create; read only.

use kube::ResourceExt;
use riff_actors::resources::{Condition, Gateway};

use super::kind::Kind;
use super::table::cell;
use super::verbs::{self, Query};

/// The verbs of `gateway`: list and status.
pub type Command = Query;

/// The label holding a gateway's type (`kafka`, `inmemory`).
const GATEWAY_TYPE: &str = "streaming.projectriff.io/gateway-type";

/// Runs a `gateway` command.
pub async fn run(command: Command) -> anyhow::Result<()> {
    verbs::query::<Gateway>(command).await
}

impl Kind for Gateway {
    const NOUN: &'static str = "gateway";
    const NOUNS: &'static str = "gateways";
    const COMMAND: &'static str = "gateway";
    const COLUMNS: &'static [&'static str] = &["Type"];

    fn cells(&self) -> Vec<String> {
        let type_ = self.labels().get(GATEWAY_TYPE).map_or("", String::as_str);
        vec![cell(type_)]
    }

    fn conditions(&self) -> &[Condition] {
        self.status.as_ref().map_or(&[], |s| &s.common.conditions)
    }
}
