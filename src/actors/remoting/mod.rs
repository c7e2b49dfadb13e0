//! The remoting server over TCP: the accept loop and one [`Connection`] actor per peer.
//! It speaks [`RemotingCommand`] frames through [`FrameCodec`]; the name server and the
//! broker both serve through it. Its counterpart, the client that matches responses to
//! requests by opaque, is plain tokio: `crate::remoting_client`.
//!
//! [`RemotingCommand`]: crate::protocol::RemotingCommand
//! [`FrameCodec`]: crate::protocol::FrameCodec

pub mod connection;
pub mod server;

pub use connection::{Connection, ConnectionInfo};
pub use server::{RemotingServer, RequestProcessor, ServerConfig, ServerHandle};
