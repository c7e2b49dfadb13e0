//! Report timing for mqbench: a report line on stdout every interval (what RocketMQ's tools
//! print, and all that appears when output is piped), and, when stderr is a terminal, a
//! status line rewritten in place every second.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

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

/// `yyyy-MM-dd HH:mm:ss,SSS` in local time, as RocketMQ's tools print "Current Time".
pub(super) fn now_stamp() -> String {
    chrono::Local::now()
        .format("%Y-%m-%d %H:%M:%S,%3f")
        .to_string()
}
