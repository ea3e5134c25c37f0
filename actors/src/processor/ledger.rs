//! The records a window actor holds, in reading order, each until every window it belongs to
//! completed. A record is acknowledged once nothing waits for it nor for any record read before
//! it from its partition, whichever order windows complete in (windows per key, sliding windows
//! sharing records, late records being dead-lettered): a partition's positions are committed in
//! order, and a record held open in one partition holds up no other partition. Each record is
//! held once however many windows it belongs to; an acknowledged one gives back its capacity
//! and its payload at once, its place when every record before it is acknowledged.

use std::collections::{HashMap, VecDeque};

use super::ack::{AckHandle, Acks};
use super::assign::Seq;
use crate::message::{Message, Record};

/// One input record held until its windows completed.
pub(super) struct Held {
    /// The input it was read from, by argIndex.
    pub input: usize,
    pub record: Record,
    /// Taken when the record is acknowledged.
    ack: Option<AckHandle>,
    /// The windows (or dead-lettering) it still waits for.
    pending: u32,
}

/// The records read and not yet acknowledged, in reading order.
#[derive(Default)]
pub(super) struct Ledger {
    held: VecDeque<Held>,
    /// The seq of the front record.
    front: Seq,
    /// The records not yet acknowledged of each input partition, in order.
    partitions: HashMap<(usize, u32), VecDeque<Seq>>,
    /// Their payload bytes.
    units: u64,
}

impl Ledger {
    /// Holds a record until the `pending` windows it belongs to completed; its seq.
    pub fn push(&mut self, input: usize, record: Record, ack: AckHandle, pending: u32) -> Seq {
        let seq = self.next_seq();
        self.units += ack.units();
        let partition = (input, record.partition);
        self.partitions.entry(partition).or_default().push_back(seq);
        self.held.push_back(Held {
            input,
            record,
            ack: Some(ack),
            pending,
        });
        seq
    }

    /// The seq the next record gets.
    pub fn next_seq(&self) -> Seq {
        self.front + self.held.len() as Seq
    }

    /// The seq of the oldest record held.
    pub fn front(&self) -> Seq {
        self.front
    }

    /// Record `seq`.
    pub fn get(&self, seq: Seq) -> &Held {
        let index = seq.checked_sub(self.front).expect("a held record");
        &self.held[index as usize]
    }

    fn get_mut(&mut self, seq: Seq) -> &mut Held {
        &mut self.held[(seq - self.front) as usize]
    }

    /// Record `seq` waits for `windows` more.
    pub fn hold(&mut self, seq: Seq, windows: u32) {
        self.get_mut(seq).pending += windows;
    }

    /// A window of `seqs` completed (or their dead-lettering did): the records nothing waits
    /// for any more are acknowledged, each partition's in order.
    pub fn release(&mut self, seqs: impl IntoIterator<Item = Seq>) {
        for seq in seqs {
            let held = self.get_mut(seq);
            held.pending =
                (held.pending.checked_sub(1)).expect("a record released once per window");
        }
        self.ack_ready();
    }

    /// Acknowledges, partition by partition, the records at the front that nothing waits for.
    pub fn ack_ready(&mut self) {
        let mut acks = Acks::default();
        let (held, front) = (&mut self.held, self.front);
        for queue in self.partitions.values_mut() {
            while let Some(&seq) = queue.front() {
                let record = &mut held[(seq - front) as usize];
                if record.pending > 0 {
                    break;
                }
                queue.pop_front();
                if let Some(ack) = record.ack.take() {
                    acks.add(ack);
                }
                record.record.message = Message::default(); // its payload freed now
            }
        }
        self.partitions.retain(|_, queue| !queue.is_empty());
        self.units -= acks.units();
        acks.settle();
        let done = (self.held.iter())
            .take_while(|held| held.ack.is_none())
            .count();
        self.held.drain(..done);
        self.front += done as Seq;
    }

    /// How many records are held (acknowledged ones still behind an older record included).
    pub fn len(&self) -> usize {
        self.held.len()
    }

    /// How many records are not acknowledged yet (the records in flight).
    pub fn unacknowledged(&self) -> usize {
        self.partitions.values().map(VecDeque::len).sum()
    }

    /// The payload bytes of the records not acknowledged yet.
    pub fn units(&self) -> u64 {
        self.units
    }
}
