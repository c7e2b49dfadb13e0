//! Messages on the wire and on disk, with no I/O.

mod record;

pub use record::*;
