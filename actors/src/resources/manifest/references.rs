//! Cross-checks between loaded resources: the gateways and streams they name must be loaded too.

use std::collections::HashSet;

use super::{Culprit, Loaded, ManifestError, Problem};
use crate::resources::ManifestObject;

/// Checks that every Stream's gateway and every processor's streams are among `resources`, in the
/// same namespace.
pub fn check_references(resources: &[Loaded]) -> Result<(), ManifestError> {
    let key = |loaded: &Loaded| {
        (
            loaded.resource.namespace().to_owned(),
            loaded.resource.name().to_owned(),
        )
    };
    let gateways: HashSet<_> = resources
        .iter()
        .filter(|l| l.resource.is_gateway())
        .map(key)
        .collect();
    let streams: HashSet<_> = resources
        .iter()
        .filter(|l| matches!(l.resource, ManifestObject::Stream(_)))
        .map(key)
        .collect();
    let mut problems = Vec::new();
    for loaded in resources {
        let namespace = loaded.resource.namespace();
        let mut require = |known: &HashSet<(String, String)>, target, field: String, name: &str| {
            if !known.contains(&(namespace.to_owned(), name.to_owned())) {
                problems.push(Problem::NotFound {
                    culprit: Culprit::of(loaded),
                    field,
                    target,
                    name: name.to_owned(),
                });
            }
        };
        match &loaded.resource {
            ManifestObject::Stream(stream) => {
                let target = "Gateway, KafkaGateway or InMemoryGateway";
                let field = "spec.gateway.name".to_owned();
                require(&gateways, target, field, &stream.spec.gateway.name);
            }
            ManifestObject::Processor(processor) => {
                for (i, input) in processor.spec.inputs.iter().enumerate() {
                    let field = format!("spec.inputs[{i}].stream");
                    require(&streams, "Stream", field, &input.stream);
                }
                for (i, output) in processor.spec.outputs.iter().enumerate() {
                    let field = format!("spec.outputs[{i}].stream");
                    require(&streams, "Stream", field, &output.stream);
                }
                let delivery = processor.spec.delivery.as_ref();
                if let Some(dead_letter) = delivery.and_then(|d| d.dead_letter.as_ref()) {
                    let field = "spec.delivery.deadLetter.stream".to_owned();
                    require(&streams, "Stream", field, &dead_letter.stream);
                }
            }
            _ => {}
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ManifestError { problems })
    }
}

#[cfg(test)]
mod tests {
    use super::super::load;
    use super::super::test_support::{Dir, DOCS_EXAMPLE, OUT_STREAM};
    use super::check_references;

    #[test]
    fn references_must_resolve_in_the_same_namespace() {
        let dir = Dir::new(&[(
            "all.yaml",
            &format!(
                "{DOCS_EXAMPLE}---\n{}---\n{}",
                OUT_STREAM.replace("name: out}", "name: out, namespace: other}"),
                OUT_STREAM
                    .replace("name: out}", "name: lonely}")
                    .replace("franz", "kafka")
            ),
        )]);
        let loaded = load(&[dir.path("all.yaml")]).unwrap();
        let err = check_references(&loaded).unwrap_err().to_string();
        assert_eq!(
            err.replace(&dir.0.path().display().to_string(), "dir"),
            "dir/all.yaml: Processor default/time-averager: spec.outputs[0].stream: Not found: \"out\" (no Stream \"out\" in namespace \"default\")\n\
             dir/all.yaml: Stream other/out: spec.gateway.name: Not found: \"franz\" (no Gateway, KafkaGateway or InMemoryGateway \"franz\" in namespace \"other\")\n\
             dir/all.yaml: Stream default/lonely: spec.gateway.name: Not found: \"kafka\" (no Gateway, KafkaGateway or InMemoryGateway \"kafka\" in namespace \"default\")"
        );
    }

    #[test]
    fn processor_inputs_must_name_streams() {
        let dir = Dir::new(&[(
            "all.yaml",
            &DOCS_EXAMPLE.replace("[{stream: in}]", "[{stream: inn}]"),
        )]);
        let loaded = load(&[dir.path("all.yaml")]).unwrap();
        let err = check_references(&loaded).unwrap_err();
        assert!(err.to_string().contains(
            r#"Processor default/time-averager: spec.inputs[0].stream: Not found: "inn" (no Stream "inn" in namespace "default")"#
        ));
        assert_eq!(err.problems.len(), 2);
    }
}
