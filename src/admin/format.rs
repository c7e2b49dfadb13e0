//! The text conventions RocketMQ's tools print with: local-time timestamps in the two
//! layouts `UtilAll` uses, strings cut to a column's width, client version ordinals as
//! `MQVersion` names (from `protocol`), and the `[now|millis|yyyy-MM-dd#HH:mm:ss:SSS]` timestamps the offset
//! sub-commands accept.

use chrono::{Local, LocalResult, NaiveDateTime, TimeZone};

/// `yyyy-MM-dd HH:mm:ss,SSS` in local time (`UtilAll.timeMillisToHumanString2`).
pub fn human_millis(ms: i64) -> String {
    match Local.timestamp_millis_opt(ms) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => {
            t.format("%Y-%m-%d %H:%M:%S,%3f").to_string()
        }
        LocalResult::None => ms.to_string(),
    }
}

/// `yyyy-MM-dd HH:mm:ss` in local time (`UtilAll.formatDate` with `YYYY_MM_DD_HH_MM_SS`).
pub fn date_time(ms: i64) -> String {
    match Local.timestamp_millis_opt(ms) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => {
            t.format("%Y-%m-%d %H:%M:%S").to_string()
        }
        LocalResult::None => ms.to_string(),
    }
}

/// At most `n` characters of `s` (`UtilAll.frontStringAtLeast`).
pub fn front(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

pub use crate::protocol::command::version_name as version_desc;

/// A timestamp as the offset sub-commands take it: `now` (-1: the queue's end), epoch
/// milliseconds, or `yyyy-MM-dd#HH:mm:ss:SSS` in local time.
pub fn parse_timestamp(s: &str) -> Result<i64, String> {
    let s = s.trim();
    if s == "now" {
        return Ok(-1);
    }
    if let Ok(ms) = s.parse::<i64>() {
        return Ok(ms);
    }
    let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%d#%H:%M:%S:%3f").map_err(|_| {
        format!("bad timestamp {s:?}: expected now, epoch milliseconds or yyyy-MM-dd#HH:mm:ss:SSS")
    })?;
    match Local.from_local_datetime(&naive) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Ok(t.timestamp_millis()),
        LocalResult::None => Err(format!("{s} does not exist in the local time zone")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_ordinals_name_rocketmq_releases() {
        assert_eq!(version_desc(409), "V4_9_8");
        assert_eq!(version_desc(408), "V4_9_8_SNAPSHOT");
        assert_eq!(version_desc(213), "V4_0_0");
        assert_eq!(version_desc(413), "V5_0_0");
        assert_eq!(version_desc(100), "V3(100)");
    }

    #[test]
    fn front_cuts_on_characters_not_bytes() {
        assert_eq!(front("abcdef", 3), "abc");
        assert_eq!(front("ab", 3), "ab");
        assert_eq!(front("é€x", 2), "é€");
    }

    #[test]
    fn timestamps_parse_in_the_three_accepted_forms() {
        assert_eq!(parse_timestamp("now"), Ok(-1));
        assert_eq!(parse_timestamp("1700000000000"), Ok(1_700_000_000_000));
        let ms = parse_timestamp("2024-01-02#03:04:05:006").unwrap();
        assert_eq!(human_millis(ms), "2024-01-02 03:04:05,006");
        assert!(parse_timestamp("yesterday").is_err());
    }
}
