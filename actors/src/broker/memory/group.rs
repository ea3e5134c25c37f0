//! Consumer groups: committed positions, live members and the round-robin split of a topic's
//! partitions among them.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use parking_lot::Mutex;
use tokio::sync::watch;

use super::topic::Topic;
use crate::broker::{BrokerError, Committer, OffsetReset};

/// A member's partitions, each with its start position for when nothing is committed.
/// A partition's start is pinned when it is first assigned: a member joining later (after a
/// rebuild or a rebalance) starts there too, not at a later `latest`.
pub(super) type Assignment = Arc<BTreeMap<u32, u64>>;

/// A consumer group of one topic: its committed positions and its live members.
#[derive(Default)]
pub(super) struct Group {
    pub(super) committed: Mutex<BTreeMap<u32, u64>>,
    members: Mutex<Members>,
    /// Where each partition was first read from.
    starts: Mutex<BTreeMap<u32, u64>>,
}

#[derive(Default)]
struct Members {
    next_id: u64,
    /// In join order.
    list: Vec<Member>,
}

struct Member {
    id: u64,
    reset: OffsetReset,
    assignment: watch::Sender<Assignment>,
}

impl Group {
    pub(super) fn commit(&self, positions: &[(u32, u64)]) {
        self.committed.lock().extend(positions.iter().copied());
    }

    pub(super) fn join(
        &self,
        topic: &Topic,
        reset: OffsetReset,
    ) -> (u64, watch::Receiver<Assignment>) {
        let mut members = self.members.lock();
        let id = members.next_id;
        members.next_id += 1;
        let (assignment, receiver) = watch::channel(Assignment::default());
        members.list.push(Member {
            id,
            reset,
            assignment,
        });
        rebalance(topic, &members.list, &mut self.starts.lock());
        (id, receiver)
    }

    pub(super) fn leave(&self, topic: &Topic, id: u64) {
        let mut members = self.members.lock();
        members.list.retain(|member| member.id != id);
        rebalance(topic, &members.list, &mut self.starts.lock());
    }
}

/// Splits the partitions of `topic` over `members` round-robin and tells each its new assignment;
/// a partition assigned for the first time is pinned in `starts`.
fn rebalance(topic: &Topic, members: &[Member], starts: &mut BTreeMap<u32, u64>) {
    let count = topic.partition_count() as usize;
    for (index, member) in members.iter().enumerate() {
        let assignment: BTreeMap<u32, u64> = (index..count)
            .step_by(members.len())
            .map(|p| p as u32)
            .map(|p| {
                let start = *starts
                    .entry(p)
                    .or_insert_with(|| topic.reset_position(p, member.reset));
                (p, start)
            })
            .collect();
        member.assignment.send_if_modified(|current| {
            let changed = !current.keys().eq(assignment.keys());
            if changed {
                *current = Arc::new(assignment);
            }
            changed
        });
    }
}

/// Commits through a subscription, into its group.
pub(super) struct GroupCommitter(pub(super) Arc<Group>);

#[async_trait]
impl Committer for GroupCommitter {
    async fn commit(&self, positions: &[(u32, u64)]) -> Result<(), BrokerError> {
        self.0.commit(positions);
        Ok(())
    }
}
