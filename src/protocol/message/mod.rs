//! Messages on the wire and on disk, with no I/O: [`record`] is one commit-log record
//! (encode, decode, check; also the body of a PULL response), [`properties`] the property
//! string and tag codes, [`id`] offset and unique message ids, [`batch`] the
//! SEND_BATCH_MESSAGE body. The store writes and reads records through these; the client
//! builds batches and ids and decodes pulled records with the same code.

pub mod batch;
pub mod error;
pub mod id;
pub mod properties;
pub mod record;

pub use batch::{decode_batch, encode_batch, BatchItem};
pub use error::MessageError;
pub use id::{decode_offset_msg_id, offset_msg_id, UniqIdGenerator};
pub use properties::{
    decode_properties, encode_properties, java_string_hash, property, tags_code_from,
};
pub use record::{
    check_record, decode_record, decode_record_shared, encode_blank, record_properties,
    set_queue_offset, DispatchInfo, MessageToStore, RecordCheck, StoredMessage,
};
