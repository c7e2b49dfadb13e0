//! The transactional producer: a half message (TRAN_MSG, PGROUP, sysflag PREPARED), the
//! application's local transaction, then END_TRANSACTION (oneway) with its outcome. When
//! the broker cannot tell the outcome it asks with CHECK_TRANSACTION_STATE on this client's
//! connection; the [`TransactionListener`]'s `check` answers, again with END_TRANSACTION.

use std::sync::Arc;

use futures_util::future::BoxFuture;

use super::error::{ClientError, ClientResult};
use super::instance::ClientInstance;
use super::message::{Message, MessageExt};
use super::producer::{Producer, ProducerConfig, SendResult, SendStatus};
use crate::protocol::code::request;
use crate::protocol::flag::sysflag;
use crate::protocol::header::broker::{
    CheckTransactionStateRequestHeader, EndTransactionRequestHeader,
};
use crate::protocol::message::decode_offset_msg_id;
use crate::protocol::RemotingCommand;

/// A local transaction's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionState {
    Commit,
    Rollback,
    Unknown,
}

impl TransactionState {
    /// The sysflag transaction value END_TRANSACTION carries.
    fn code(self) -> i32 {
        match self {
            TransactionState::Commit => sysflag::TRANSACTION_COMMIT_TYPE,
            TransactionState::Rollback => sysflag::TRANSACTION_ROLLBACK_TYPE,
            TransactionState::Unknown => sysflag::TRANSACTION_NOT_TYPE,
        }
    }
}

pub trait TransactionListener: Send + Sync + 'static {
    /// Runs the local transaction after the half message is stored.
    fn execute(&self, msg: &Message, arg: &str) -> BoxFuture<'static, TransactionState>;
    /// Answers the broker's question about a half message whose outcome it does not know.
    fn check(&self, msg: &MessageExt) -> BoxFuture<'static, TransactionState>;
}

#[derive(Debug, Clone)]
pub struct TransactionSendResult {
    pub send: SendResult,
    pub state: TransactionState,
}

pub struct TransactionProducer {
    producer: Producer,
    group: String,
    client: ClientInstance,
    listener: Arc<dyn TransactionListener>,
}

fn end_transaction(
    group: &str,
    header_offsets: (i64, i64),
    msg_id: &str,
    state: TransactionState,
    from_check: bool,
) -> RemotingCommand {
    let header = EndTransactionRequestHeader {
        producer_group: group.to_owned(),
        tran_state_table_offset: header_offsets.0,
        commit_log_offset: header_offsets.1,
        commit_or_rollback: state.code(),
        from_transaction_check: Some(from_check),
        msg_id: msg_id.to_owned(),
        transaction_id: Some(msg_id.to_owned()),
        ..Default::default()
    };
    let mut cmd = RemotingCommand::request_with(request::END_TRANSACTION, &header);
    cmd.mark_oneway();
    cmd
}

impl TransactionProducer {
    pub fn new(
        config: ProducerConfig,
        client: ClientInstance,
        listener: impl TransactionListener,
    ) -> Self {
        let group = config.group.clone();
        let listener: Arc<dyn TransactionListener> = Arc::new(listener);
        TransactionProducer {
            producer: Producer::new(config, client.clone()),
            group,
            client,
            listener,
        }
    }

    pub fn start(&self) {
        let (group, listener, client) = (
            self.group.clone(),
            self.listener.clone(),
            self.client.clone(),
        );
        self.client.register_request_handler(
            request::CHECK_TRANSACTION_STATE,
            Arc::new(move |req: RemotingCommand, from: String| {
                let (group, listener, client) = (group.clone(), listener.clone(), client.clone());
                Box::pin(async move {
                    let Ok(h) = req.decode_header::<CheckTransactionStateRequestHeader>() else {
                        return;
                    };
                    let Some(msg) = super::message::decode_messages(&req.body)
                        .into_iter()
                        .next()
                    else {
                        return;
                    };
                    if msg.property("PGROUP").is_some_and(|g| g != group) {
                        return;
                    }
                    let state = listener.check(&msg).await;
                    let id = h.msg_id.clone().unwrap_or_else(|| msg.msg_id().to_owned());
                    let cmd = end_transaction(
                        &group,
                        (h.tran_state_table_offset, h.commit_log_offset),
                        &id,
                        state,
                        true,
                    );
                    if let Err(e) = client.invoke_oneway(&from, cmd).await {
                        tracing::warn!(error = %e, "answering a transaction check failed");
                    }
                }) as BoxFuture<'static, ()>
            }),
        );
        self.producer.start();
    }

    pub async fn shutdown(&self) {
        self.producer.shutdown().await;
    }

    /// Sends `msg` as a half message, runs the local transaction, and ends it.
    pub async fn send_in_transaction(
        &self,
        msg: &Message,
        arg: &str,
    ) -> ClientResult<TransactionSendResult> {
        if msg.properties.contains_key("DELAY") {
            return Err(ClientError::InvalidMessage(
                "transactional messages do not support delays".into(),
            ));
        }
        let half = msg
            .clone()
            .with_property("TRAN_MSG", "true")
            .with_property("PGROUP", self.group.clone());
        let send = self.producer.send_prepared(&half).await?;
        let state = if send.status == SendStatus::SendOk {
            self.listener.execute(&half, arg).await
        } else {
            TransactionState::Rollback
        };
        let (_, phys) = decode_offset_msg_id(&send.offset_msg_id)
            .map_err(|e| ClientError::InvalidMessage(e.to_string()))?;
        let addr = self
            .client
            .master_addr(&send.queue.broker_name)
            .ok_or_else(|| ClientError::NoRoute(msg.topic.clone()))?;
        let cmd = end_transaction(
            &self.group,
            (send.queue_offset, phys),
            &send.msg_id,
            state,
            false,
        );
        self.client.invoke_oneway(&addr, cmd).await?;
        Ok(TransactionSendResult { send, state })
    }
}
