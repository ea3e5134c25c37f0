//! `riff streaming inmemory-gateway` (alias `inmemory`): gateways whose streams live in memory.

use clap::Subcommand;
use riff_actors::resources::{Condition, InMemoryGateway, InMemoryGatewaySpec};

use super::args::{CreateArgs, DeleteArgs};
use super::kind::{Kind, PodLogs, GATEWAY_PODS};
use super::verbs::{self, Query};

/// The verbs of `inmemory-gateway`.
#[derive(Subcommand)]
pub enum Command {
    /// Create an in-memory gateway.
    Create(CreateArgs),
    #[command(flatten)]
    Query(Query),
    /// Delete in-memory gateways by name, or all of a namespace.
    Delete(DeleteArgs),
}

/// Runs an `inmemory-gateway` command.
pub async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Create(args) => {
            verbs::create(InMemoryGateway::new("", InMemoryGatewaySpec {}), args).await
        }
        Command::Query(query) => verbs::query::<InMemoryGateway>(query).await,
        Command::Delete(args) => verbs::delete::<InMemoryGateway>(args).await,
    }
}

impl Kind for InMemoryGateway {
    const NOUN: &'static str = "in-memory gateway";
    const NOUNS: &'static str = "in-memory gateways";
    const COMMAND: &'static str = "inmemory-gateway";
    const COLUMNS: &'static [&'static str] = &[];
    const LOGS: Option<PodLogs> = Some(GATEWAY_PODS);

    fn cells(&self) -> Vec<String> {
        Vec::new()
    }

    fn conditions(&self) -> &[Condition] {
        self.status.as_ref().map_or(&[], |s| &s.common.conditions)
    }
}
