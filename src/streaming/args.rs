//! The flags every kind shares: namespace, names, `list`, `delete` and `create` options.

use std::time::Duration;

use clap::ArgGroup;

/// `-n/--namespace`.
#[derive(clap::Args)]
pub struct Namespace {
    /// The namespace (default: the kubeconfig's).
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
}

/// The arguments of `list`.
#[derive(clap::Args)]
pub struct ListArgs {
    /// The namespace (default: the kubeconfig's).
    #[arg(short = 'n', long, conflicts_with = "all_namespaces")]
    pub namespace: Option<String>,
    /// List the resources of every namespace.
    #[arg(long)]
    pub all_namespaces: bool,
}

/// The arguments of a command on one resource (`status`, `tail`).
#[derive(clap::Args)]
pub struct NameArgs {
    /// The resource's name.
    pub name: String,
    #[command(flatten)]
    pub namespace: Namespace,
}

/// The arguments of `delete`: names, or `--all`.
#[derive(clap::Args)]
#[command(group(ArgGroup::new("targets").required(true).args(["names", "all"])))]
pub struct DeleteArgs {
    /// The names of the resources to delete.
    pub names: Vec<String>,
    /// Delete every resource of this kind in the namespace.
    #[arg(long, conflicts_with = "names")]
    pub all: bool,
    #[command(flatten)]
    pub namespace: Namespace,
}

/// The arguments every `create` takes.
#[derive(clap::Args)]
pub struct CreateArgs {
    /// The resource's name.
    pub name: String,
    #[command(flatten)]
    pub namespace: Namespace,
    /// Print the resource as YAML to stdout instead of creating it (messages go to stderr).
    #[arg(long)]
    pub dry_run: bool,
    /// Wait until the resource is ready, printing the logs of its pods meanwhile.
    #[arg(long, conflicts_with = "dry_run")]
    pub tail: bool,
    /// How long --tail waits, e.g. 30s or 1m30s (default: 1m for gateways, 10s for streams,
    /// 10m for processors).
    #[arg(long, value_name = "DURATION", value_parser = GoDuration::parse, allow_hyphen_values = true)]
    pub wait_timeout: Option<GoDuration>,
}

/// A duration given as a Go duration (`10s`, `1m30s`), kept as written for messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoDuration {
    /// As written.
    pub text: String,
    /// Its value.
    pub duration: Duration,
}

impl GoDuration {
    /// Parses a non-negative Go duration; the error says what is accepted.
    pub fn parse(text: &str) -> Result<GoDuration, String> {
        riff_actors::resources::parse_go_duration(text).map(|duration| GoDuration {
            text: text.to_owned(),
            duration,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_go_durations_and_not_negative() {
        let parsed = GoDuration::parse("1m30s").unwrap();
        assert_eq!(parsed.duration, Duration::from_secs(90));
        assert_eq!(parsed.text, "1m30s");
        assert_eq!(
            GoDuration::parse("-1s").unwrap_err(),
            "must not be negative"
        );
        assert!(GoDuration::parse("10").unwrap_err().contains("10s"));
    }
}
