//! `riff streaming kafka-gateway` (alias `kafka`): gateways whose streams are Kafka topics.

use clap::Subcommand;
use riff_actors::resources::{Condition, KafkaGateway, KafkaGatewaySpec};

use super::args::{CreateArgs, DeleteArgs};
use super::kind::{Kind, PodLogs, GATEWAY_PODS};
use super::verbs::{self, Query};

/// The verbs of `kafka-gateway`.
#[derive(Subcommand)]
pub enum Command {
    /// Create a Kafka gateway.
    Create(Create),
    #[command(flatten)]
    Query(Query),
    /// Delete Kafka gateways by name, or all of a namespace.
    Delete(DeleteArgs),
}

/// The arguments of `kafka-gateway create`.
#[derive(clap::Args)]
pub struct Create {
    #[command(flatten)]
    common: CreateArgs,
    /// The address of the Kafka brokers, `host:port[,host:port...]`.
    #[arg(long, value_name = "ADDRESS")]
    bootstrap_servers: String,
}

/// Runs a `kafka-gateway` command.
pub async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Create(args) => {
            let spec = KafkaGatewaySpec {
                bootstrap_servers: args.bootstrap_servers,
            };
            verbs::create(KafkaGateway::new("", spec), args.common).await
        }
        Command::Query(query) => verbs::query::<KafkaGateway>(query).await,
        Command::Delete(args) => verbs::delete::<KafkaGateway>(args).await,
    }
}

impl Kind for KafkaGateway {
    const NOUN: &'static str = "kafka gateway";
    const NOUNS: &'static str = "kafka gateways";
    const COMMAND: &'static str = "kafka-gateway";
    const COLUMNS: &'static [&'static str] = &["Bootstrap Servers"];
    const LOGS: Option<PodLogs> = Some(GATEWAY_PODS);

    fn cells(&self) -> Vec<String> {
        vec![super::table::cell(&self.spec.bootstrap_servers)]
    }

    fn conditions(&self) -> &[Condition] {
        self.status.as_ref().map_or(&[], |s| &s.common.conditions)
    }
}
