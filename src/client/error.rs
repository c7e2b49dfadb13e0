//! The client's one error type.

use crate::protocol::ProtocolError;
use crate::remoting_client::RemotingError;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Remoting(#[from] RemotingError),
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// The broker or name server answered with a RocketMQ error code.
    #[error("code {code}: {remark}")]
    Broker { code: i32, remark: String },
    #[error("no route for topic {0}: the name server knows no broker serving it")]
    NoRoute(String),
    #[error("invalid message: {0}")]
    InvalidMessage(String),
    #[error("the client is not started (or already shut down)")]
    NotStarted,
    #[error("send to {topic} failed after {attempts} attempts: {last}")]
    RetriesExhausted {
        topic: String,
        attempts: usize,
        last: Box<ClientError>,
    },
}

impl ClientError {
    pub fn broker(code: i32, remark: Option<String>) -> Self {
        ClientError::Broker {
            code,
            remark: remark.unwrap_or_default(),
        }
    }

    /// Java's DefaultMQProducer.retryResponseCodes: failures worth another broker.
    pub fn is_retriable(&self) -> bool {
        match self {
            ClientError::Remoting(_) | ClientError::NoRoute(_) => true,
            ClientError::Broker { code, .. } => {
                matches!(code, 17 | 14 | 1 | 2 | 16 | 204 | 205 | 1500)
            }
            _ => false,
        }
    }
}

pub type ClientResult<T> = Result<T, ClientError>;
