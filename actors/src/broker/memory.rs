//! The in-memory broker: topics of partitioned logs held in process memory, consumer groups that
//! share a topic's partitions round-robin, and committed positions that live as long as the
//! broker (nothing survives a restart, as liiklus' `MEMORY` storages).
//!
//! Delivery is pull-based: a subscription reads the next record straight from the partition log
//! when its consumer polls, so a slow consumer costs no memory beyond the log itself. Idle
//! subscribers sleep on `tokio::sync::watch` channels until a record is appended or their
//! assignment changes.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use dashmap::mapref::entry::Entry;
use dashmap::DashMap;
use futures::StreamExt;
use parking_lot::{Mutex, RwLock};
use tokio::sync::watch;

use super::{Broker, BrokerError, Committer, Delivery, OffsetReset, Subscription};
use crate::content_type;
use crate::message::{Message, Record};

/// A broker whose topics live in this process. Clones share the same topics.
///
/// - A topic is provisioned with a partition count (at least 1; 0 is raised to 1) and a content
///   type; publishing checks messages against it ([`content_type::compatible`]) and gives
///   messages without a content type the stream's.
/// - Keyed messages go to partition `fnv1a64(key) % partitions` (a stable hash); keyless ones
///   round-robin over the partitions.
/// - The subscribers of a group split the partitions round-robin in join order: partition `p`
///   belongs to the `p % n`-th of `n` subscribers. Every join and leave rebalances the group.
/// - A newly assigned partition starts at the group's last committed offset + 1 (read when the
///   subscriber takes the partition), else at the subscriber's [`OffsetReset`] as of the
///   rebalance: `Earliest` = 0, `Latest` = the partition's end at that moment.
#[derive(Clone, Default)]
pub struct MemoryBroker {
    topics: Arc<DashMap<String, Arc<Topic>>>,
}

impl MemoryBroker {
    /// An empty broker.
    pub fn new() -> Self {
        Self::default()
    }

    fn topic(&self, name: &str) -> Result<Arc<Topic>, BrokerError> {
        self.topics
            .get(name)
            .map(|topic| Arc::clone(&topic))
            .ok_or_else(|| BrokerError::UnknownTopic(name.to_string()))
    }
}

#[async_trait]
impl Broker for MemoryBroker {
    async fn provision(
        &self,
        topic: &str,
        partitions: u32,
        content_type: &str,
    ) -> Result<bool, BrokerError> {
        match self.topics.entry(topic.to_string()) {
            Entry::Occupied(_) => Ok(false),
            Entry::Vacant(vacant) => {
                vacant.insert(Arc::new(Topic::new(partitions, content_type)));
                Ok(true)
            }
        }
    }

    async fn publish(&self, topic: &str, message: Message) -> Result<(u32, u64), BrokerError> {
        self.topic(topic)?.append(message)
    }

    async fn subscribe(
        &self,
        topic: &str,
        group: &str,
        reset: OffsetReset,
    ) -> Result<Subscription, BrokerError> {
        let topic = self.topic(topic)?;
        let group = topic.group(group);
        let reader = Reader::join(topic, Arc::clone(&group), reset);
        let deliveries = futures::stream::unfold(reader, |mut reader| async move {
            let delivery = reader.next().await?;
            Some((Ok(delivery), reader))
        });
        Ok(Subscription {
            deliveries: deliveries.boxed(),
            committer: Box::new(GroupCommitter(group)),
        })
    }

    async fn commit(
        &self,
        topic: &str,
        group: &str,
        positions: &[(u32, u64)],
    ) -> Result<(), BrokerError> {
        self.topic(topic)?.group(group).commit(positions);
        Ok(())
    }

    async fn committed(&self, topic: &str, group: &str) -> Result<BTreeMap<u32, u64>, BrokerError> {
        let topic = self.topic(topic)?;
        let groups = topic.groups.lock();
        Ok(groups
            .get(group)
            .map(|group| group.committed.lock().clone())
            .unwrap_or_default())
    }

    async fn end_offsets(&self, topic: &str) -> Result<BTreeMap<u32, u64>, BrokerError> {
        let topic = self.topic(topic)?;
        Ok((0..topic.partition_count())
            .filter_map(|p| Some((p, topic.end(p).checked_sub(1)?)))
            .collect())
    }
}

/// One topic: its partition logs, its content type and its consumer groups.
struct Topic {
    content_type: String,
    partitions: Vec<RwLock<Vec<Record>>>,
    keyless: AtomicU64,
    /// Pinged after every append; subscribers wait on it when they have nothing to read.
    appended: watch::Sender<()>,
    groups: Mutex<HashMap<String, Arc<Group>>>,
}

impl Topic {
    fn new(partitions: u32, content_type: &str) -> Self {
        Topic {
            content_type: content_type.to_string(),
            partitions: (0..partitions.max(1)).map(|_| RwLock::default()).collect(),
            keyless: AtomicU64::new(0),
            appended: watch::Sender::new(()),
            groups: Mutex::default(),
        }
    }

