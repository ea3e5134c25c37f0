//! Our extension of `KafkaGateway.spec`: `tls` and `sasl`, how riff reaches a Kafka cluster that
//! encrypts or authenticates its connections (riff's own open request, projectriff/riff#1364).
//! Every secret value is a reference to a key of a Secret in the gateway's namespace, never
//! inline: the controller carries references into the pods it makes, which mount the Secrets.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::field_error::{FieldError, FieldErrors};

/// A key of a Secret in the gateway's namespace.
#[derive(
    Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    /// The Secret's name.
    #[serde(default)]
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// The key of the Secret's data.
    #[serde(default)]
    #[schemars(length(min = 1, max = 253))]
    pub key: String,
}

impl std::fmt::Display for SecretKeyRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "key {:?} of Secret {:?}", self.key, self.name)
    }
}

/// `spec.tls`: the connections to the brokers are encrypted.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "has(self.clientCert) == has(self.clientKey)",
    "message": "clientCert and clientKey go together",
}]))]
pub struct KafkaTls {
    /// TLS is used (default true; `false` keeps the references but connects in plain text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// The CA certificates (PEM) the brokers' certificates must chain to; the system's trusted
    /// CAs when absent. A broker's certificate must name the host it is reached by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_cert: Option<SecretKeyRef>,
    /// The client certificate (PEM) for mutual TLS, with `clientKey`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_cert: Option<SecretKeyRef>,
    /// The client certificate's private key (PEM, unencrypted), with `clientCert`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_key: Option<SecretKeyRef>,
}

/// A SASL mechanism Kafka offers.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum SaslMechanism {
    #[default]
    #[serde(rename = "PLAIN")]
    Plain,
    #[serde(rename = "SCRAM-SHA-256")]
    ScramSha256,
    #[serde(rename = "SCRAM-SHA-512")]
    ScramSha512,
}

impl SaslMechanism {
    /// The name Kafka (and librdkafka's `sasl.mechanisms`) gives it.
    pub fn as_str(self) -> &'static str {
        match self {
            SaslMechanism::Plain => "PLAIN",
            SaslMechanism::ScramSha256 => "SCRAM-SHA-256",
            SaslMechanism::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}

/// `spec.sasl`: riff authenticates to the brokers as a user.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KafkaSasl {
    /// `PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512`.
    pub mechanism: SaslMechanism,
    /// The user name.
    pub user: SecretKeyRef,
    /// The user's password.
    pub password: SecretKeyRef,
}

/// How a KafkaGateway's clients connect: its `tls` and `sasl`, references only. The controller
/// hands this (as JSON) to the pods that reach the cluster, beside the Secrets they mount.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct KafkaSecurityRefs {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<KafkaTls>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sasl: Option<KafkaSasl>,
}

impl KafkaSecurityRefs {
    /// Plain text and no authentication.
    pub fn is_empty(&self) -> bool {
        self.tls.is_none() && self.sasl.is_none()
    }

    /// Every Secret key the connection needs, in a stable order.
    pub fn secret_refs(&self) -> Vec<&SecretKeyRef> {
        let tls = self.tls.iter().filter(|tls| tls.enabled != Some(false));
        let tls_refs = tls.flat_map(|tls| [&tls.ca_cert, &tls.client_cert, &tls.client_key]);
        let mut refs: Vec<&SecretKeyRef> = tls_refs.flatten().collect();
        refs.extend(
            self.sasl
                .iter()
                .flat_map(|sasl| [&sasl.user, &sasl.password]),
        );
        refs
    }

    /// Field errors under `spec`: references need a name and a key; a client certificate needs
    /// its key.
    pub fn validate(&self) -> FieldErrors {
        let mut errors = FieldErrors::new();
        let check = |errors: &mut FieldErrors, path: String, reference: &SecretKeyRef| {
            if reference.name.trim().is_empty() {
                errors.push(FieldError::required(&format!("{path}.name"), ""));
            }
            if reference.key.trim().is_empty() {
                errors.push(FieldError::required(&format!("{path}.key"), ""));
            }
        };
        if let Some(tls) = &self.tls {
            for (field, reference) in [
                ("caCert", &tls.ca_cert),
                ("clientCert", &tls.client_cert),
                ("clientKey", &tls.client_key),
            ] {
                if let Some(reference) = reference {
                    check(&mut errors, format!("spec.tls.{field}"), reference);
                }
            }
            if tls.client_cert.is_some() != tls.client_key.is_some() {
                errors.push(FieldError::invalid(
                    "spec.tls",
                    "",
                    "clientCert and clientKey go together",
                ));
            }
        }
        if let Some(sasl) = &self.sasl {
            check(&mut errors, "spec.sasl.user".into(), &sasl.user);
            check(&mut errors, "spec.sasl.password".into(), &sasl.password);
        }
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str, key: &str) -> SecretKeyRef {
        SecretKeyRef {
            name: name.into(),
            key: key.into(),
        }
    }

    #[test]
    fn references_name_a_secret_and_a_key_and_client_certificates_come_with_their_key() {
        let refs = KafkaSecurityRefs {
            tls: Some(KafkaTls {
                client_cert: Some(key("tls", "")),
                ..KafkaTls::default()
            }),
            sasl: Some(KafkaSasl {
                mechanism: SaslMechanism::ScramSha512,
                user: key("", "user"),
                password: key("creds", "password"),
            }),
        };
        let errors = refs.validate().to_string();
        assert!(
            errors.contains("spec.tls.clientCert.key: Required value"),
            "{errors}"
        );
        assert!(errors.contains("spec.tls: Invalid value"), "{errors}");
        assert!(
            errors.contains("clientCert and clientKey go together"),
            "{errors}"
        );
        assert!(
            errors.contains("spec.sasl.user.name: Required value"),
            "{errors}"
        );
        assert!(!errors.contains("password"), "{errors}");
    }

    #[test]
    fn the_keys_to_mount_are_listed_and_disabled_tls_needs_none() {
        let mut refs = KafkaSecurityRefs {
            tls: Some(KafkaTls {
                ca_cert: Some(key("ca", "ca.crt")),
                ..KafkaTls::default()
            }),
            sasl: Some(KafkaSasl {
                mechanism: SaslMechanism::Plain,
                user: key("creds", "user"),
                password: key("creds", "password"),
            }),
        };
        let names = |refs: &KafkaSecurityRefs| {
            let refs = refs.secret_refs().into_iter();
            refs.map(|r| format!("{}/{}", r.name, r.key))
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&refs), ["ca/ca.crt", "creds/user", "creds/password"]);
        refs.tls.as_mut().unwrap().enabled = Some(false);
        assert_eq!(names(&refs), ["creds/user", "creds/password"]);
        assert!(!refs.is_empty());
        assert!(KafkaSecurityRefs::default().is_empty());
    }

    #[test]
    fn mechanisms_read_as_kafka_names_them() {
        let sasl: KafkaSasl = serde_json::from_str(
            r#"{"mechanism": "SCRAM-SHA-256", "user": {"name": "c", "key": "u"}, "password": {"name": "c", "key": "p"}}"#,
        )
        .unwrap();
        assert_eq!(sasl.mechanism.as_str(), "SCRAM-SHA-256");
        let unknown = serde_json::from_str::<SaslMechanism>(r#""GSSAPI""#).unwrap_err();
        assert!(unknown.to_string().contains("PLAIN"), "{unknown}");
    }
}
