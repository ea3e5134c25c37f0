//! `deploy/monitoring/riff-dashboard.json` is a Grafana dashboard (every field it sets survives
//! a round trip through the models of Grafana 11.6's dashboard schema, PyPI
//! `grafana-foundation-sdk`), and every query in it parses as PromQL and names metrics that a
//! sidecar and a gateway export during a real run.

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use promql_parser::parser::{self, Expr};
use promql_parser::util::{walk_expr, ExprVisitor};
use serde_json::Value;

use crate::metrics::openmetrics;
use crate::sidecar::Deployment;
use crate::support::*;

fn dashboard() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/deploy/monitoring/riff-dashboard.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// What the dashboard's round trip through the schema's models lost or changed (empty when
/// nothing was).
fn schema_losses(dashboard: &Value) -> String {
    const ROUND_TRIP: &str = r#"
import json, sys
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import Dashboard
ours = json.load(sys.stdin)
back = json.loads(json.dumps(Dashboard.from_json(ours), cls=JSONEncoder))
def compare(a, b, path):
    if isinstance(a, dict) and isinstance(b, dict):
        for key in a:
            if key in b: compare(a[key], b[key], f"{path}/{key}")
            else: print(f"{path}/{key}: not in the schema")
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)): compare(x, y, f"{path}/{i}")
    elif a != b:
        print(f"{path}: {a!r} became {b!r}")
compare(ours, back, "")
"#;
    let input = serde_json::to_vec(dashboard).unwrap();
    let mut round_trip = Command::new("python3");
    round_trip.args(["-c", ROUND_TRIP]);
    let output = riff_testkit::run_with_input("python3", &mut round_trip, &input);
    assert!(
        output.status.success(),
        "grafana-foundation-sdk (run tests/run.sh): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Every PromQL query of the dashboard: its panels' targets and its variables' `label_values`
/// selectors, with Grafana's variables given example values.
fn queries(dashboard: &Value) -> Vec<String> {
    let targets = dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|panel| panel["targets"].as_array().into_iter().flatten())
        .map(|target| target["expr"].as_str().unwrap().to_owned());
    let variables = dashboard["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|variable| variable["type"] == "query")
        .map(|variable| {
            let query = variable["query"]["query"].as_str().unwrap();
            let inner = query.strip_prefix("label_values(").unwrap();
            inner[..inner.rfind(',').unwrap()].to_owned()
        });
    targets
        .chain(variables)
        .map(|query| {
            query
                .replace("$__rate_interval", "1m")
                .replace("$namespace", ".*")
                .replace("$processor", ".*")
        })
        .collect()
}

/// The metric names a query selects.
fn metric_names(query: &str) -> Vec<String> {
    struct Names(Vec<String>);
    impl ExprVisitor for Names {
        type Error = ();
        fn pre_visit(&mut self, expr: &Expr) -> Result<bool, ()> {
            let selector = match expr {
                Expr::VectorSelector(selector) => selector,
                Expr::MatrixSelector(matrix) => &matrix.vs,
                _ => return Ok(true),
            };
            self.0.extend(selector.name.clone());
            Ok(true)
        }
    }
    let expr = parser::parse(query).unwrap_or_else(|error| panic!("{query}: {error}"));
    let mut names = Names(Vec::new());
    walk_expr(&mut names, &expr).unwrap();
    assert!(!names.0.is_empty(), "{query} selects no metric by name");
    names.0
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_is_grafana_json_whose_queries_name_exported_metrics() {
    let dashboard = dashboard();
    let losses = schema_losses(&dashboard);
    assert!(
        losses.is_empty(),
        "not Grafana's dashboard schema:\n{losses}"
    );

    let deployment = Deployment::start(None);
    let gateway = Gateway::connect(&deployment.gateway).await;
    gateway.publish_numbers("numbers", [2, 3]).await;
    gateway.read("squares", 2, Duration::from_secs(20)).await;
    let scrape = |port: u16| openmetrics(&http(port, "GET", "/metrics", "").1);
    let exported: BTreeSet<String> = eventually("the lag", Duration::from_secs(20), || {
        let samples = scrape(deployment.status_port);
        let lag = samples.iter().any(|(name, ..)| name == "riff_consumer_lag");
        lag.then_some(samples)
    })
    .into_iter()
    .chain(scrape(deployment.provisioner_port))
    .map(|(name, ..)| name)
    .collect();
    for query in queries(&dashboard) {
        for name in metric_names(&query) {
            assert!(
                exported.contains(&name),
                "{name} (in {query}) is not exported: {exported:?}"
            );
        }
    }
}
