//! Send throughput through a real broker on loopback (SEND_MESSAGE_V2, 1 KiB bodies, 32
//! requests in flight on one connection, ASYNC_FLUSH) with no plug-ins, with a send hook
//! that passes everything, and with the built-in trace plug-in on: what a plug-in costs
//! the send path. Each iteration is one acknowledged send.

mod common;

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ferrocket::actors::broker::plugins::builtin::PluginEntry;
use ferrocket::actors::broker::plugins::{
    BeforeSend, Plugin, PluginContext, SendVerdict, Takes, WhenLate,
};
use ferrocket::actors::broker::{Broker, BrokerBuilder};
use ferrocket::protocol::RemotingCommand;
use ferrocket::remoting_client::RemotingClient;
use futures_util::stream::{self, StreamExt};

const IN_FLIGHT: usize = 32;
const TOPIC: &str = "BenchPlugins";

struct PassThrough;

impl Plugin for PassThrough {
    fn name(&self) -> &str {
        "pass"
    }
    fn takes(&self) -> Takes {
        Takes::new().send_hook(Duration::from_millis(100), WhenLate::Skip)
    }
    fn before_send(&mut self, _: &BeforeSend, _: &mut PluginContext<Self>) -> SendVerdict {
        SendVerdict::Pass
    }
}

fn send(i: u64) -> RemotingCommand {
    let props = format!("TAGS\u{1}TagA\u{2}KEYS\u{1}k{i}\u{2}WAIT\u{1}true\u{2}");
    common::send_v2(TOPIC, i, &props)
}

async fn sends(client: &RemotingClient, addr: &str, n: u64) -> Duration {
    let began = Instant::now();
    stream::iter(0..n)
        .map(|i| client.invoke(addr, send(i), Duration::from_secs(10)))
        .buffer_unordered(IN_FLIGHT)
        .for_each(|r| async move {
            assert_eq!(r.map(|r| r.code).unwrap_or(-1), 0, "send failed");
        })
        .await;
    began.elapsed()
}

fn send_path(c: &mut Criterion) {
    let mut g = c.benchmark_group("send_1KiB_32_in_flight");
    g.throughput(Throughput::Elements(1));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(8));
    type Setup = fn(BrokerBuilder) -> BrokerBuilder;
    let variants: [(&str, Setup); 3] = [
        ("no_plugins", |b| b),
        ("pass_through_send_hook", |b| b.plugin(PassThrough)),
        ("trace_on", |b| b),
    ];
    for (name, setup) in variants {
        let dir = tempfile::tempdir().unwrap();
        let sys = actix_rt::System::new();
        let mut cfg = common::broker_config(dir.path());
        if name == "trace_on" {
            cfg.plugins = vec![PluginEntry::named("trace")];
        }
        let broker: Broker = sys
            .block_on(setup(BrokerBuilder::new(cfg)).start())
            .unwrap();
        broker.store.override_disk_usage(Some(10));
        let addr = broker.local_addr().to_string();
        let client = RemotingClient::default();
        sys.block_on(async {
            client
                .invoke(&addr, common::create_topic(TOPIC), Duration::from_secs(10))
                .await
                .unwrap();
            sends(&client, &addr, 1_000).await;
        });
        g.bench_function(name, |b| {
            b.iter_custom(|iters| sys.block_on(sends(&client, &addr, iters)))
        });
        sys.block_on(async {
            let _ = broker.shutdown().await;
        });
    }
    g.finish();
}

criterion_group!(benches, send_path);
criterion_main!(benches);
