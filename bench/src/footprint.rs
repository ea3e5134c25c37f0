//! Resident memory of `riff local run` (with its function processes): with 1 and with 100 idle
//! processors, and over time under sustained overload (a producer faster than the processor).

use std::time::Duration;

use crate::kafka::{self, Commits, Tansu};
use crate::measure::rss_mib;
use crate::riff::{self, Gateway, Riff, TANSU_PROPERTIES};

/// YAML: gateway, streams `in` and `out`, and `processors` processors `p<i>` running
/// `pass-through` from `in` to `out` with count-1 windows.
fn manifests(processors: usize, gateway: Gateway) -> String {
    let mut yaml = riff::streams(gateway, 1);
    for i in 0..processors {
        yaml += "---\n";
        yaml += &riff::processor(&format!("p{i}"), "pass-through", "{count: 1}", &[]);
    }
    yaml
}

/// Peak resident MiB of `riff` alone, and of `riff` with its function processes, running
/// `processors` idle processors (in memory).
pub fn idle_rss(processors: usize) -> anyhow::Result<(f64, f64)> {
    let riff = Riff::start(&manifests(processors, Gateway::Memory), &[])?;
    std::thread::sleep(Duration::from_secs(2));
    Ok((rss_mib(riff.pid()).1, riff.rss().1))
}

/// Under a producer flooding its input on Kafka, faster than its one processor (count-1
/// windows) can go: resident MiB of `riff` with its function after `warm_up` and after
/// `duration` more, and the records its processor committed during `duration`.
pub fn overload_rss(
    tansu: &std::path::Path,
    warm_up: Duration,
    duration: Duration,
) -> anyhow::Result<(f64, f64, i64)> {
    let broker = Tansu::start(tansu);
    let bootstrap = broker.bootstrap.clone();
    let riff = Riff::start(&manifests(1, Gateway::Kafka(&bootstrap)), &TANSU_PROPERTIES)?;
    let commits = Commits::new(&bootstrap, "default_in", "p0", 1);
    let flooding = {
        let bootstrap = bootstrap.clone();
        let total = warm_up + duration;
        std::thread::spawn(move || kafka::flood(&bootstrap, "default_in", total))
    };
    std::thread::sleep(warm_up);
    let early = riff.rss().0;
    let committed = commits.committed()[0];
    flooding.join().unwrap();
    let late = riff.rss().0;
    let progress = commits.committed()[0] - committed;
    Ok((late, early, progress))
}
