//! The records a window actor holds, in reading order, each until every window it belongs to
//! completed. Positions are acknowledged from the front only: a record is committed once it and
//! every record read before it completed, whichever order their windows completed in (windows
//! per key, sliding windows sharing records, late records being dead-lettered). Each record is
//! held once however many windows it belongs to.

use std::collections::VecDeque;

use super::ack::AckHandle;
use super::assign::Seq;
use crate::message::Record;

/// One input record held until its windows completed.
pub(super) struct Held {
    /// The input it was read from, by argIndex.
    pub input: usize,
    pub record: Record,
    pub ack: AckHandle,
    /// The windows (or dead-lettering) it still waits for.
    pending: u32,
}

/// The records read and not yet acknowledged, in reading order.
#[derive(Default)]
pub(super) struct Ledger {
    held: VecDeque<Held>,
    /// The seq of the front record.
    front: Seq,
    /// The payload bytes held.
    units: u64,
}

impl Ledger {
    /// Holds a record until the `pending` windows it belongs to completed; its seq.
    pub fn push(&mut self, input: usize, record: Record, ack: AckHandle, pending: u32) -> Seq {
        self.units += ack.units();
        self.held.push_back(Held {
            input,
            record,
            ack,
            pending,
        });
        self.front + self.held.len() as Seq - 1
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

    /// Record `seq` waits for `windows` more.
    pub fn hold(&mut self, seq: Seq, windows: u32) {
        let index = (seq - self.front) as usize;
        self.held[index].pending += windows;
    }

    /// A window of `seqs` completed (or their dead-lettering did): the records no longer waited
    /// for at the front are acknowledged.
    pub fn release(&mut self, seqs: impl IntoIterator<Item = Seq>) {
        for seq in seqs {
            let index = (seq - self.front) as usize;
            let held = &mut self.held[index];
            held.pending = held
                .pending
                .checked_sub(1)
                .expect("a record released once per window");
        }
        self.ack_front();
    }

    /// Acknowledges the records at the front that nothing waits for.
    pub fn ack_front(&mut self) {
        let done = (self.held.iter())
            .take_while(|held| held.pending == 0)
            .count();
        if done == 0 {
            return;
        }
        self.front += done as Seq;
        let acks = self.held.drain(..done).map(|held| held.ack);
        let mut units = 0;
        AckHandle::ack_all(acks.inspect(|ack| units += ack.units()));
        self.units -= units;
    }

    /// How many records are held, and their payload bytes.
    pub fn len(&self) -> usize {
        self.held.len()
    }

    pub fn units(&self) -> u64 {
        self.units
    }
}
