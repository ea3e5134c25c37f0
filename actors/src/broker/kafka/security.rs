//! What a KafkaGateway's `tls` and `sasl` resolve to: the certificates and credentials
//! themselves, read from Secrets, and the librdkafka properties they make. The values are never
//! printed: `Debug` says only which parts are set.

use std::path::{Path, PathBuf};

use crate::resources::{KafkaSecurityRefs, SaslMechanism, SecretKeyRef};

/// Where the pods the controller makes mount the Secrets a KafkaGateway references, one
/// directory per Secret: `<dir>/<secret>/<key>`.
pub const MOUNTED_SECRETS: &str = "/var/riff/kafka-secrets";

/// Where the values of Secret keys are read.
pub trait SecretValues {
    /// The value of `reference`, or why there is none (naming the Secret and key, never a value).
    fn value(&self, reference: &SecretKeyRef) -> Result<String, String>;
}

/// Secrets as files, `<dir>/<secret>/<key>`: the layout of Secrets mounted in a pod (one volume
/// per Secret under one directory), and of `riff local run --secret-dir`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretFiles(pub PathBuf);

impl SecretValues for SecretFiles {
    fn value(&self, reference: &SecretKeyRef) -> Result<String, String> {
        let secret = self.0.join(&reference.name);
        if !secret.is_dir() {
            return Err(format!(
                "Secret {:?} not found (no directory {})",
                reference.name,
                secret.display()
            ));
        }
        std::fs::read_to_string(secret.join(&reference.key)).map_err(|error| {
            format!(
                "Secret {:?} has no key {:?}: {error}",
                reference.name, reference.key
            )
        })
    }
}

/// The TLS material of a connection, PEM.
#[derive(Clone, Default, PartialEq, Eq)]
struct Tls {
    ca: Option<String>,
    certificate: Option<String>,
    key: Option<String>,
}

/// SASL credentials.
#[derive(Clone, PartialEq, Eq)]
struct Sasl {
    mechanism: SaslMechanism,
    user: String,
    password: String,
}

/// How a Kafka cluster's clients connect: plain text and anonymous by default.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct KafkaSecurity {
    tls: Option<Tls>,
    sasl: Option<Sasl>,
}

impl std::fmt::Debug for KafkaSecurity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tls = self.tls.as_ref().map(|tls| {
            let set = |part: &Option<String>, name| part.as_ref().map(|_| name);
            [
                set(&tls.ca, "ca"),
                set(&tls.certificate, "client certificate"),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
        });
        f.debug_struct("KafkaSecurity")
            .field("tls", &tls)
            .field("sasl", &self.sasl.as_ref().map(|sasl| sasl.mechanism))
            .finish()
    }
}

impl KafkaSecurity {
    /// Reads the values `refs` name from `secrets`; every missing Secret or key is named.
    pub fn resolve(refs: &KafkaSecurityRefs, secrets: &dyn SecretValues) -> Result<Self, String> {
        let mut missing = Vec::new();
        let mut read = |reference: &SecretKeyRef| match secrets.value(reference) {
            Ok(value) => Some(value),
            Err(why) => {
                missing.push(why);
                None
            }
        };
        let tls = refs
            .tls
            .as_ref()
            .filter(|tls| tls.enabled != Some(false))
            .map(|tls| Tls {
                ca: tls.ca_cert.as_ref().and_then(&mut read),
                certificate: tls.client_cert.as_ref().and_then(&mut read),
                key: tls.client_key.as_ref().and_then(&mut read),
            });
        let sasl = refs.sasl.as_ref().map(|sasl| Sasl {
            mechanism: sasl.mechanism,
            user: read(&sasl.user).unwrap_or_default().trim().to_owned(),
            password: read(&sasl.password)
                .unwrap_or_default()
                .trim_end_matches('\n')
                .to_owned(),
        });
        if missing.is_empty() {
            Ok(KafkaSecurity { tls, sasl })
        } else {
            Err(missing.join("; "))
        }
    }

    /// From references given as JSON (a pod's environment or stream binding), the values read
    /// from the Secrets mounted under `dir`.
    pub fn from_mounted(refs: &str, dir: &Path) -> Result<Self, String> {
        let refs: KafkaSecurityRefs = serde_json::from_str(refs)
            .map_err(|error| format!("the Kafka security references do not read: {error}"))?;
        Self::resolve(&refs, &SecretFiles(dir.to_owned()))
    }

