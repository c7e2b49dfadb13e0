//! The JSON bodies the name server reads and writes: topic routes and cluster info it answers
//! with, the registration a broker sends (plain JSON or the zlib-framed form), and the small
//! key/value and topic-list bodies. Bodies arrive as bytes from a `RemotingCommand` and are
//! decoded with the lenient fastjson-compatible reader in [`fastjson`]; they leave as `Bytes`
//! written the way a Java peer writes them, so old clients that parse fastjson's
//! non-standard output keep working. Every decoder returns `ProtocolError::InvalidBody`
//! instead of panicking, whatever the input.

pub mod broker;
pub mod fastjson;
pub mod heartbeat;
pub mod kv;
pub mod register;
pub mod route;

pub use kv::{KvTable, TopicList};
pub use register::{
    body_crc32, DataVersion, RegisterBrokerBody, TopicConfig, TopicConfigSerializeWrapper,
};
pub use route::{BrokerData, ClusterInfo, QueueData, TopicRouteData};

/// Deterministic pseudo-random inputs for the "never panics" tests: `count` byte strings of
/// up to 255 bytes, mostly drawn from `alphabet` so they reach past the first syntax check.
#[cfg(test)]
pub(crate) fn arbitrary_inputs(count: usize, alphabet: &[u8]) -> Vec<Vec<u8>> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..count)
        .map(|_| {
            let len = (next() % 256) as usize;
            (0..len)
                .map(|_| {
                    let r = next();
                    if alphabet.is_empty() || r % 4 == 0 {
                        (r >> 8) as u8
                    } else {
                        alphabet[(r >> 8) as usize % alphabet.len()]
                    }
                })
                .collect()
        })
        .collect()
}
