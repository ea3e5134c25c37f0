//! Parsers of the flags that refer to streams, env values, secrets and config maps: each error
//! says what the flag accepts (clap adds which flag it was).

use k8s_openapi::api::core::v1::{ConfigMapKeySelector, EnvVar, EnvVarSource, SecretKeySelector};
use riff_actors::resources::{InputStreamBinding, OutputStreamBinding};

/// `--input [<alias>:]<stream>[@earliest|latest]` (riff's
/// `^(?:([^:]+):)?([^:@]+)(?:@(earliest|latest))?$`); alias and start offset are left empty for
/// the server to default.
pub fn parse_input(text: &str) -> Result<InputStreamBinding, String> {
    let malformed = || {
        format!("malformed input stream reference {text:?}: expected [<alias>:]<stream>[@earliest|latest]")
    };
    let (alias, rest) = split_alias(text).ok_or_else(malformed)?;
    let (stream, start_offset) = match rest.split_once('@') {
        Some((stream, offset @ ("earliest" | "latest"))) => (stream, offset),
        Some(_) => return Err(malformed()),
        None => (rest, ""),
    };
    if stream.is_empty() {
        return Err(malformed());
    }
    Ok(InputStreamBinding {
        stream: stream.to_owned(),
        alias: alias.to_owned(),
        start_offset: start_offset.to_owned(),
    })
}

/// `--output [<alias>:]<stream>` (riff's `^(?:([^:]+):)?([^:]+)$`).
pub fn parse_output(text: &str) -> Result<OutputStreamBinding, String> {
    match split_alias(text) {
        Some((alias, stream)) if !stream.is_empty() => Ok(OutputStreamBinding {
            stream: stream.to_owned(),
            alias: alias.to_owned(),
        }),
        _ => Err(format!(
            "malformed output stream reference {text:?}: expected [<alias>:]<stream>"
        )),
    }
}

/// `<alias>:<rest>` or `<rest>`: at most one colon, and a non-empty alias before it.
fn split_alias(text: &str) -> Option<(&str, &str)> {
    match text.split_once(':') {
        None => Some(("", text)),
        Some((alias, rest)) if !alias.is_empty() && !rest.contains(':') => Some((alias, rest)),
        Some(_) => None,
    }
}

/// `--env NAME=value`.
pub fn parse_env(text: &str) -> Result<EnvVar, String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok(EnvVar {
            name: name.to_owned(),
            value: Some(value.to_owned()),
            ..EnvVar::default()
        }),
        _ => Err(format!(
            "malformed environment variable {text:?}: expected NAME=value"
        )),
    }
}

/// `--env-from NAME=secretKeyRef:<secret>:<key>` or `NAME=configMapKeyRef:<config map>:<key>`.
pub fn parse_env_from(text: &str) -> Result<EnvVar, String> {
    let malformed = || {
        format!(
            "malformed environment variable source {text:?}: expected NAME=secretKeyRef:<secret>:<key> or NAME=configMapKeyRef:<config map>:<key>"
        )
    };
    let (name, source) = text.split_once('=').ok_or_else(malformed)?;
    let parts: Vec<&str> = source.split(':').collect();
    let source = match parts[..] {
        ["secretKeyRef", secret, key] if !secret.is_empty() && !key.is_empty() => EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: secret.to_owned(),
                key: key.to_owned(),
                optional: None,
            }),
            ..EnvVarSource::default()
        },
        ["configMapKeyRef", map, key] if !map.is_empty() && !key.is_empty() => EnvVarSource {
            config_map_key_ref: Some(ConfigMapKeySelector {
                name: map.to_owned(),
                key: key.to_owned(),
                optional: None,
            }),
            ..EnvVarSource::default()
        },
        _ => return Err(malformed()),
    };
    if name.is_empty() {
        return Err(malformed());
    }
    Ok(EnvVar {
        name: name.to_owned(),
        value_from: Some(source),
        ..EnvVar::default()
    })
}

