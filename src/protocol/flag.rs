//! Bit flags defined once for the broker and the client: the record's SYSFLAG
//! (`MessageSysFlag`), the PULL request's sysFlag (`PullSysFlag`) and topic and broker
//! permissions (`PermName`).

/// `MessageSysFlag`: bits of the record's SYSFLAG field (§4.2).
pub mod sysflag {
    pub const COMPRESSED: i32 = 0x1;
    pub const MULTI_TAGS: i32 = 0x2;
    pub const TRANSACTION_NOT_TYPE: i32 = 0;
    pub const TRANSACTION_PREPARED_TYPE: i32 = 0x4;
    pub const TRANSACTION_COMMIT_TYPE: i32 = 0x8;
    pub const TRANSACTION_ROLLBACK_TYPE: i32 = 0xC;
    pub const BORNHOST_V6_FLAG: i32 = 0x10;
    pub const STOREHOSTADDRESS_V6_FLAG: i32 = 0x20;
    pub const NEED_UNWRAP_FLAG: i32 = 0x40;
    pub const INNER_BATCH_FLAG: i32 = 0x80;
    pub const COMPRESSION_LZ4_TYPE: i32 = 0x100;
    pub const COMPRESSION_ZSTD_TYPE: i32 = 0x200;
    pub const COMPRESSION_ZLIB_TYPE: i32 = 0x300;
    pub const COMPRESSION_TYPE_MASK: i32 = 0x700;

    /// The transaction type bits (one of the `TRANSACTION_*` values).
    pub fn transaction_value(sysflag: i32) -> i32 {
        sysflag & TRANSACTION_ROLLBACK_TYPE
    }

    /// `sysflag` with its transaction type replaced by `value`.
    pub fn reset_transaction_value(sysflag: i32, value: i32) -> i32 {
        (sysflag & !TRANSACTION_ROLLBACK_TYPE) | value
    }
}

/// `PullSysFlag`: bits of PULL_MESSAGE's `sysFlag` header field.
pub mod pull_sysflag {
    pub const COMMIT_OFFSET: i32 = 0x1;
    /// The broker may hold the pull until a message arrives (long polling).
    pub const SUSPEND: i32 = 0x2;
    /// The request carries its subscription expression.
    pub const SUBSCRIPTION: i32 = 0x4;
    pub const CLASS_FILTER: i32 = 0x8;
}

/// `PermName`: the `perm` of a topic and a broker's `brokerPermission`.
pub mod perm {
    pub const PERM_INHERIT: i32 = 0x1;
    pub const PERM_WRITE: i32 = 0x2;
    pub const PERM_READ: i32 = 0x4;

    pub fn is_readable(perm: i32) -> bool {
        perm & PERM_READ != 0
    }

    pub fn is_writeable(perm: i32) -> bool {
        perm & PERM_WRITE != 0
    }

    pub fn is_inherited(perm: i32) -> bool {
        perm & PERM_INHERIT != 0
    }
}