    /// The librdkafka properties of the connection.
    pub(super) fn properties(&self) -> Vec<(&'static str, String)> {
        let protocol = match (&self.tls, &self.sasl) {
            (None, None) => return Vec::new(),
            (Some(_), None) => "ssl",
            (None, Some(_)) => "sasl_plaintext",
            (Some(_), Some(_)) => "sasl_ssl",
        };
        let mut properties = vec![("security.protocol", protocol.to_owned())];
        if let Some(tls) = &self.tls {
            let pem = [
                ("ssl.ca.pem", &tls.ca),
                ("ssl.certificate.pem", &tls.certificate),
                ("ssl.key.pem", &tls.key),
            ];
            for (property, value) in pem {
                if let Some(value) = value {
                    properties.push((property, value.clone()));
                }
            }
        }
        if let Some(sasl) = &self.sasl {
            properties.push(("sasl.mechanisms", sasl.mechanism.as_str().to_owned()));
            properties.push(("sasl.username", sasl.user.clone()));
            properties.push(("sasl.password", sasl.password.clone()));
        }
        properties
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::resources::{KafkaSasl, KafkaTls};

    struct Map(BTreeMap<(&'static str, &'static str), &'static str>);

    impl SecretValues for Map {
        fn value(&self, reference: &SecretKeyRef) -> Result<String, String> {
            let key = (reference.name.as_str(), reference.key.as_str());
            (self.0.iter().find(|(k, _)| **k == key))
                .map(|(_, v)| v.to_string())
                .ok_or_else(|| {
                    format!("Secret {:?} has no key {:?}", reference.name, reference.key)
                })
        }
    }

    fn key(name: &str, key: &str) -> SecretKeyRef {
        SecretKeyRef {
            name: name.into(),
            key: key.into(),
        }
    }

    fn refs() -> KafkaSecurityRefs {
        KafkaSecurityRefs {
            tls: Some(KafkaTls {
                ca_cert: Some(key("ca", "ca.crt")),
                ..KafkaTls::default()
            }),
            sasl: Some(KafkaSasl {
                mechanism: SaslMechanism::ScramSha512,
                user: key("creds", "user"),
                password: key("creds", "password"),
            }),
        }
    }

    #[test]
    fn tls_and_sasl_become_librdkafka_properties_and_debug_shows_no_value() {
        let secrets = Map(BTreeMap::from([
            (("ca", "ca.crt"), "-----BEGIN CERTIFICATE-----"),
            (("creds", "user"), "alice\n"),
            (("creds", "password"), "s3cret\n"),
        ]));
        let security = KafkaSecurity::resolve(&refs(), &secrets).unwrap();
        let properties: BTreeMap<_, _> = security.properties().into_iter().collect();
        assert_eq!(properties["security.protocol"], "sasl_ssl");
        assert_eq!(properties["sasl.mechanisms"], "SCRAM-SHA-512");
        assert_eq!(properties["sasl.username"], "alice");
        assert_eq!(properties["sasl.password"], "s3cret");
        assert_eq!(properties["ssl.ca.pem"], "-----BEGIN CERTIFICATE-----");
        let shown = format!("{security:?}");
        assert!(
            !shown.contains("s3cret") && !shown.contains("alice"),
            "{shown}"
        );
        assert!(shown.contains("ScramSha512"), "{shown}");
        assert!(KafkaSecurity::default().properties().is_empty());
    }

    #[test]
    fn every_missing_secret_key_is_named() {
        let secrets = Map(BTreeMap::from([(("creds", "user"), "alice")]));
        let missing = KafkaSecurity::resolve(&refs(), &secrets).unwrap_err();
        assert!(
            missing.contains(r#"Secret "ca" has no key "ca.crt""#),
            "{missing}"
        );
        assert!(
            missing.contains(r#"Secret "creds" has no key "password""#),
            "{missing}"
        );
    }

    #[test]
    fn secret_files_are_read_as_mounted() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("creds")).unwrap();
        std::fs::write(dir.path().join("creds/user"), "alice").unwrap();
        let files = SecretFiles(dir.path().to_owned());
        assert_eq!(files.value(&key("creds", "user")).unwrap(), "alice");
        let no_key = files.value(&key("creds", "password")).unwrap_err();
        assert!(
            no_key.starts_with(r#"Secret "creds" has no key "password""#),
            "{no_key}"
        );
        let no_secret = files.value(&key("other", "user")).unwrap_err();
        assert!(
            no_secret.starts_with(r#"Secret "other" not found"#),
            "{no_secret}"
        );
    }
}
