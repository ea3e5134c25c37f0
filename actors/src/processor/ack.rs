//! Acknowledgement handles: each record read travels with the handle that commits its position
//! (as Numaflow's `AckHandle`). A window acknowledges its records once its call succeeded; a
//! handle dropped unacknowledged (a failed or abandoned pipeline) commits nothing, so its record
//! is read again. Either way the record's share of the in-flight capacity is given back.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::oneshot;

use super::capacity::Permit;
use crate::broker::Committer;

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

/// The positions to commit of one input's subscription: committed one commit at a time, those
/// acknowledged during a commit sent together as the next one, so commits never hold up reading.
pub struct Commits {
    topic: String,
    committer: Arc<dyn Committer>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Highest acknowledged offset per partition, not yet sent.
    pending: BTreeMap<u32, u64>,
    committing: bool,
    /// Waiting for every acknowledged position to be committed (or to have failed).
    flushed: Vec<oneshot::Sender<()>>,
}

impl Commits {
    /// Commits of `topic` through `committer`.
    pub(super) fn new(topic: String, committer: Arc<dyn Committer>) -> Arc<Self> {
        Arc::new(Commits {
            topic,
            committer,
            state: Mutex::default(),
        })
    }

    fn add(self: &Arc<Self>, partition: u32, offset: u64) {
        let mut state = self.state.lock();
        let pending = state.pending.entry(partition).or_default();
        *pending = (*pending).max(offset);
        if !state.committing {
            state.committing = true;
            tokio::spawn(Arc::clone(self).commit());
        }
    }

    /// Sends the pending positions until none are left. A failed commit is logged: its records
    /// are read again after a restart or rebalance.
    async fn commit(self: Arc<Self>) {
        loop {
            let positions: Vec<_> = {
                let mut state = self.state.lock();
                if state.pending.is_empty() {
                    state.committing = false;
                    state.flushed.drain(..).for_each(|done| _ = done.send(()));
                    return;
                }
                std::mem::take(&mut state.pending).into_iter().collect()
            };
            if let Err(error) = self.committer.commit(&positions).await {
                tracing::warn!(topic = %self.topic, %error, "commit failed; the records will be redelivered");
            }
        }
    }

    /// Resolves once every position acknowledged so far was committed (or failed to).
    pub async fn flushed(&self) {
        let waiting = {
            let mut state = self.state.lock();
            if !state.committing {
                return;
            }
            let (done, waiting) = oneshot::channel();
            state.flushed.push(done);
            waiting
        };
        _ = waiting.await;
    }
}
