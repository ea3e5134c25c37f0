//! Failed attempts that survive restarts and rebalances. When a window fails, the number of its
//! failed calls is stored beside the processor's positions: as the committed position of
//! consumer group `riff-attempts.<group>` on the input topic, one per partition, encoding the
//! offset of the window's first record of that partition and the count. Whoever reads that
//! record again (after a crash, a restart or a rebalance) starts its window from that count, so
//! a window that failed 4 of 5 attempts gets 1 more, not 5. Any broker keeps it: it is a
//! committed position like any other.

use super::InputBinding;

/// The most attempts a position records; more are kept as this many.
const MAX_RECORDED: u32 = 255;

/// The consumer group keeping the failed attempts of processor group `group`.
pub(super) fn attempts_group(group: &str) -> String {
    format!("riff-attempts.{group}")
}

/// The stored position for `attempts` failed calls of the window starting at `offset`.
fn encode(offset: u64, attempts: u32) -> u64 {
    (offset << 8) | u64::from(attempts.min(MAX_RECORDED))
}

/// The window's first offset and its failed attempts, from a stored position.
fn decode(position: u64) -> (u64, u32) {
    (position >> 8, (position & 0xff) as u32)
}

/// The failed attempts stored for the partitions of `input` read by group `group`: `(partition,
/// offset of the first record of the failed window, attempts)`. A broker that cannot answer
/// gives none (logged): the counts then start over, as they would without this.
pub(super) async fn load(input: &InputBinding, group: &str) -> Vec<(u32, u64, u32)> {
    match input
        .broker
        .committed(&input.topic, &attempts_group(group))
        .await
    {
        Ok(positions) => positions
            .into_iter()
            .map(|(partition, position)| {
                let (offset, attempts) = decode(position);
                (partition, offset, attempts)
            })
            .filter(|(.., attempts)| *attempts > 0)
            .collect(),
        Err(error) => {
            tracing::warn!(topic = %input.topic, %error, "cannot read the failed attempts of earlier runs");
            Vec::new()
        }
    }
}

/// Stores, in the background, that the window starting at `offset` of each `(partition,
/// offset)` of `input` failed `attempts` calls. A failure is logged: the count then starts over
/// after a restart.
pub(super) fn store(input: &InputBinding, group: &str, starts: Vec<(u32, u64)>, attempts: u32) {
    let positions: Vec<_> = starts
        .into_iter()
        .map(|(partition, offset)| (partition, encode(offset, attempts)))
        .collect();
    let (broker, topic, group) = (
        input.broker.clone(),
        input.topic.clone(),
        attempts_group(group),
    );
    tokio::spawn(async move {
        if let Err(error) = broker.commit(&topic, &group, &positions).await {
            tracing::warn!(%topic, %error, "cannot store failed attempts; a restart counts them anew");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip_offsets_and_counts() {
        assert_eq!(decode(encode(0, 3)), (0, 3));
        assert_eq!(decode(encode(1_000_000_007, 1)), (1_000_000_007, 1));
        assert_eq!(decode(encode(42, 1000)), (42, MAX_RECORDED));
    }
}
