//! `riff streaming ...`: riff's streaming CLI, command for command, against the cluster of the
//! current kubeconfig.
//!
//! Each kind has its own file (flags and how its objects are built and printed); the verbs
//! shared by every kind (create, list, status, delete) are generic, in [`verbs`].

mod args;
mod cluster;
mod completion;
mod gateway;
mod inmemory_gateway;
mod kafka_gateway;
mod kind;
mod logs;
mod processor;
mod references;
mod stream;
pub(crate) mod table;
mod verbs;
mod wait;

use clap::Subcommand;

/// The streaming runtime's resources: gateways, streams and processors.
#[derive(Subcommand)]
pub enum Streaming {
    /// Kafka gateways: streams kept in a Kafka cluster.
    #[command(subcommand, visible_alias = "kafka")]
    KafkaGateway(kafka_gateway::Command),
    /// In-memory gateways: streams kept in memory, for development.
    #[command(subcommand, name = "inmemory-gateway", visible_alias = "inmemory")]
    InMemoryGateway(inmemory_gateway::Command),
    /// Gateways, as the concrete gateways create them.
    #[command(subcommand)]
    Gateway(gateway::Command),
    /// Streams of messages of one content type.
    #[command(subcommand, visible_alias = "streams")]
    Stream(stream::Command),
    /// Processors: functions applied to the messages of streams.
    #[command(subcommand, visible_alias = "processors")]
    Processor(processor::Command),
    /// Prints a shell completion script for `riff`.
    Completion(completion::Args),
}

/// Runs a `riff streaming` command; `root` builds the whole `riff` command (for completion).
pub async fn run(command: Streaming, root: fn() -> clap::Command) -> anyhow::Result<()> {
    match command {
        Streaming::KafkaGateway(command) => kafka_gateway::run(command).await,
        Streaming::InMemoryGateway(command) => inmemory_gateway::run(command).await,
        Streaming::Gateway(command) => gateway::run(command).await,
        Streaming::Stream(command) => stream::run(command).await,
        Streaming::Processor(command) => processor::run(command).await,
        Streaming::Completion(args) => completion::print(args, root()),
    }
}
