//! A consumer group's committed positions, read and written from outside the group: librdkafka's
//! ListConsumerGroupOffsets and AlterConsumerGroupOffsets admin calls (which the rdkafka crate
//! does not wrap), through any client of the cluster. `list` and `alter` block: call them off
//! async threads, as `OutsideCommitter` does for every commit made from outside a group.

use std::ffi::{CStr, CString};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rdkafka::bindings as rd;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::{Offset, TopicPartitionList};

use super::diagnostics::Diagnostics;
use super::TIMEOUT;
use crate::broker::{BrokerError, Committer};

/// Commits a group's positions from outside the group, one AlterConsumerGroupOffsets request
/// each, through any client of the cluster (no consumer of its own).
pub(super) struct OutsideCommitter {
    client: Arc<BaseConsumer<Diagnostics>>,
    topic: String,
    group: String,
}

impl OutsideCommitter {
    /// Commits of `group` on `topic` through `client`.
    pub(super) fn new(client: Arc<BaseConsumer<Diagnostics>>, topic: &str, group: &str) -> Self {
        let (topic, group) = (topic.to_owned(), group.to_owned());
        OutsideCommitter {
            client,
            topic,
            group,
        }
    }
}

#[async_trait]
impl Committer for OutsideCommitter {
    /// Commits "last processed offset" `positions`.
    async fn commit(&self, positions: &[(u32, u64)]) -> Result<(), BrokerError> {
        let next: Vec<(i32, i64)> = positions
            .iter()
            .map(|&(partition, offset)| Ok((partition as i32, super::next_offset(offset)?)))
            .collect::<Result<_, BrokerError>>()?;
        let (client, topic, group) = (self.client.clone(), self.topic.clone(), self.group.clone());
        tokio::task::spawn_blocking(move || alter(&client, &group, &topic, &next, TIMEOUT))
            .await
            .map_err(|error| BrokerError::Unavailable(error.to_string()))?
            .map_err(|error| {
                let group = &self.group;
                BrokerError::Unavailable(format!("cannot commit for group {group:?}: {error}"))
            })
    }
}

/// The next offset to read of each partition of `partitions` on `topic` that `group` committed.
pub(super) fn list<C: ConsumerContext>(
    client: &BaseConsumer<C>,
    group: &str,
    topic: &str,
    partitions: &[i32],
    timeout: Duration,
) -> Result<Vec<(i32, i64)>, String> {
    let mut list = TopicPartitionList::new();
    for &partition in partitions {
        list.add_partition(topic, partition);
    }
    let group_id = CString::new(group).map_err(|e| e.to_string())?;
    let found = call(client, timeout, |rk, options, queue| unsafe {
        let mut request = rd::rd_kafka_ListConsumerGroupOffsets_new(group_id.as_ptr(), list.ptr());
        rd::rd_kafka_ListConsumerGroupOffsets(rk, &mut request, 1, options, queue);
        rd::rd_kafka_ListConsumerGroupOffsets_destroy(request);
    })?;
    found.positions(|event, count| unsafe {
        let result = rd::rd_kafka_event_ListConsumerGroupOffsets_result(event);
        rd::rd_kafka_ListConsumerGroupOffsets_result_groups(result, count)
    })
}

/// Stores `positions` (partition, next offset to read) on `topic` as `group`'s committed ones.
/// Kafka refuses it while the group has live members.
pub(super) fn alter<C: ConsumerContext>(
    client: &BaseConsumer<C>,
    group: &str,
    topic: &str,
    positions: &[(i32, i64)],
    timeout: Duration,
) -> Result<(), String> {
    let mut list = TopicPartitionList::new();
    for &(partition, next) in positions {
        list.add_partition_offset(topic, partition, Offset::Offset(next))
            .map_err(|e| e.to_string())?;
    }
    let group_id = CString::new(group).map_err(|e| e.to_string())?;
    let done = call(client, timeout, |rk, options, queue| unsafe {
        let mut request = rd::rd_kafka_AlterConsumerGroupOffsets_new(group_id.as_ptr(), list.ptr());
        rd::rd_kafka_AlterConsumerGroupOffsets(rk, &mut request, 1, options, queue);
        rd::rd_kafka_AlterConsumerGroupOffsets_destroy(request);
    })?;
    done.positions(|event, count| unsafe {
        let result = rd::rd_kafka_event_AlterConsumerGroupOffsets_result(event);
        rd::rd_kafka_AlterConsumerGroupOffsets_result_groups(result, count)
    })
    .map(|_| ())
}