/// `--content-type`: a MIME type, with a `/` that is not its last character.
pub fn parse_content_type(text: &str) -> Result<String, String> {
    match text.find('/') {
        Some(slash) if slash + 1 < text.len() => Ok(text.to_owned()),
        _ => Err(format!(
            "{text:?} is not a MIME type: expected <type>/<subtype>, e.g. application/json"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(alias: &str, stream: &str, start_offset: &str) -> InputStreamBinding {
        InputStreamBinding {
            stream: stream.into(),
            alias: alias.into(),
            start_offset: start_offset.into(),
        }
    }

    // Behaviour 77 of docs/riff-compatibility.md.
    #[test]
    fn inputs_take_an_optional_alias_and_start_offset() {
        assert_eq!(
            parse_input("a:s1@earliest"),
            Ok(input("a", "s1", "earliest"))
        );
        assert_eq!(parse_input("s2"), Ok(input("", "s2", "")));
        assert_eq!(parse_input("s3@latest"), Ok(input("", "s3", "latest")));
        assert_eq!(parse_input("a@b:s"), Ok(input("a@b", "s", "")));
    }

    // Behaviour 78 of docs/riff-compatibility.md.
    #[test]
    fn malformed_inputs_say_what_is_accepted() {
        for bad in [
            "a:b:c",
            "s@middle",
            "",
            ":s",
            "a:",
            "@earliest",
            "s@earliest@latest",
        ] {
            let error = parse_input(bad).unwrap_err();
            assert_eq!(
                error,
                format!("malformed input stream reference {bad:?}: expected [<alias>:]<stream>[@earliest|latest]")
            );
        }
    }

    #[test]
    fn outputs_take_an_optional_alias() {
        let output = |alias: &str, stream: &str| OutputStreamBinding {
            stream: stream.into(),
            alias: alias.into(),
        };
        assert_eq!(parse_output("o:s3"), Ok(output("o", "s3")));
        assert_eq!(parse_output("out"), Ok(output("", "out")));
        assert_eq!(parse_output("s@x"), Ok(output("", "s@x")));
        for bad in ["a:b:c", ":s", "a:", ""] {
            assert!(parse_output(bad)
                .unwrap_err()
                .starts_with("malformed output stream reference"));
        }
    }

    #[test]
    fn env_values_and_sources() {
        let env = parse_env("GREETING=hello=world").unwrap();
        assert_eq!(
            (env.name.as_str(), env.value.as_deref()),
            ("GREETING", Some("hello=world"))
        );
        assert_eq!(parse_env("EMPTY=").unwrap().value.as_deref(), Some(""));
        assert!(parse_env("=x").unwrap_err().contains("expected NAME=value"));
        assert!(parse_env("NAME").is_err());

        let secret = parse_env_from("PASSWORD=secretKeyRef:db:password").unwrap();
        let source = secret.value_from.unwrap().secret_key_ref.unwrap();
        assert_eq!(
            (
                secret.name.as_str(),
                source.name.as_str(),
                source.key.as_str()
            ),
            ("PASSWORD", "db", "password")
        );
        let map = parse_env_from("LEVEL=configMapKeyRef:settings:level").unwrap();
        let source = map.value_from.unwrap().config_map_key_ref.unwrap();
        assert_eq!(
            (source.name.as_str(), source.key.as_str()),
            ("settings", "level")
        );
        for bad in [
            "X=fieldRef:a:b",
            "X=secretKeyRef:a",
            "X=secretKeyRef::k",
            "=secretKeyRef:a:b",
            "X",
        ] {
            assert!(
                parse_env_from(bad)
                    .unwrap_err()
                    .contains("NAME=secretKeyRef:<secret>:<key>"),
                "{bad}"
            );
        }
    }

    // Behaviour 81 of docs/riff-compatibility.md (the content-type half).
    #[test]
    fn content_types_need_a_subtype() {
        assert_eq!(
            parse_content_type("application/json"),
            Ok("application/json".into())
        );
        for bad in ["text", "text/", ""] {
            assert!(parse_content_type(bad)
                .unwrap_err()
                .contains("expected <type>/<subtype>"));
        }
    }
}
