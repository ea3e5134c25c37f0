//! Acknowledgement handles: each record read travels with the handle that commits its position
//! (as Numaflow's `AckHandle`). A window acknowledges its records once its call succeeded; a
//! handle dropped unacknowledged (a failed or abandoned pipeline) commits nothing, so its record
//! is read again. Either way the record's share of the in-flight capacity is given back.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::{oneshot, Notify};

use super::capacity::Permit;
use crate::broker::Committer;
use crate::supervision::Backoff;

/// The least time between two commits of one input: a busy processor commits at most 100 times
/// a second, each commit carrying what was acknowledged meanwhile.
const COMMIT_INTERVAL: Duration = Duration::from_millis(10);
/// The first wait before a failed commit is sent again; it doubles up to [`COMMIT_RETRY_MAX`].
const COMMIT_RETRY_INITIAL: Duration = Duration::from_millis(200);
/// The longest wait between two attempts of a failed commit.
const COMMIT_RETRY_MAX: Duration = Duration::from_secs(10);

/// The position of one record read, and its share of the pipeline's capacity.
pub struct AckHandle {
    partition: u32,
    offset: u64,
    commits: Arc<Commits>,
    permit: Permit,
}

impl AckHandle {
    /// The handle of the record at `offset` of `partition`, committed through `commits`.
    pub(super) fn new(partition: u32, offset: u64, commits: Arc<Commits>, permit: Permit) -> Self {
        AckHandle {
            partition,
            offset,
            commits,
            permit,
        }
    }

    /// The payload bytes the record holds of the pipeline's capacity.
    pub fn units(&self) -> u64 {
        self.permit.units()
    }

    /// Where the record's position is committed.
    pub fn commits(&self) -> &Arc<Commits> {
        &self.commits
    }
}

/// Records acknowledged one by one and settled together (however many: nothing is kept per
/// record): the highest position of each input partition is committed, and their capacity is
/// given back at once.
#[derive(Default)]
pub struct Acks {
    highest: Vec<(Arc<Commits>, u32, u64)>,
    /// The records' shares of the capacity, merged.
    permits: Option<Permit>,
}

impl Acks {
    /// The record of `handle` was processed.
    pub fn add(&mut self, handle: AckHandle) {
        let seen = self.highest.iter_mut().find(|(commits, partition, _)| {
            *partition == handle.partition && Arc::ptr_eq(commits, &handle.commits)
        });
        match seen {
            Some((_, _, offset)) => *offset = (*offset).max(handle.offset),
            None => self
                .highest
                .push((handle.commits, handle.partition, handle.offset)),
        }
        match &mut self.permits {
            Some(permits) => permits.merge(handle.permit),
            None => self.permits = Some(handle.permit),
        }
    }

    /// The payload bytes of the records added (their merged permit's: a pipeline's capacity
    /// holds at most `u32::MAX` of them).
    pub fn units(&self) -> u64 {
        self.permits.as_ref().map_or(0, Permit::units)
    }

    /// Commits the positions (in the background, together with those acknowledged meanwhile)
    /// and gives the capacity back.
    pub fn settle(self) {
        for (commits, partition, offset) in self.highest {
            commits.add(partition, offset);
        }
    }
}

/// The positions to commit of one input's subscription: committed one commit at a time, at least
/// [`COMMIT_INTERVAL`] apart, those acknowledged meanwhile sent together as the next one, so
/// commits never hold up reading.
pub struct Commits {
    topic: String,
    committer: Arc<dyn Committer>,
    state: Mutex<State>,
    /// Ends a pause between commits: someone waits for them.
    hurry: Notify,
}

#[derive(Default)]
struct State {
    /// Highest acknowledged offset per partition, not yet sent.
    pending: BTreeMap<u32, u64>,
    committing: bool,
    /// A commit failed and waits for its next attempt.
    retrying: bool,
    /// Waiting for every acknowledged position to be committed (or to have failed).
    flushed: Vec<oneshot::Sender<()>>,
}

impl State {
    /// Keeps `offset` as the position of `partition` to commit, unless a higher one is kept.
    fn keep(&mut self, partition: u32, offset: u64) {
        let pending = self.pending.entry(partition).or_default();
        *pending = (*pending).max(offset);
    }

    /// Tells whoever waits for the commits that they were sent (committed or failed).
    fn release_waiters(&mut self) {
        self.flushed.drain(..).for_each(|done| _ = done.send(()));
    }
}

impl Commits {
    /// Commits of `topic` through `committer`.
    pub(super) fn new(topic: String, committer: Arc<dyn Committer>) -> Arc<Self> {
        Arc::new(Commits {
            topic,
            committer,
            state: Mutex::default(),
            hurry: Notify::new(),
        })
    }

    fn add(self: &Arc<Self>, partition: u32, offset: u64) {
        let mut state = self.state.lock();
        state.keep(partition, offset);
        if !state.committing {
            state.committing = true;
            tokio::spawn(Arc::clone(self).commit());
        }
    }

