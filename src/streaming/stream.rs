//! `riff streaming stream` (alias `streams`): typed streams of messages on a gateway.

use clap::Subcommand;
use k8s_openapi::api::core::v1::LocalObjectReference;
use riff_actors::resources::{Condition, Stream, StreamSpec};

use super::args::{CreateArgs, DeleteArgs};
use super::kind::Kind;
use super::references::parse_content_type;
use super::table::cell;
use super::verbs::{self, Query};

/// The verbs of `stream`.
#[derive(Subcommand)]
pub enum Command {
    /// Create a stream on a gateway.
    Create(Create),
    #[command(flatten)]
    Query(Query),
    /// Delete streams by name, or all of a namespace.
    Delete(DeleteArgs),
}

/// The arguments of `stream create`.
#[derive(clap::Args)]
pub struct Create {
    #[command(flatten)]
    common: CreateArgs,
    /// The gateway that provisions the stream.
    #[arg(long, value_name = "NAME")]
    gateway: String,
    /// The MIME type of the messages (default: application/octet-stream).
    #[arg(long, value_name = "MIME_TYPE", value_parser = parse_content_type)]
    content_type: Option<String>,
    /// Our extension: the number of partitions of the stream's topic (default: 1).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    partitions: Option<u32>,
}

/// Runs a `stream` command.
pub async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Create(args) => {
            let defaults = StreamSpec::default();
            let spec = StreamSpec {
                gateway: LocalObjectReference { name: args.gateway },
                content_type: args.content_type.unwrap_or_default(),
                partitions: args.partitions.unwrap_or(defaults.partitions),
            };
            verbs::create(Stream::new("", spec), args.common).await
        }
        Command::Query(query) => verbs::query::<Stream>(query).await,
        Command::Delete(args) => verbs::delete::<Stream>(args).await,
    }
}

impl Kind for Stream {
    const NOUN: &'static str = "stream";
    const NOUNS: &'static str = "streams";
    const COMMAND: &'static str = "stream";
    const COLUMNS: &'static [&'static str] = &["Gateway", "Content-Type"];
    const WAIT_TIMEOUT: &'static str = "10s";

    fn cells(&self) -> Vec<String> {
        vec![cell(&self.spec.gateway.name), cell(&self.spec.content_type)]
    }

    fn conditions(&self) -> &[Condition] {
        self.status.as_ref().map_or(&[], |s| &s.common.conditions)
    }
}