/// The result event of one admin call, destroyed with it.
struct Answer {
    event: *mut rd::rd_kafka_event_t,
}

impl Drop for Answer {
    fn drop(&mut self) {
        unsafe { rd::rd_kafka_event_destroy(self.event) }
    }
}

impl Answer {
    /// The positions of the one group of the answer (`groups` gives its group results), or the
    /// first error: of the group, or of one of its partitions.
    fn positions(
        &self,
        groups: impl FnOnce(
            *mut rd::rd_kafka_event_t,
            *mut usize,
        ) -> *mut *const rd::rd_kafka_group_result_t,
    ) -> Result<Vec<(i32, i64)>, String> {
        unsafe {
            let mut count = 0usize;
            let results = groups(self.event, &mut count);
            if results.is_null() || count != 1 {
                return Err(format!("{count} group results for one group"));
            }
            let group = *results;
            let error = rd::rd_kafka_group_result_error(group);
            if !error.is_null() {
                return Err(text(rd::rd_kafka_error_string(error)));
            }
            let list = rd::rd_kafka_group_result_partitions(group);
            if list.is_null() {
                return Ok(Vec::new());
            }
            let elements = std::slice::from_raw_parts((*list).elems, (*list).cnt.max(0) as usize);
            let mut positions = Vec::new();
            for element in elements {
                if element.err != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
                    return Err(format!(
                        "partition {}: {}",
                        element.partition,
                        text(rd::rd_kafka_err2str(element.err))
                    ));
                }
                if element.offset >= 0 {
                    positions.push((element.partition, element.offset));
                }
            }
            Ok(positions)
        }
    }
}

/// Makes one admin call (`request` enqueues it, with the options and the queue for its answer it
/// is given) and waits for its answer. librdkafka ends the request itself after `timeout` (with
/// an error), and the wait lasts a little longer: a call is never left behind in librdkafka,
/// to be carried out after riff reported it failed (a late commit could land after a newer one).
fn call<C: ConsumerContext>(
    client: &BaseConsumer<C>,
    timeout: Duration,
    request: impl FnOnce(
        *mut rd::rd_kafka_t,
        *mut rd::rd_kafka_AdminOptions_t,
        *mut rd::rd_kafka_queue_t,
    ),
) -> Result<Answer, String> {
    let rk = client.client().native_ptr();
    let millis = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
    unsafe {
        let options =
            rd::rd_kafka_AdminOptions_new(rk, rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_ANY);
        let mut error = [0 as std::os::raw::c_char; 256];
        let set = rd::rd_kafka_AdminOptions_set_request_timeout(
            options,
            millis,
            error.as_mut_ptr(),
            error.len(),
        );
        if set != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
            rd::rd_kafka_AdminOptions_destroy(options);
            return Err(text(error.as_ptr()));
        }
        let queue = rd::rd_kafka_queue_new(rk);
        request(rk, options, queue);
        rd::rd_kafka_AdminOptions_destroy(options);
        let event = rd::rd_kafka_queue_poll(queue, millis.saturating_add(ANSWER_MARGIN_MS));
        rd::rd_kafka_queue_destroy(queue);
        if event.is_null() {
            return Err(format!("no answer within {timeout:?}"));
        }
        let answer = Answer { event };
        if rd::rd_kafka_event_error(event) != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
            return Err(text(rd::rd_kafka_event_error_string(event)));
        }
        Ok(answer)
    }
}

/// How much longer than its request's timeout an admin call waits for librdkafka's answer.
const ANSWER_MARGIN_MS: i32 = 5_000;

/// A C string of librdkafka's, copied.
fn text(text: *const std::os::raw::c_char) -> String {
    if text.is_null() {
        return "unknown error".to_owned();
    }
    unsafe { CStr::from_ptr(text) }
        .to_string_lossy()
        .into_owned()
}
