//! The liiklus-compatible gRPC API (`com.github.bsideup.liiklus.LiiklusService`) over any
//! [`Broker`].
//!
//! - Groups: the broker group of `(group, group_version)` is `group` verbatim when the version is
//!   0, else `<group>-v<version>`. Liiklus parses a legacy `foo-v2` as group `foo` version 2, so
//!   both spellings name the same broker group here too.
//! - `Subscribe` opens a session (random UUID) that joins the group, streams one `Assignment`
//!   per assigned partition (again on every rebalance) and leaves the group when the call ends.
//! - `Receive` streams one assigned partition of a live session; an unknown session or
//!   partition yields an empty stream. `replay` is true for records at or below the group's last
//!   acked offset of that partition as of the start of the call (as liiklus).
//!   `last_known_offset` is ignored, as in liiklus.
//! - `Ack` commits through the broker; the deprecated `assignment` form takes the topic and
//!   group of the live session and is ignored (as liiklus) when the session is gone.
//! - Messages and events map as described in the `events` module (`ce_*` headers).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use futures::stream::BoxStream;
use futures::StreamExt;
use riff_protocol::liiklus::liiklus_service_server::LiiklusService;
use riff_protocol::liiklus::receive_request::ContentFormat;
use riff_protocol::liiklus::subscribe_request::AutoOffsetReset;
use riff_protocol::liiklus::{
    AckRequest, GetEndOffsetsReply, GetEndOffsetsRequest, GetOffsetsReply, GetOffsetsRequest,
    PublishReply, PublishRequest, ReceiveReply, ReceiveRequest, SubscribeRequest,
};
use tonic::{Request, Response, Status};

use super::events::{self, status};
use super::sessions::{Assignments, Sessions};
use crate::broker::{Broker, OffsetReset};
use crate::content_type;
use crate::metrics::gateway as metrics;

/// The liiklus gRPC service over a broker. Serve it with
/// `LiiklusServiceServer::new(gateway)` or [`super::serve_grpc`].
pub struct LiiklusGateway {
    broker: Arc<dyn Broker>,
    sessions: Arc<Sessions>,
}

impl LiiklusGateway {
    /// A gateway over `broker`, without sessions.
    pub fn new(broker: Arc<dyn Broker>) -> Self {
        LiiklusGateway {
            broker,
            sessions: Arc::default(),
        }
    }
}

/// Offsets are below this bound: Kafka's are `i64`, and the next offset (`+ 1`) must fit.
const MAX_OFFSET: u64 = i64::MAX as u64;

/// The broker group of a liiklus `(group, group_version)`.
fn group_name(group: &str, version: u32) -> String {
    match version {
        0 => group.to_string(),
        version => format!("{group}-v{version}"),
    }
}

#[tonic::async_trait]
impl LiiklusService for LiiklusGateway {
    async fn publish(
        &self,
        request: Request<PublishRequest>,
    ) -> Result<Response<PublishReply>, Status> {
        let started = Instant::now();
        let request = request.into_inner();
        let topic = request.topic.clone();
        let message = events::message(request).and_then(|message| {
            // A payload that is not its content type would only be dead-lettered: refused now.
            if !message.content_type.is_empty() {
                content_type::decodes(&message.content_type, &message.payload)
                    .map_err(Status::invalid_argument)?;
            }
            Ok(message)
        });
        let message = message.inspect_err(|_| metrics::published(&topic, "invalid", started))?;
        let published = self.broker.publish(&topic, message).await;
        let outcome = if published.is_ok() { "ok" } else { "failed" };
        metrics::published(&topic, outcome, started);
        let (partition, offset) = published.map_err(status)?;
        Ok(Response::new(PublishReply {
            partition,
            offset,
            topic,
        }))
    }

    type SubscribeStream = Assignments;

