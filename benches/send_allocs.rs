//! Heap allocations per acknowledged send, counted by a global allocator, and the time of
//! the same sends: SEND_MESSAGE_V2 with 1 KiB bodies and JSON headers through a real
//! broker on loopback (ASYNC_FLUSH, 32 requests in flight on one connection). The client
//! runs on its own thread, whose allocations are not counted, so the figure is the
//! broker's alone (connection, processor, writer, dispatcher). Printed as
//! `broker allocations per send: N (B bytes)` before the criterion timings.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ferrocket::actors::broker::{Broker, BrokerBuilder};
use ferrocket::protocol::RemotingCommand;
use ferrocket::remoting_client::RemotingClient;
use futures_util::stream::{self, StreamExt};

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// Set on the client's thread: its allocations are not the broker's.
    static UNCOUNTED: Cell<bool> = const { Cell::new(false) };
}

fn count(size: usize) {
    if !UNCOUNTED.try_with(Cell::get).unwrap_or(true) {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(size as u64, Ordering::Relaxed);
    }
}

// SAFETY: every call is passed straight to the system allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        System.alloc_zeroed(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        System.realloc(ptr, layout, new_size)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const IN_FLIGHT: usize = 32;
const TOPIC: &str = "BenchAllocs";

fn send(i: u64) -> RemotingCommand {
    common::send_v2(TOPIC, i, "TAGS\u{1}TagA\u{2}WAIT\u{1}true\u{2}")
}

/// The client's side: its own thread and runtime, uncounted. Each request names how many
/// sends to make and is answered with their wall time.
struct Client {
    requests: std::sync::mpsc::Sender<(u64, std::sync::mpsc::Sender<Duration>)>,
}

impl Client {
    fn start(addr: String) -> Client {
        let (tx, rx) = std::sync::mpsc::channel::<(u64, std::sync::mpsc::Sender<Duration>)>();
        std::thread::spawn(move || {
            UNCOUNTED.with(|u| u.set(true));
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let client = RemotingClient::default();
            rt.block_on(async {
                client
                    .invoke(&addr, common::create_topic(TOPIC), Duration::from_secs(10))
                    .await
                    .unwrap();
            });
            while let Ok((n, answer)) = rx.recv() {
                let took = rt.block_on(async {
                    let began = Instant::now();
                    stream::iter(0..n)
                        .map(|i| client.invoke(&addr, send(i), Duration::from_secs(10)))
                        .buffer_unordered(IN_FLIGHT)
                        .for_each(|r| async move {
                            assert_eq!(r.map(|r| r.code).unwrap_or(-1), 0, "send failed");
                        })
                        .await;
                    began.elapsed()
                });
                let _ = answer.send(took);
            }
        });
        Client { requests: tx }
    }

    fn sends(&self, n: u64) -> Duration {
        let (tx, rx) = std::sync::mpsc::channel();
        self.requests.send((n, tx)).unwrap();
        rx.recv().unwrap()
    }
}

fn send_allocs(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    // The broker's arbiter runs on a thread of its own, so that the main thread (which
    // waits for the client) is idle and uncounted work is the client's alone.
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    let cfg = common::broker_config(dir.path());
    let broker_thread = std::thread::spawn(move || {
        let sys = actix_rt::System::new();
        let broker: Broker = sys.block_on(BrokerBuilder::new(cfg).start()).unwrap();
        broker.store.override_disk_usage(Some(10));
        addr_tx.send(broker.local_addr().to_string()).unwrap();
        sys.block_on(async {
            while stop_rx.try_recv().is_err() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let _ = broker.shutdown().await;
        });
    });
    UNCOUNTED.with(|u| u.set(true));
    let client = Client::start(addr_rx.recv().unwrap());
    client.sends(2_000); // warm: topic, queues, files, connection
    const COUNTED: u64 = 20_000;
    let (a0, b0) = (
        ALLOCS.load(Ordering::Relaxed),
        BYTES.load(Ordering::Relaxed),
    );
    client.sends(COUNTED);
    let (a1, b1) = (
        ALLOCS.load(Ordering::Relaxed),
        BYTES.load(Ordering::Relaxed),
    );
    println!(
        "broker allocations per send: {:.1} ({:.0} bytes)",
        (a1 - a0) as f64 / COUNTED as f64,
        (b1 - b0) as f64 / COUNTED as f64
    );

    let mut g = c.benchmark_group("send_allocs");
    g.throughput(Throughput::Elements(1));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(8));
    g.bench_function("send_1KiB_32_in_flight", |b| {
        b.iter_custom(|n| client.sends(n))
    });
    g.finish();
    drop(client);
    let _ = stop_tx.send(());
    let _ = broker_thread.join();
}

criterion_group!(benches, send_allocs);
criterion_main!(benches);
