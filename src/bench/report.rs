//! Report timing for mqbench: a report line on stdout every interval (what RocketMQ's tools
//! print, and all that appears when output is piped), and, when stderr is a terminal, a
//! status line rewritten in place every second.

use std::io::IsTerminal;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio_util::sync::CancellationToken;

/// Runs until `stop`: `report(span)` every `every`, `live()` every second on a terminal.
pub(super) async fn report_loop(
    every: Duration,
    stop: CancellationToken,
    mut report: impl FnMut(Duration) -> String,
    mut live: impl FnMut() -> String,
) {
    let tty = std::io::stderr().is_terminal();
    let mut last = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_secs(1).min(every));
    tick.tick().await;
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tick.tick() => {}
        }
        if last.elapsed() >= every {
            let span = last.elapsed();
            last = Instant::now();
            if tty {
                eprint!("\r\x1b[2K");
            }
            println!("{}", report(span));
        }
        if tty {
            eprint!("\r\x1b[2K{}", live());
        }
    }
    if tty {
        eprint!("\r\x1b[2K");
    }
}

/// `yyyy-MM-dd HH:mm:ss,SSS` in UTC, the shape of RocketMQ's "Current Time".
pub(super) fn now_stamp() -> String {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    stamp(ms)
}

fn stamp(ms: i64) -> String {
    let (days, rem) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02},{:03}",
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_utc_calendar_times() {
        assert_eq!(stamp(0), "1970-01-01 00:00:00,000");
        assert_eq!(stamp(1_700_000_000_123), "2023-11-14 22:13:20,123");
        assert_eq!(stamp(951_782_400_000), "2000-02-29 00:00:00,000");
    }
}
