//! Subscriptions: group membership and the reader that turns assignments and partition logs into
//! deliveries.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use tokio::sync::watch;

use super::group::{Assignment, Group};
use super::topic::Topic;
use crate::broker::{Delivery, OffsetReset};
use crate::message::Record;

/// Group membership of one subscription; dropping it leaves the group.
struct Membership {
    topic: Arc<Topic>,
    group: Arc<Group>,
    id: u64,
}

impl Drop for Membership {
    fn drop(&mut self) {
        self.group.leave(&self.topic, self.id);
    }
}

/// The state behind a subscription's deliveries.
pub(super) struct Reader {
    membership: Membership,
    assignment: watch::Receiver<Assignment>,
    appended: watch::Receiver<()>,
    /// Assigned partitions and the next offset to deliver from each.
    cursors: BTreeMap<u32, u64>,
    /// Revocations and assignments not yet delivered.
    pending: VecDeque<Delivery>,
    /// The partition read first next time, so that busy partitions do not starve the others.
    turn: u32,
    /// The first assignment (even of no partition) was delivered.
    joined: bool,
}

impl Reader {
    pub(super) fn join(topic: Arc<Topic>, group: Arc<Group>, reset: OffsetReset) -> Self {
        let appended = topic.appended.subscribe();
        let (id, assignment) = group.join(&topic, reset);
        Reader {
            membership: Membership { topic, group, id },
            assignment,
            appended,
            cursors: BTreeMap::new(),
            pending: VecDeque::new(),
            turn: 0,
            joined: false,
        }
    }

    /// The next delivery; waits while there is none. `None` once the broker side is gone.
    pub(super) async fn next(&mut self) -> Option<Delivery> {
        loop {
            if let Some(delivery) = self.pending.pop_front() {
                return Some(delivery);
            }
            // Marked before looking, so that an append racing with the look wakes us up.
            self.appended.mark_unchanged();
            self.follow_assignment();
            if !self.pending.is_empty() {
                continue;
            }
            if let Some(record) = self.read() {
                return Some(Delivery::Record(record));
            }
            tokio::select! {
                changed = self.assignment.changed() => changed.ok()?,
                changed = self.appended.changed() => changed.ok()?,
            }
        }
    }

    /// Queues the revocations and assignments of the latest rebalance.
    fn follow_assignment(&mut self) {
        let assignment = Arc::clone(&self.assignment.borrow_and_update());
        let revoked: Vec<u32> = self
            .cursors
            .keys()
            .filter(|p| !assignment.contains_key(p))
            .copied()
            .collect();
        if !revoked.is_empty() {
            self.cursors.retain(|p, _| assignment.contains_key(p));
            self.pending.push_back(Delivery::Revoked(revoked));
        }
        let assigned: Vec<u32> = assignment
            .keys()
            .filter(|p| !self.cursors.contains_key(p))
            .copied()
            .collect();
        if !assigned.is_empty() || !self.joined {
            self.joined = true;
            let committed = self.membership.group.committed.lock();
            for &p in &assigned {
                let start = committed
                    .get(&p)
                    .map_or(assignment[&p], |last| last.saturating_add(1));
                self.cursors.insert(p, start);
            }
            self.pending.push_back(Delivery::Assigned(assigned));
        }
    }

    /// The next available record of the assigned partitions, taking partitions in turn.
    fn read(&mut self) -> Option<Record> {
        let topic = &self.membership.topic;
        let record = self
            .cursors
            .range(self.turn..)
            .chain(self.cursors.range(..self.turn))
            .find_map(|(&partition, &offset)| topic.record(partition, offset))?;
        self.cursors.insert(record.partition, record.offset + 1);
        self.turn = record.partition + 1;
        Some(record)
    }
}
