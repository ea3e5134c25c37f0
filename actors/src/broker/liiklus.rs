//! A broker reached through a gateway's liiklus API: what a processor sidecar uses for the
//! streams of a gateway that lives in another process (riff's processor did the same).
//!
//! - Publishes keep their order: one task sends them one after the other.
//! - A subscription is a `Subscribe` call; each `Assignment` opens a `Receive` call
//!   (`LIIKLUS_EVENT` format) whose records become deliveries of that partition.
//! - Commits are `Ack`s; positions live where the gateway keeps them.
//! - Topics are provisioned by the gateway's provisioner, not through this client.

use std::collections::BTreeMap;

use async_trait::async_trait;
use futures::StreamExt;
use riff_protocol::liiklus::liiklus_service_client::LiiklusServiceClient;
use riff_protocol::liiklus::receive_request::ContentFormat;
use riff_protocol::liiklus::subscribe_request::AutoOffsetReset;
use riff_protocol::liiklus::{
    publish_request, receive_reply, subscribe_reply, AckRequest, GetEndOffsetsRequest,
    GetOffsetsRequest, PublishRequest, ReceiveRequest, SubscribeRequest,
};
use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;

use super::{Acknowledgement, Broker, BrokerError, Committer, Delivery, OffsetReset, Subscription};
use crate::gateway::events;
use crate::message::{Message, Record};

/// Records read ahead per subscription.
const READ_AHEAD: usize = 256;

/// One publish waiting for its turn.
type Pending = (
    String,
    Message,
    oneshot::Sender<Result<(u32, u64), BrokerError>>,
);

/// A client of a liiklus gateway, e.g. `http://franz-gateway.default.svc.cluster.local:6565`.
pub struct LiiklusBroker {
    client: LiiklusServiceClient<Channel>,
    publishes: mpsc::UnboundedSender<Pending>,
}

impl LiiklusBroker {
    /// A client of the gateway at `address` (`host:port`); connections are made lazily.
    pub fn connect(address: &str) -> Result<Self, BrokerError> {
        let channel = Channel::from_shared(format!("http://{address}"))
            .map_err(|error| {
                BrokerError::Unavailable(format!("bad gateway address {address:?}: {error}"))
            })?
            .connect_lazy();
        let client = LiiklusServiceClient::new(channel);
        let (publishes, pending) = mpsc::unbounded_channel();
        tokio::spawn(publish_in_order(client.clone(), pending));
        Ok(LiiklusBroker { client, publishes })
    }
}

/// Sends publishes one at a time, in the order they were made.
async fn publish_in_order(
    mut client: LiiklusServiceClient<Channel>,
    mut pending: mpsc::UnboundedReceiver<Pending>,
) {
    while let Some((topic, message, done)) = pending.recv().await {
        let key = message.key.clone().unwrap_or_default();
        let mut event = events::event_of(
            message.content_type,
            message.payload,
            message.headers.into(),
        );
        if event.id.is_empty() {
            event.id = uuid::Uuid::new_v4().to_string();
        }
        event.r#type = if event.r#type.is_empty() {
            "riff-event".into()
        } else {
            event.r#type
        };
        event.source = if event.source.is_empty() {
            "riff-streaming".into()
        } else {
            event.source
        };
        let request = PublishRequest {
            topic,
            key,
            event: Some(publish_request::Event::LiiklusEvent(event)),
            ..Default::default()
        };
        let reply = client.publish(request).await;
        _ = done.send(
            reply
                .map(|r| (r.get_ref().partition, r.get_ref().offset))
                .map_err(refused),
        );
    }
}

/// A gateway's refusal as a broker error.
fn refused(status: tonic::Status) -> BrokerError {
    match status.code() {
        tonic::Code::NotFound => BrokerError::UnknownTopic(status.message().to_owned()),
        tonic::Code::InvalidArgument => {
            BrokerError::Unavailable(format!("refused: {}", status.message()))
        }
        _ => BrokerError::Unavailable(status.message().to_owned()),
    }
}

#[async_trait]
impl Broker for LiiklusBroker {
    /// The in-memory gateway's naming; a remote gateway's topics come from its provisioner.
    fn topic_name(&self, namespace: &str, stream: &str) -> String {
        super::memory::MemoryBroker::topic_name(namespace, stream)
    }

    /// Topics are provisioned by the gateway's provisioner: nothing to do here.
    async fn provision(&self, _: &str, _: u32, _: &str) -> Result<bool, BrokerError> {
        Ok(false)
    }

    fn publish(&self, topic: &str, message: Message) -> Acknowledgement {
        let (done, acknowledged) = oneshot::channel();
        let queued = self.publishes.send((topic.to_owned(), message, done));
        Box::pin(async move {
            queued.map_err(|_| BrokerError::Closed)?;
            acknowledged.await.map_err(|_| BrokerError::Closed)?
        })
    }

