//! The in-flight capacity of a pipeline: how many records, and how many bytes of payload, may be
//! read but not yet committed. A record takes its share when it is read and gives it back when
//! its window is committed; when the pipeline is full, reading waits.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::message::Record;

/// The bounds of a pipeline's in-flight records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity {
    /// Records read but not committed.
    pub records: usize,
    /// Payload bytes of those records.
    pub bytes: usize,
}

impl Default for Capacity {
    fn default() -> Self {
        Capacity {
            records: 100_000,
            bytes: 64 << 20,
        }
    }
}

/// The shares of one pipeline's capacity, for its inputs to take.
#[derive(Clone)]
pub(super) struct InFlight {
    records: Arc<Semaphore>,
    units: Arc<Semaphore>,
    /// The most bytes one record takes: half of them, so that a record larger than that still
    /// fits next to the window being invoked.
    most: u32,
}

/// The share of one record, given back when dropped.
pub struct Permit {
    _record: OwnedSemaphorePermit,
    _units: OwnedSemaphorePermit,
    units: u32,
}

impl Permit {
    /// Takes `other`'s share into this one (given back together, in one go).
    pub(super) fn merge(&mut self, other: Permit) {
        self._record.merge(other._record);
        self._units.merge(other._units);
        self.units = self.units.saturating_add(other.units);
    }

    /// The payload bytes this record takes (at least 1).
    pub fn units(&self) -> u64 {
        u64::from(self.units)
    }
}

impl InFlight {
    pub(super) fn new(capacity: Capacity) -> Self {
        let units = capacity
            .bytes
            .clamp(2, Semaphore::MAX_PERMITS.min(u32::MAX as usize));
        InFlight {
            records: Arc::new(Semaphore::new(capacity.records.max(1))),
            units: Arc::new(Semaphore::new(units)),
            most: (units / 2) as u32,
        }
    }

    /// The bytes `record` takes.
    fn units_of(&self, record: &Record) -> u32 {
        let units = record.message.payload.len().max(1);
        units.min(self.most as usize) as u32
    }

    /// Waits until `record` fits, and takes its share.
    pub(super) async fn acquire(&self, record: &Record) -> Permit {
        let units = self.units_of(record);
        let record = self.records.clone().acquire_owned().await;
        let taken = self.units.clone().acquire_many_owned(units).await;
        Permit {
            _record: record.expect("capacity is never closed"),
            _units: taken.expect("capacity is never closed"),
            units,
        }
    }

    /// Takes the share of `record` if it fits now.
    pub(super) fn try_acquire(&self, record: &Record) -> Option<Permit> {
        let units = self.units_of(record);
        let record = self.records.clone().try_acquire_owned().ok()?;
        let taken = self.units.clone().try_acquire_many_owned(units).ok()?;
        Some(Permit {
            _record: record,
            _units: taken,
            units,
        })
    }

    /// The payload bytes a window may hold before it closes: half, so the next window can fill
    /// while one is invoked, and a window never waits for room only its own commit can free.
    pub(super) fn window_units(&self) -> u64 {
        u64::from(self.most)
    }
}