    fn partition_count(&self) -> u32 {
        self.partitions.len() as u32
    }

    /// Checks the message's content type, picks its partition and appends it.
    fn append(&self, mut message: Message) -> Result<(u32, u64), BrokerError> {
        if message.content_type.is_empty() {
            message.content_type.clone_from(&self.content_type);
        } else if !content_type::compatible(&self.content_type, &message.content_type) {
            return Err(BrokerError::IncompatibleContentType {
                expected: self.content_type.clone(),
                actual: message.content_type,
            });
        }
        let count = u64::from(self.partition_count());
        let partition = match &message.key {
            Some(key) => fnv1a64(key) % count,
            None => self.keyless.fetch_add(1, Ordering::Relaxed) % count,
        } as u32;
        let offset = {
            let mut log = self.partitions[partition as usize].write();
            let offset = log.len() as u64;
            log.push(Record {
                partition,
                offset,
                timestamp_ms: now_ms(),
                message,
            });
            offset
        };
        self.appended.send_replace(());
        Ok((partition, offset))
    }

    /// The record at `offset` of `partition`, if it was appended already.
    fn record(&self, partition: u32, offset: u64) -> Option<Record> {
        let log = self.partitions[partition as usize].read();
        log.get(usize::try_from(offset).ok()?).cloned()
    }

    /// The offset the next record of `partition` will get.
    fn end(&self, partition: u32) -> u64 {
        self.partitions[partition as usize].read().len() as u64
    }

    /// The group named `name`, created on first use.
    fn group(&self, name: &str) -> Arc<Group> {
        Arc::clone(self.groups.lock().entry(name.to_string()).or_default())
    }

    /// Splits the partitions over `members` round-robin and tells each its new assignment.
    fn rebalance(&self, members: &[Member]) {
        let count = self.partition_count() as usize;
        for (index, member) in members.iter().enumerate() {
            let assignment: BTreeMap<u32, u64> = (index..count)
                .step_by(members.len())
                .map(|p| p as u32)
                .map(|p| (p, self.reset_position(p, member.reset)))
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

    fn reset_position(&self, partition: u32, reset: OffsetReset) -> u64 {
        match reset {
            OffsetReset::Earliest => 0,
            OffsetReset::Latest => self.end(partition),
        }
    }
}

/// A member's partitions, each with its start position for when nothing is committed.
type Assignment = Arc<BTreeMap<u32, u64>>;

/// A consumer group of one topic: its committed positions and its live members.
#[derive(Default)]
struct Group {
    committed: Mutex<BTreeMap<u32, u64>>,
    members: Mutex<Members>,
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
    fn commit(&self, positions: &[(u32, u64)]) {
        self.committed.lock().extend(positions.iter().copied());
    }

    fn join(&self, topic: &Topic, reset: OffsetReset) -> (u64, watch::Receiver<Assignment>) {
        let mut members = self.members.lock();
        let id = members.next_id;
        members.next_id += 1;
        let (assignment, receiver) = watch::channel(Assignment::default());
        members.list.push(Member {
            id,
            reset,
            assignment,
        });
        topic.rebalance(&members.list);
        (id, receiver)
    }

    fn leave(&self, topic: &Topic, id: u64) {
        let mut members = self.members.lock();
        members.list.retain(|member| member.id != id);
        topic.rebalance(&members.list);
    }
}

/// Commits through a subscription, into its group.
struct GroupCommitter(Arc<Group>);

#[async_trait]
impl Committer for GroupCommitter {
    async fn commit(&self, positions: &[(u32, u64)]) -> Result<(), BrokerError> {
        self.0.commit(positions);
        Ok(())
    }
}

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
struct Reader {
    membership: Membership,
    assignment: watch::Receiver<Assignment>,
    appended: watch::Receiver<()>,
    /// Assigned partitions and the next offset to deliver from each.
    cursors: BTreeMap<u32, u64>,
    /// Revocations and assignments not yet delivered.
    pending: VecDeque<Delivery>,
    /// The partition read first next time, so that busy partitions do not starve the others.
    turn: u32,
}

impl Reader {
    fn join(topic: Arc<Topic>, group: Arc<Group>, reset: OffsetReset) -> Self {
        let appended = topic.appended.subscribe();
        let (id, assignment) = group.join(&topic, reset);
        Reader {
            membership: Membership { topic, group, id },
            assignment,
            appended,
            cursors: BTreeMap::new(),
            pending: VecDeque::new(),
            turn: 0,
        }
    }

    /// The next delivery; waits while there is none. `None` once the broker side is gone.
    async fn next(&mut self) -> Option<Delivery> {
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
        if !assigned.is_empty() {
            let committed = self.membership.group.committed.lock();
            for &p in &assigned {
                let start = committed.get(&p).map_or(assignment[&p], |last| last + 1);
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

/// 64-bit FNV-1a: a tiny hash that is stable across runs, platforms and Rust versions.
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::fnv1a64;

    #[test]
    fn key_hash_is_fnv1a64() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }
}
