#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine. Installs what the tests need when it is absent:
# the riff node function invoker (npm), tansu 0.6.0, a Kafka-compatible broker with its memory
# and SQLite storage engines (built from crates.io with one fix by tests/tansu/install.sh, about
# 12 minutes once), the confluent-kafka and prometheus-client Python packages (PyPI; the
# latter's OpenMetrics parser checks /metrics), kubernetes-validate (PyPI), which checks deploy/ against the Kubernetes
# schemas offline, the Prometheus Operator's models (npm @kubernetes-models/prometheus-operator), which check
# deploy/monitoring's PodMonitors, and grafana-foundation-sdk (PyPI, Grafana 11.6's dashboard schema), which checks
# its dashboard. Then builds every binary the end-to-end tests start, and tests.
set -euo pipefail
cd "$(dirname "$0")/.."

invoker=.tools/node-invoker
if [ ! -f "$invoker/node_modules/@projectriff/node-function-invoker/server.js" ]; then
  npm install --silent --no-audit --no-fund --prefix "$invoker" @projectriff/node-function-invoker@0.3.0
fi

models=.tools/kubernetes-models
if [ ! -d "$models/node_modules/@kubernetes-models/prometheus-operator" ]; then
  npm install --silent --no-audit --no-fund --prefix "$models" @kubernetes-models/prometheus-operator@6.0.0
fi

tests/tansu/install.sh

if ! python3 -c 'import confluent_kafka' 2>/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check confluent-kafka
fi

if ! python3 -c 'import prometheus_client' 2>/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check prometheus-client
fi

if ! python3 -c 'import kubernetes_validate' 2>/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check kubernetes-validate
fi

if ! python3 -c 'import grafana_foundation_sdk' 2>/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check 'grafana-foundation-sdk==1769699379!11.6.0'
fi

cargo build --workspace --bins
cargo test --workspace "$@"
