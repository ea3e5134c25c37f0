//! The controller group: 100 and 1000 streams and processors from created to Ready.

use crate::controller;
use crate::figures::Bench;

/// The controller's convergence on 100 and on 1000 streams and processors, against the same
/// API writes made in sequence.
pub async fn measure(bench: &mut Bench) {
    for resources in [100, 1000] {
        let converged = controller::convergence(resources).await;
        bench.figure(
            format!(
                "controller: {resources} streams + {resources} processors from created to Ready"
            ),
            converged.seconds,
            &format!(
                "the same {} API writes, one kube-rs client in sequence",
                converged.writes
            ),
            converged.baseline,
            "s",
            (resources == 1000).then_some("converges"),
            format!(
                "the controller process: CPU {:.2} s, peak RSS {:.0} MiB",
                converged.cpu, converged.peak_rss
            ),
        );
    }
}
