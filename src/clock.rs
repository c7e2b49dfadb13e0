//! Wall-clock milliseconds since the Unix epoch, the unit of every RocketMQ timestamp
//! (born and store times, heartbeats, data versions). One definition for the broker, the
//! store and the client.

/// Milliseconds since the Unix epoch; 0 if the clock reads before 1970.
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