    /// Sends the pending positions until none are left. A failed commit is sent again (with
    /// the positions acknowledged meanwhile) after a backoff, for as long as the subscription
    /// lasts: a processor that goes idle right after a broker outage still commits its last
    /// records, instead of reading them again at its next restart and showing them as lag.
    async fn commit(self: Arc<Self>) {
        let mut backoff = Backoff::new(COMMIT_RETRY_INITIAL, COMMIT_RETRY_MAX);
        let mut commits = self;
        loop {
            let positions: Vec<_> = {
                let mut state = commits.state.lock();
                state.retrying = false;
                if state.pending.is_empty() {
                    state.committing = false;
                    state.release_waiters();
                    return;
                }
                std::mem::take(&mut state.pending).into_iter().collect()
            };
            let Err(error) = commits.committer.commit(&positions).await else {
                backoff.reset();
                commits.pause().await;
                continue;
            };
            let delay = backoff.next_delay();
            tracing::warn!(
                topic = %commits.topic, %error, retry_in = ?delay,
                "commit failed; retrying (records processed since the last commit are read \
                 again if the processor stops first)"
            );
            {
                let mut state = commits.state.lock();
                for (partition, offset) in positions {
                    state.keep(partition, offset);
                }
                // Whoever waits for the commits learns that they failed, rather than waiting on.
                state.release_waiters();
                state.retrying = true;
            }
            // The subscription may end meanwhile: nothing is left to commit for it then.
            let subscription = Arc::downgrade(&commits);
            drop(commits);
            tokio::time::sleep(delay).await;
            let Some(lasting) = subscription.upgrade() else {
                return;
            };
            commits = lasting;
        }
    }

    /// Waits [`COMMIT_INTERVAL`] after a commit, for the positions acknowledged meanwhile to go
    /// together in the next one, unless someone waits for them to be committed.
    async fn pause(&self) {
        if self.state.lock().flushed.is_empty() {
            tokio::select! {
                _ = tokio::time::sleep(COMMIT_INTERVAL) => {}
                _ = self.hurry.notified() => {}
            }
        }
    }

    /// Resolves once every position acknowledged so far was committed (or failed to).
    pub async fn flushed(&self) {
        let waiting = {
            let mut state = self.state.lock();
            if !state.committing || state.retrying {
                return;
            }
            let (done, waiting) = oneshot::channel();
            state.flushed.push(done);
            waiting
        };
        self.hurry.notify_one();
        _ = waiting.await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use async_trait::async_trait;
    use parking_lot::Mutex;

    use super::Commits;
    use crate::broker::{BrokerError, Committer};

    /// A committer whose first `failures` commits fail, and that remembers every commit sent.
    struct Flaky {
        failures: Mutex<u32>,
        sent: Mutex<Vec<Vec<(u32, u64)>>>,
    }

    impl Flaky {
        fn failing(failures: u32) -> Arc<Flaky> {
            Arc::new(Flaky {
                failures: Mutex::new(failures),
                sent: Mutex::default(),
            })
        }
    }

    #[async_trait]
    impl Committer for Flaky {
        async fn commit(&self, positions: &[(u32, u64)]) -> Result<(), BrokerError> {
            self.sent.lock().push(positions.to_vec());
            let mut failures = self.failures.lock();
            if *failures == 0 {
                return Ok(());
            }
            *failures -= 1;
            Err(BrokerError::Unavailable("the broker is away".into()))
        }
    }

    #[tokio::test]
    async fn a_failed_commit_is_sent_again_with_what_was_acknowledged_meanwhile() {
        let committer = Flaky::failing(2);
        let commits = Commits::new("in".into(), committer.clone());
        commits.add(0, 5);
        commits.flushed().await; // the first attempt failed
        commits.add(1, 7);
        commits.add(0, 3); // older than what failed: the failed position stays
        let deadline = Instant::now() + Duration::from_secs(10);
        while commits.state.lock().committing {
            assert!(Instant::now() < deadline, "commits never succeeded");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let sent = committer.sent.lock().clone();
        assert_eq!(
            sent.len(),
            3,
            "two failed attempts, then one that succeeded"
        );
        assert_eq!(sent[0], vec![(0, 5)]);
        assert_eq!(sent[2], vec![(0, 5), (1, 7)]);
    }

    #[tokio::test]
    async fn a_busy_input_commits_once_an_interval_and_its_last_position_is_committed() {
        let committer = Flaky::failing(0);
        let commits = Commits::new("in".into(), committer.clone());
        let started = Instant::now();
        for offset in 1..=100 {
            commits.add(0, offset);
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        commits.flushed().await;
        let elapsed = started.elapsed();
        let sent = committer.sent.lock().clone();
        // One an interval, the first and the one the drain hurried.
        let most = (elapsed.as_millis() / super::COMMIT_INTERVAL.as_millis() + 2) as usize;
        assert!(
            sent.len() <= most,
            "{} commits in {elapsed:?}, at most {most} expected",
            sent.len()
        );
        assert_eq!(sent.last(), Some(&vec![(0, 100)]), "the last position");
    }

    #[tokio::test]
    async fn retries_end_with_the_subscription() {
        let committer = Flaky::failing(u32::MAX);
        let commits = Commits::new("in".into(), committer.clone());
        commits.add(0, 5);
        commits.flushed().await;
        drop(commits);
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(
            committer.sent.lock().len(),
            1,
            "no commit after the subscription ended"
        );
    }
}
