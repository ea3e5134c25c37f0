//! The Secrets `riff local run` resolves a KafkaGateway's `tls` and `sasl` with: the `kind:
//! Secret` documents of the manifests (`data`, base64, and `stringData`), then the files of
//! `--secret-dir` (`<dir>/<secret>/<key>`, as Secrets are mounted in a pod).

use std::collections::BTreeMap;
use std::path::PathBuf;

use k8s_openapi::api::core::v1::Secret;

use super::NamespacedName;
use crate::broker::kafka::{SecretFiles, SecretValues};
use crate::resources::SecretKeyRef;

/// Every Secret of the manifests, by namespace and name: key → value.
#[derive(Default)]
pub struct Secrets {
    declared: BTreeMap<NamespacedName, BTreeMap<String, String>>,
    dir: Option<PathBuf>,
}

impl Secrets {
    /// No Secret declared yet; those missing are looked up in `dir`.
    pub fn new(dir: Option<PathBuf>) -> Self {
        Secrets {
            declared: BTreeMap::new(),
            dir,
        }
    }

    /// Declares `secret` (its `stringData` wins over `data`, as the API server merges them).
    pub fn declare(&mut self, key: NamespacedName, secret: &Secret) {
        let data =
            secret.data.iter().flatten().map(|(name, value)| {
                (name.clone(), String::from_utf8_lossy(&value.0).into_owned())
            });
        let strings = secret.string_data.iter().flatten();
        let values = data
            .chain(strings.map(|(name, value)| (name.clone(), value.clone())))
            .collect();
        self.declared.insert(key, values);
    }

    /// The Secrets of `namespace`.
    pub fn of_namespace<'a>(&'a self, namespace: &'a str) -> impl SecretValues + 'a {
        Namespace {
            secrets: self,
            namespace,
        }
    }
}

/// The Secrets one namespace's references resolve to.
struct Namespace<'a> {
    secrets: &'a Secrets,
    namespace: &'a str,
}

impl SecretValues for Namespace<'_> {
    fn value(&self, reference: &SecretKeyRef) -> Result<String, String> {
        let key = (self.namespace.to_owned(), reference.name.clone());
        if let Some(values) = self.secrets.declared.get(&key) {
            return values.get(&reference.key).cloned().ok_or_else(|| {
                format!("Secret {:?} has no key {:?}", reference.name, reference.key)
            });
        }
        match &self.secrets.dir {
            Some(dir) => SecretFiles(dir.clone()).value(reference),
            None => Err(format!(
                "Secret {:?} not found: declare it in the manifests (kind: Secret) or give \
                 --secret-dir",
                reference.name
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::ByteString;

    fn reference(name: &str, key: &str) -> SecretKeyRef {
        SecretKeyRef {
            name: name.into(),
            key: key.into(),
        }
    }

    #[test]
    fn declared_secrets_come_first_then_the_secret_dir() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("files")).unwrap();
        std::fs::write(dir.path().join("files/user"), "bob").unwrap();
        let mut secrets = Secrets::new(Some(dir.path().to_owned()));
        let secret = Secret {
            data: Some(BTreeMap::from([(
                "user".into(),
                ByteString(b"alice".to_vec()),
            )])),
            string_data: Some(BTreeMap::from([("password".into(), "s3cret".into())])),
            ..Secret::default()
        };
        secrets.declare(("dev".into(), "creds".into()), &secret);
        let dev = secrets.of_namespace("dev");
        assert_eq!(dev.value(&reference("creds", "user")).unwrap(), "alice");
        assert_eq!(
            dev.value(&reference("creds", "password")).unwrap(),
            "s3cret"
        );
        let no_key = dev.value(&reference("creds", "token")).unwrap_err();
        assert_eq!(no_key, r#"Secret "creds" has no key "token""#);
        assert_eq!(dev.value(&reference("files", "user")).unwrap(), "bob");
        let other = secrets.of_namespace("prod");
        assert!(other.value(&reference("creds", "user")).is_err());
        let nowhere = Secrets::new(None);
        let missing = nowhere
            .of_namespace("dev")
            .value(&reference("creds", "user"));
        assert!(missing.unwrap_err().contains("--secret-dir"));
    }
}
