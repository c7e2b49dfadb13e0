//! The one place where failures become RocketMQ responses. Request handlers return
//! `Result<RemotingCommand, ServiceError>`; the processor turns an `Err` into a response
//! with [`ServiceError::into_response`] and nowhere else.

use crate::actors::runtime::ActorError;
use crate::protocol::code::response;
use crate::protocol::{ProtocolError, RemotingCommand};
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The request could not be read: a bad header field or body.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// The actor that should answer is overloaded, restarting or gone.
    #[error(transparent)]
    Actor(#[from] ActorError),
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A subscription expression that does not compile.
    #[error(transparent)]
    Selector(#[from] crate::protocol::filter::ParseError),
    /// A refusal with a RocketMQ code and the remark the client shows its user.
    #[error("{remark}")]
    Refused { code: i32, remark: String },
}

impl ServiceError {
    pub fn refused(code: i32, remark: impl Into<String>) -> Self {
        ServiceError::Refused {
            code,
            remark: remark.into(),
        }
    }

    pub fn code(&self) -> i32 {
        match self {
            ServiceError::Protocol(e) => e.response_code(),
            // Full, restarting or gone: the same request can succeed a moment later, and
            // Java clients retry SYSTEM_BUSY (never MESSAGE_ILLEGAL).
            ServiceError::Actor(_) => response::SYSTEM_BUSY,
            // A full disk is not a broken one: refused like RocketMQ's SERVICE_NOT_AVAILABLE,
            // whether it was seen by the disk check or by a write that found no space.
            ServiceError::Store(e) if e.is_disk_full() => response::SERVICE_NOT_AVAILABLE,
            ServiceError::Store(e) => match e {
                StoreError::MessageTooLarge { .. }
                | StoreError::PropertiesTooLong(_)
                | StoreError::TopicTooLong(_)
                | StoreError::InvalidMessage(_) => response::MESSAGE_ILLEGAL,
                StoreError::Poisoned(_)
                | StoreError::DiskFull { .. }
                | StoreError::NoSpace { .. }
                | StoreError::ShuttingDown
                | StoreError::Slave => response::SERVICE_NOT_AVAILABLE,
                StoreError::Io { .. } | StoreError::Corrupt { .. } => response::SYSTEM_ERROR,
                StoreError::Busy(_) | StoreError::Unavailable(_) => response::SYSTEM_BUSY,
            },
            ServiceError::Selector(_) => response::SUBSCRIPTION_PARSE_FAILED,
            ServiceError::Refused { code, .. } => *code,
        }
    }

    pub fn into_response(self) -> RemotingCommand {
        let remark = match &self {
            // Java clients retry SYSTEM_BUSY answers whose remark starts like this.
            ServiceError::Actor(ActorError::MailboxFull(who)) => {
                format!("[OVERLOAD]system busy, start flow control for a while ({who})")
            }
            other => other.to_string(),
        };
        RemotingCommand::response(self.code(), Some(remark))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_map_to_rocketmq_codes() {
        let full = ServiceError::from(ActorError::MailboxFull("x".into())).into_response();
        assert_eq!(full.code, response::SYSTEM_BUSY);
        assert!(full.remark.unwrap().starts_with("[OVERLOAD]"));
        let missing = ServiceError::from(ProtocolError::MissingField("topic")).into_response();
        assert_eq!(missing.code, response::INVALID_PARAMETER);
        assert!(missing.remark.unwrap().contains("topic"));
        let refused =
            ServiceError::refused(response::SYSTEM_ERROR, "crc32 not match").into_response();
        assert_eq!(
            (refused.code, refused.remark.as_deref()),
            (1, Some("crc32 not match"))
        );
    }

    /// A restarting or stopped actor is not the client's fault: Java producers retry
    /// SYSTEM_BUSY and give up on MESSAGE_ILLEGAL, so the code is the behaviour.
    #[test]
    fn unavailable_parts_answer_system_busy_and_are_retryable() {
        let restarting = StoreError::Unavailable("the commit-log writer".into());
        assert!(restarting.is_retryable());
        assert_eq!(ServiceError::from(restarting).code(), response::SYSTEM_BUSY);
        for actor in [
            ActorError::Panicked("w".into()),
            ActorError::Closed("w".into()),
        ] {
            assert_eq!(ServiceError::from(actor).code(), response::SYSTEM_BUSY);
        }
        let illegal = StoreError::InvalidMessage("empty topic".into());
        assert!(!illegal.is_retryable());
        assert_eq!(
            ServiceError::from(illegal).code(),
            response::MESSAGE_ILLEGAL
        );
        assert!(StoreError::Busy("late".into()).is_retryable());
    }

    #[test]
    fn a_full_disk_is_service_not_available_with_rocketmqs_remark() {
        let full = ServiceError::from(StoreError::DiskFull {
            usage: "CL:  0.95 CQ:  0.95 INDEX:  0.95".into(),
            reason: "95.0% used".into(),
        })
        .into_response();
        assert_eq!(full.code, response::SERVICE_NOT_AVAILABLE);
        assert!(full
            .remark
            .unwrap()
            .contains("the broker's disk is full [CL:  0.95"));
        let enospc = std::io::Error::from_raw_os_error(libc::ENOSPC);
        let io = ServiceError::from(StoreError::io("/store/config/topics.json", enospc));
        assert_eq!(io.code(), response::SERVICE_NOT_AVAILABLE);
        let eio = std::io::Error::from_raw_os_error(libc::EIO);
        let io = ServiceError::from(StoreError::io("/store/commitlog", eio));
        assert_eq!(io.code(), response::SYSTEM_ERROR);
    }
}
