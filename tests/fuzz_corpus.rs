//! Replays the fuzzers' saved corpora (fuzz/corpus/<target>/) through the same entry points
//! the cargo-fuzz targets call, so every input that ever found new coverage stays a
//! regression test on stable Rust.

use std::path::PathBuf;

fn replay(target: &str, run: fn(&[u8])) -> usize {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {} missing: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in &entries {
        let data = std::fs::read(path).unwrap();
        let outcome = std::panic::catch_unwind(|| run(&data));
        assert!(outcome.is_ok(), "corpus input {} panics", path.display());
    }
    entries.len()
}

#[test]
fn frame_header_corpus_decodes_without_panics() {
    let n = replay("frame_header", ferrocket::fuzzing::frame_header);
    assert!(
        n >= 10,
        "the frame_header corpus should hold the seeds and what fuzzing found, has {n}"
    );
}

#[test]
fn namesrv_bodies_corpus_decodes_without_panics() {
    let n = replay("namesrv_bodies", ferrocket::fuzzing::namesrv_bodies);
    assert!(
        n >= 5,
        "the namesrv_bodies corpus should hold the seeds and what fuzzing found, has {n}"
    );
}

#[test]
fn stored_record_corpus_decodes_without_panics() {
    let n = replay("stored_record", ferrocket::fuzzing::stored_record);
    assert!(
        n >= 3,
        "the stored_record corpus should hold the seeds and what fuzzing found, has {n}"
    );
}

#[test]
fn broker_requests_corpus_decodes_without_panics() {
    let n = replay("broker_requests", ferrocket::fuzzing::broker_requests);
    assert!(
        n >= 3,
        "the broker_requests corpus should hold the seeds and what fuzzing found, has {n}"
    );
}

#[test]
fn timer_log_corpus_decodes_without_panics() {
    let n = replay("timer_log", ferrocket::fuzzing::timer_log);
    assert!(
        n >= 3,
        "the timer_log corpus should hold the seeds and what fuzzing found, has {n}"
    );
}

#[test]
fn sql92_filter_corpus_parses_without_panics() {
    let n = replay("sql92_filter", ferrocket::fuzzing::sql92_filter);
    assert!(
        n >= 10,
        "the sql92_filter corpus should hold the seeds and what fuzzing found, has {n}"
    );
}

#[test]
fn ha_stream_corpus_decodes_without_panics() {
    let n = replay("ha_stream", ferrocket::fuzzing::ha_stream);
    assert!(
        n >= 3,
        "the ha_stream corpus should hold the seeds and what fuzzing found, has {n}"
    );
}

#[test]
fn admin_bodies_corpus_decodes_without_panics() {
    let n = replay("admin_bodies", ferrocket::fuzzing::admin_bodies);
    assert!(
        n >= 4,
        "the admin_bodies corpus should hold the seeds and what fuzzing found, has {n}"
    );
}

#[test]
fn console_requests_corpus_decodes_without_panics() {
    let n = replay("console_requests", ferrocket::fuzzing::console_requests);
    assert!(
        n >= 10,
        "the console_requests corpus should hold the seeds and what fuzzing found, has {n}"
    );
}
