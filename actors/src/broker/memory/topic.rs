//! Topics: partition logs, appends and the choice of a message's partition.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use tokio::sync::watch;

use super::group::Group;
use crate::broker::{BrokerError, OffsetReset};
use crate::content_type;
use crate::message::{now_ms, Message, Record};

/// One topic: its partition logs, its content type and its consumer groups.
pub(super) struct Topic {
    content_type: String,
    partitions: Vec<RwLock<Log>>,
    keyless: AtomicU64,
    /// Pinged after every append; subscribers wait on it when they have nothing to read.
    pub(super) appended: watch::Sender<()>,
    pub(super) groups: Mutex<HashMap<String, Arc<Group>>>,
}

impl Topic {
    pub(super) fn new(partitions: u32, content_type: &str) -> Self {
        Topic {
            content_type: content_type.to_string(),
            partitions: (0..partitions.max(1)).map(|_| RwLock::default()).collect(),
            keyless: AtomicU64::new(0),
            appended: watch::Sender::new(()),
            groups: Mutex::default(),
        }
    }

    pub(super) fn partition_count(&self) -> u32 {
        self.partitions.len() as u32
    }

    /// Checks the message's content type, picks its partition and appends it.
    pub(super) fn append(&self, message: Message) -> Result<(u32, u64), BrokerError> {
        let appended = self.store(message);
        self.appended.send_replace(());
        appended
    }

    /// Appends `messages` in order, as [`Topic::append`] each, and pings subscribers once.
    pub(super) fn append_all(&self, messages: Vec<Message>) -> Result<(), BrokerError> {
        let appended = messages
            .into_iter()
            .try_for_each(|message| self.store(message).map(|_| ()));
        self.appended.send_replace(());
        appended
    }

    /// Appends one message without pinging subscribers.
    fn store(&self, mut message: Message) -> Result<(u32, u64), BrokerError> {
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
            let offset = log.len();
            log.push(Record {
                partition,
                offset,
                timestamp_ms: now_ms(),
                message,
            });
            offset
        };
        Ok((partition, offset))
    }

    /// The record at `offset` of `partition`, if it was appended already.
    pub(super) fn record(&self, partition: u32, offset: u64) -> Option<Record> {
        self.partitions[partition as usize]
            .read()
            .get(offset)
            .cloned()
    }

    /// The offset the next record of `partition` will get.
    pub(super) fn end(&self, partition: u32) -> u64 {
        self.partitions[partition as usize].read().len()
    }

    /// The group named `name`, created on first use.
    pub(super) fn group(&self, name: &str) -> Arc<Group> {
        Arc::clone(self.groups.lock().entry(name.to_string()).or_default())
    }

    pub(super) fn reset_position(&self, partition: u32, reset: OffsetReset) -> u64 {
        match reset {
            OffsetReset::Earliest => 0,
            OffsetReset::Latest => self.end(partition),
        }
    }
}

/// A partition's records in appending order, in chunks of [`Log::CHUNK`]: a growing log never
/// moves the records it holds (a single vector would copy them all at each doubling).
#[derive(Default)]
struct Log {
    chunks: Vec<Vec<Record>>,
}

impl Log {
    const CHUNK: usize = 16 * 1024;

    fn len(&self) -> u64 {
        let full = self.chunks.len().saturating_sub(1) * Self::CHUNK;
        (full + self.chunks.last().map_or(0, Vec::len)) as u64
    }

    fn push(&mut self, record: Record) {
        match self.chunks.last_mut() {
            Some(chunk) if chunk.len() < Self::CHUNK => chunk.push(record),
            _ => {
                let mut chunk = Vec::with_capacity(Self::CHUNK);
                chunk.push(record);
                self.chunks.push(chunk);
            }
        }
    }

    fn get(&self, offset: u64) -> Option<&Record> {
        let offset = usize::try_from(offset).ok()?;
        self.chunks
            .get(offset / Self::CHUNK)?
            .get(offset % Self::CHUNK)
    }
}

/// 64-bit FNV-1a: a tiny hash that is stable across runs, platforms and Rust versions.
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::{fnv1a64, Log};
    use crate::message::{Message, Record};

    #[test]
    fn a_log_reads_back_every_offset_across_its_chunks() {
        let mut log = Log::default();
        let count = Log::CHUNK as u64 * 2 + 3;
        for offset in 0..count {
            log.push(Record {
                partition: 0,
                offset,
                timestamp_ms: 0,
                message: Message::new(offset.to_string(), "text/plain"),
            });
        }
        assert_eq!(log.len(), count);
        for offset in 0..count {
            let record = log.get(offset).expect("an appended record");
            assert_eq!(record.offset, offset);
            assert_eq!(record.message.payload, offset.to_string());
        }
        assert!(log.get(count).is_none());
    }

    #[test]
    fn key_hash_is_fnv1a64() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }
}
