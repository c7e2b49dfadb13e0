//! Remoting over TCP: the server (accept loop, one [`Connection`] actor per peer) and the
//! client (requests matched to responses by opaque). Both speak [`RemotingCommand`] frames
//! through [`FrameCodec`]; the name server, the broker and the Rust client all reuse them.
//!
//! [`RemotingCommand`]: crate::protocol::RemotingCommand
//! [`FrameCodec`]: crate::protocol::FrameCodec

pub mod connection;
pub mod server;

pub use connection::{Connection, ConnectionInfo};
pub use server::{RemotingServer, RequestProcessor, ServerConfig, ServerHandle};