    async fn subscribe(
        &self,
        topic: &str,
        group: &str,
        reset: OffsetReset,
    ) -> Result<Subscription, BrokerError> {
        let reset = match reset {
            OffsetReset::Earliest => AutoOffsetReset::Earliest,
            OffsetReset::Latest => AutoOffsetReset::Latest,
        };
        let request = SubscribeRequest {
            topic: topic.to_owned(),
            group: group.to_owned(),
            auto_offset_reset: reset as i32,
            ..Default::default()
        };
        let assignments = self
            .client
            .clone()
            .subscribe(request)
            .await
            .map_err(refused)?
            .into_inner();
        let (deliveries, read) = mpsc::channel(READ_AHEAD);
        tokio::spawn(receive_assignments(
            self.client.clone(),
            assignments,
            deliveries,
        ));
        let committer = AckCommitter {
            client: self.client.clone(),
            topic: topic.to_owned(),
            group: group.to_owned(),
        };
        Ok(Subscription {
            deliveries: ReceiverStream::new(read).boxed(),
            committer: Box::new(committer),
        })
    }

    async fn commit(
        &self,
        topic: &str,
        group: &str,
        positions: &[(u32, u64)],
    ) -> Result<(), BrokerError> {
        ack(&self.client, topic, group, positions).await
    }

    async fn committed(&self, topic: &str, group: &str) -> Result<BTreeMap<u32, u64>, BrokerError> {
        let request = GetOffsetsRequest {
            topic: topic.to_owned(),
            group: group.to_owned(),
            group_version: 0,
        };
        let reply = self
            .client
            .clone()
            .get_offsets(request)
            .await
            .map_err(refused)?;
        Ok(reply.into_inner().offsets.into_iter().collect())
    }

    async fn end_offsets(&self, topic: &str) -> Result<BTreeMap<u32, u64>, BrokerError> {
        let request = GetEndOffsetsRequest {
            topic: topic.to_owned(),
        };
        let reply = self
            .client
            .clone()
            .get_end_offsets(request)
            .await
            .map_err(refused)?;
        Ok(reply.into_inner().offsets.into_iter().collect())
    }

    /// The gateway answers a call (here for the end offsets of no topic), whatever its answer.
    async fn reachable(&self) -> Result<(), BrokerError> {
        let request = GetEndOffsetsRequest::default();
        match self.client.clone().get_end_offsets(request).await {
            Err(status) if status.code() == tonic::Code::Unavailable => Err(refused(status)),
            _ => Ok(()),
        }
    }
}

/// Opens a `Receive` call per assignment and forwards its records, until the subscription is
/// dropped; an ended `Subscribe` call ends the deliveries with an error.
async fn receive_assignments(
    client: LiiklusServiceClient<Channel>,
    mut assignments: tonic::Streaming<riff_protocol::liiklus::SubscribeReply>,
    deliveries: mpsc::Sender<Result<Delivery, BrokerError>>,
) {
    let mut receivers = tokio::task::JoinSet::new();
    loop {
        let reply = tokio::select! {
            reply = assignments.next() => reply,
            _ = deliveries.closed() => return,
        };
        let assignment = match reply {
            Some(Ok(reply)) => match reply.reply {
                Some(subscribe_reply::Reply::Assignment(assignment)) => assignment,
                None => continue,
            },
            Some(Err(status)) => {
                _ = deliveries.send(Err(refused(status))).await;
                return;
            }
            None => {
                _ = deliveries.send(Err(BrokerError::Closed)).await;
                return;
            }
        };
        let partition = assignment.partition;
        if deliveries
            .send(Ok(Delivery::Assigned(vec![partition])))
            .await
            .is_err()
        {
            return;
        }
        let (mut client, deliveries) = (client.clone(), deliveries.clone());
        receivers.spawn(async move {
            let request = ReceiveRequest {
                assignment: Some(assignment),
                format: ContentFormat::LiiklusEvent as i32,
                ..Default::default()
            };
            let mut records = match client.receive(request).await {
                Ok(records) => records.into_inner(),
                Err(status) => {
                    _ = deliveries.send(Err(refused(status))).await;
                    return;
                }
            };
            while let Some(reply) = records.next().await {
                let delivery = match reply.map(|r| r.reply) {
                    Ok(Some(receive_reply::Reply::LiiklusEventRecord(record))) => {
                        let mut message = events::message_of(record.event.unwrap_or_default());
                        message.key = (!record.key.is_empty()).then_some(record.key);
                        let timestamp_ms = record
                            .timestamp
                            .map_or(0, |t| t.seconds * 1000 + i64::from(t.nanos) / 1_000_000);
                        Ok(Delivery::Record(Record {
                            partition,
                            offset: record.offset,
                            timestamp_ms,
                            message,
                        }))
                    }
                    Ok(_) => continue,
                    Err(status) => Err(refused(status)),
                };
                if deliveries.send(delivery).await.is_err() {
                    return;
                }
            }
        });
    }
}

async fn ack(
    client: &LiiklusServiceClient<Channel>,
    topic: &str,
    group: &str,
    positions: &[(u32, u64)],
) -> Result<(), BrokerError> {
    for (partition, offset) in positions {
        let request = AckRequest {
            topic: topic.to_owned(),
            group: group.to_owned(),
            partition: *partition,
            offset: *offset,
            ..Default::default()
        };
        client.clone().ack(request).await.map_err(refused)?;
    }
    Ok(())
}

/// Commits with `Ack`s on the gateway.
struct AckCommitter {
    client: LiiklusServiceClient<Channel>,
    topic: String,
    group: String,
}

#[async_trait]
impl Committer for AckCommitter {
    async fn commit(&self, positions: &[(u32, u64)]) -> Result<(), BrokerError> {
        ack(&self.client, &self.topic, &self.group, positions).await
    }
}
