//! `riff streaming kafka-gateway` (alias `kafka`): gateways whose streams are Kafka topics.

use clap::Subcommand;
use riff_actors::resources::{
    Condition, KafkaGateway, KafkaGatewaySpec, KafkaSasl, KafkaTls, SaslMechanism, SecretKeyRef,
};

use super::args::{CreateArgs, DeleteArgs};
use super::kind::{Kind, PodLogs, GATEWAY_PODS};
use super::verbs::{self, Query};

/// The verbs of `kafka-gateway`.
#[derive(Subcommand)]
pub enum Command {
    /// Create a Kafka gateway.
    Create(Box<Create>),
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
    /// Connect with TLS (implied by the other `--tls-*` flags).
    #[arg(long)]
    tls: bool,
    /// The CA certificates (PEM) the brokers' certificates chain to, as `<secret>/<key>`.
    #[arg(long, value_name = "SECRET/KEY", value_parser = secret_key)]
    tls_ca_cert: Option<SecretKeyRef>,
    /// A client certificate (PEM) for mutual TLS, as `<secret>/<key>`.
    #[arg(long, value_name = "SECRET/KEY", value_parser = secret_key, requires = "tls_client_key")]
    tls_client_cert: Option<SecretKeyRef>,
    /// The client certificate's key (PEM), as `<secret>/<key>`.
    #[arg(long, value_name = "SECRET/KEY", value_parser = secret_key, requires = "tls_client_cert")]
    tls_client_key: Option<SecretKeyRef>,
    /// Authenticate with SASL: `PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512`.
    #[arg(long, value_name = "MECHANISM", value_parser = mechanism, requires_all = ["sasl_user", "sasl_password"])]
    sasl_mechanism: Option<SaslMechanism>,
    /// The SASL user name, as `<secret>/<key>`.
    #[arg(long, value_name = "SECRET/KEY", value_parser = secret_key, requires = "sasl_mechanism")]
    sasl_user: Option<SecretKeyRef>,
    /// The SASL password, as `<secret>/<key>`.
    #[arg(long, value_name = "SECRET/KEY", value_parser = secret_key, requires = "sasl_mechanism")]
    sasl_password: Option<SecretKeyRef>,
}

/// `<secret>/<key>`: a key of a Secret in the gateway's namespace.
fn secret_key(value: &str) -> Result<SecretKeyRef, String> {
    match value.split_once('/') {
        Some((name, key)) if !name.is_empty() && !key.is_empty() => Ok(SecretKeyRef {
            name: name.to_owned(),
            key: key.to_owned(),
        }),
        _ => Err(format!("{value:?} is not <secret>/<key>")),
    }
}

/// A SASL mechanism as Kafka names it.
fn mechanism(value: &str) -> Result<SaslMechanism, String> {
    serde_json::from_value(serde_json::Value::String(value.to_owned()))
        .map_err(|_| format!("{value:?} is not PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"))
}

impl Create {
    /// The spec the flags describe.
    fn spec(&self) -> KafkaGatewaySpec {
        let tls = self.tls
            || self.tls_ca_cert.is_some()
            || self.tls_client_cert.is_some()
            || self.tls_client_key.is_some();
        let sasl = match (self.sasl_mechanism, &self.sasl_user, &self.sasl_password) {
            (Some(mechanism), Some(user), Some(password)) => Some(KafkaSasl {
                mechanism,
                user: user.clone(),
                password: password.clone(),
            }),
            _ => None, // clap requires all three together
        };
        KafkaGatewaySpec {
            bootstrap_servers: self.bootstrap_servers.clone(),
            tls: tls.then(|| KafkaTls {
                enabled: None,
                ca_cert: self.tls_ca_cert.clone(),
                client_cert: self.tls_client_cert.clone(),
                client_key: self.tls_client_key.clone(),
            }),
            sasl,
        }
    }
}

/// Runs a `kafka-gateway` command.
pub async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Create(args) => {
            verbs::create(KafkaGateway::new("", args.spec()), args.common).await
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
