//! The storage engine (CommitLog, ConsumeQueue, IndexFile, checkpoint, recovery), plain
//! Rust with no actors. It arrives with the store issue; the name server needs none of it.