    async fn subscribe(
        &self,
        request: Request<SubscribeRequest>,
    ) -> Result<Response<Assignments>, Status> {
        let started = Instant::now();
        let request = request.into_inner();
        let reset = match AutoOffsetReset::try_from(request.auto_offset_reset) {
            Ok(AutoOffsetReset::Earliest) => OffsetReset::Earliest,
            Ok(AutoOffsetReset::Latest) => OffsetReset::Latest,
            Err(unknown) => return Err(Status::invalid_argument(unknown.to_string())),
        };
        let group = group_name(&request.group, request.group_version);
        let subscription = self
            .broker
            .subscribe(&request.topic, &group, reset)
            .await
            .map_err(status)?;
        metrics::subscribed(&request.topic, started);
        let assignments = self
            .sessions
            .open(request.topic, group, subscription.deliveries);
        Ok(Response::new(assignments))
    }

    type ReceiveStream = BoxStream<'static, Result<ReceiveReply, Status>>;

    async fn receive(
        &self,
        request: Request<ReceiveRequest>,
    ) -> Result<Response<Self::ReceiveStream>, Status> {
        let request = request.into_inner();
        let format = ContentFormat::try_from(request.format)
            .map_err(|unknown| Status::invalid_argument(unknown.to_string()))?;
        let assignment = request.assignment.unwrap_or_default();
        let partition = assignment.partition;
        let session = self.sessions.get(&assignment.session_id);
        let Some((feed, session)) =
            session.and_then(|session| Some((session.feed(partition)?, session)))
        else {
            tracing::warn!(
                session_id = assignment.session_id,
                partition,
                "Receive for an unknown session or partition: no records"
            );
            return Ok(Response::new(futures::stream::empty().boxed()));
        };
        let last_acked = self
            .broker
            .committed(&session.topic, &session.group)
            .await
            .map_err(status)?
            .get(&partition)
            .copied();
        let records = futures::stream::once(feed.lock_owned()).flat_map(|receiver| {
            futures::stream::unfold(receiver, |mut receiver| async move {
                let record = receiver.recv().await?;
                Some((record, receiver))
            })
        });
        let delivered = metrics::deliveries(&session.topic);
        let replies = records.map(move |record| {
            delivered.inc();
            let replay = last_acked.is_some_and(|acked| record.offset <= acked);
            Ok(events::reply(record, format, replay))
        });
        Ok(Response::new(replies.boxed()))
    }

    #[allow(deprecated)] // The `assignment` form is deprecated but riff 0.5 clients still use it.
    async fn ack(&self, request: Request<AckRequest>) -> Result<Response<()>, Status> {
        let request = request.into_inner();
        let (topic, group, partition) = match request.assignment {
            Some(assignment) => match self.sessions.get(&assignment.session_id) {
                Some(session) => (
                    session.topic.clone(),
                    session.group.clone(),
                    assignment.partition,
                ),
                None => {
                    tracing::warn!(
                        session_id = assignment.session_id,
                        "Ack for an unknown session: ignored"
                    );
                    return Ok(Response::new(()));
                }
            },
            None => (
                request.topic,
                group_name(&request.group, request.group_version),
                request.partition,
            ),
        };
        if request.offset >= MAX_OFFSET {
            return Err(Status::invalid_argument(format!(
                "offset {} is beyond any partition (at most {})",
                request.offset,
                MAX_OFFSET - 1
            )));
        }
        self.broker
            .commit(&topic, &group, &[(partition, request.offset)])
            .await
            .map_err(status)?;
        metrics::acked(&topic);
        Ok(Response::new(()))
    }

    async fn get_offsets(
        &self,
        request: Request<GetOffsetsRequest>,
    ) -> Result<Response<GetOffsetsReply>, Status> {
        let request = request.into_inner();
        let group = group_name(&request.group, request.group_version);
        let offsets = self.broker.committed(&request.topic, &group).await;
        Ok(Response::new(GetOffsetsReply {
            offsets: offsets
                .map_err(status)?
                .into_iter()
                .collect::<HashMap<_, _>>(),
        }))
    }

    async fn get_end_offsets(
        &self,
        request: Request<GetEndOffsetsRequest>,
    ) -> Result<Response<GetEndOffsetsReply>, Status> {
        let offsets = self.broker.end_offsets(&request.into_inner().topic).await;
        Ok(Response::new(GetEndOffsetsReply {
            offsets: offsets.map_err(status)?.into_iter().collect(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::group_name;

    #[test]
    fn group_version_suffixes_the_group() {
        assert_eq!(group_name("square", 0), "square");
        assert_eq!(group_name("square", 2), "square-v2");
    }
}
