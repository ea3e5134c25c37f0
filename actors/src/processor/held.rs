//! The records a window holds until it is committed, in chunks: a window of a busy second holds
//! hundreds of thousands of records, and one list of that size would fault in every page when
//! first written and be copied whole each time it grew. Chunks of a read batch's size are
//! written once, and freed chunks are what the allocator hands the next window.

use std::ops::Range;

use super::ack::AckHandle;
use super::input::READ_BATCH;
use crate::message::Record;

/// One input record held by a window until the window is committed.
pub(super) struct Held {
    /// The input it was read from, by argIndex.
    pub input: usize,
    pub record: Record,
    pub ack: AckHandle,
}

/// A window's records, in arrival order.
pub(super) struct HeldRecords {
    chunks: Vec<Vec<Held>>,
    len: usize,
}

impl HeldRecords {
    /// Room for `expected` records in the first chunk (at most a chunk's worth).
    pub fn with_capacity(expected: usize) -> Self {
        HeldRecords {
            chunks: vec![Vec::with_capacity(expected.clamp(1, READ_BATCH))],
            len: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn push(&mut self, held: Held) {
        match self.chunks.last_mut() {
            // The first chunk grows to a whole chunk; the later ones are made whole.
            Some(chunk) if chunk.len() < READ_BATCH.max(chunk.capacity()) => chunk.push(held),
            _ => {
                let mut chunk = Vec::with_capacity(READ_BATCH);
                chunk.push(held);
                self.chunks.push(chunk);
            }
        }
        self.len += 1;
    }

    /// Record number `index`.
    pub fn get(&self, index: usize) -> &Held {
        self.iter()
            .nth(index)
            .unwrap_or_else(|| panic!("record {index} beyond the {} held", self.len))
    }

    /// The records of `range`, in order.
    pub fn range(&self, range: Range<usize>) -> impl Iterator<Item = &Held> {
        self.iter().skip(range.start).take(range.len())
    }

    pub fn iter(&self) -> impl Iterator<Item = &Held> {
        self.chunks.iter().flatten()
    }

    /// Every record's acknowledgement handle, the records dropped.
    pub fn into_acks(self) -> impl Iterator<Item = AckHandle> {
        self.chunks.into_iter().flatten().map(|held| held.ack)
    }
}
