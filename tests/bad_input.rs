//! Hostile and broken bytes on the remoting port: each gets an error answer or a clean
//! close, and the server keeps serving everyone else.

mod common;

use std::time::Duration;

use common::*;
use ferrocket::protocol::code::response;
use ferrocket::protocol::RemotingCommand;
use ferrocket::remoting_client::RemotingClient;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads until EOF (or 5 s), returning what arrived.
async fn read_until_closed(s: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let result = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
    assert!(result.is_ok(), "server did not close the connection");
    out
}

fn frame(word: u32, header: &[u8], total_len: Option<u32>) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&total_len.unwrap_or(4 + header.len() as u32).to_be_bytes());
    v.extend_from_slice(&word.to_be_bytes());
    v.extend_from_slice(header);
    v
}

fn decode_single(bytes: &[u8]) -> RemotingCommand {
    let out = ferrocket::protocol::frame::decode_all(bytes, 16 << 20);
    assert_eq!(out.len(), 1, "expected exactly one answer frame");
    out.into_iter().next().unwrap().unwrap()
}

async fn still_serving(addr: &str) {
    let resp = call(
        &RemotingClient::default(),
        addr,
        route_request("Whatever", 409),
    )
    .await;
    assert_eq!(resp.code, response::TOPIC_NOT_EXIST);
}

#[actix_rt::test]
async fn a_frame_claiming_two_gib_is_closed_without_an_answer() {
    let ns = start_namesrv().await;
    let mut s = TcpStream::connect(&ns.addr).await.unwrap();
    s.write_all(&[0x80, 0, 0, 0, 0, 0, 0, 0]).await.unwrap();
    assert!(read_until_closed(&mut s).await.is_empty());
    still_serving(&ns.addr).await;
}

#[actix_rt::test]
async fn a_frame_over_the_configured_maximum_is_closed() {
    let ns = start_namesrv_with(|c| c.server.max_frame_bytes = 4096).await;
    let mut s = TcpStream::connect(&ns.addr).await.unwrap();
    s.write_all(&5000u32.to_be_bytes()).await.unwrap();
    assert!(read_until_closed(&mut s).await.is_empty());
    still_serving(&ns.addr).await;
}

#[actix_rt::test]
async fn a_header_longer_than_its_frame_is_answered_then_closed() {
    let ns = start_namesrv().await;
    let mut s = TcpStream::connect(&ns.addr).await.unwrap();
    s.write_all(&frame(100, b"{}", None)).await.unwrap();
    let answer = decode_single(&read_until_closed(&mut s).await);
    assert_eq!(answer.code, response::SYSTEM_ERROR);
    assert!(answer.is_response());
    assert!(answer.remark.unwrap().contains("header length 100"));
    still_serving(&ns.addr).await;
}

#[actix_rt::test]
async fn invalid_json_is_answered_then_closed() {
    let ns = start_namesrv().await;
    let mut s = TcpStream::connect(&ns.addr).await.unwrap();
    let header = b"{\"code\":105,\"opaque\":";
    s.write_all(&frame(header.len() as u32, header, None))
        .await
        .unwrap();
    let answer = decode_single(&read_until_closed(&mut s).await);
    assert_eq!(answer.code, response::SYSTEM_ERROR);
    assert!(answer.remark.unwrap().starts_with("invalid JSON header"));
    still_serving(&ns.addr).await;
}

#[actix_rt::test]
async fn an_unknown_serialize_type_is_answered_then_closed() {
    let ns = start_namesrv().await;
    let mut s = TcpStream::connect(&ns.addr).await.unwrap();
    s.write_all(&frame(0x0500_0002, b"{}", None)).await.unwrap();
    let answer = decode_single(&read_until_closed(&mut s).await);
    assert!(answer.remark.unwrap().contains("unknown serialize type 5"));
    still_serving(&ns.addr).await;
}

#[actix_rt::test]
async fn a_truncated_frame_then_close_leaves_the_server_healthy() {
    let ns = start_namesrv().await;
    {
        let mut s = TcpStream::connect(&ns.addr).await.unwrap();
        s.write_all(&frame(2, b"{}", Some(1000))).await.unwrap();
        s.shutdown().await.unwrap();
        let _ = read_until_closed(&mut s).await;
    }
    still_serving(&ns.addr).await;
    assert!(
        eventually(Duration::from_secs(2), || async {
            ns.namesrv.server.connection_count() <= 1
        })
        .await,
        "the half-sent connection must be gone"
    );
}

#[actix_rt::test]
async fn a_binary_header_with_lengths_past_its_end_is_answered_then_closed() {
    let ns = start_namesrv().await;
    let mut s = TcpStream::connect(&ns.addr).await.unwrap();
    let mut header = vec![0u8; 13];
    header.extend_from_slice(&0x7fff_0000u32.to_be_bytes());
    header.extend_from_slice(&[0u8; 4]);
    s.write_all(&frame(0x0100_0000 | header.len() as u32, &header, None))
        .await
        .unwrap();
    let answer = decode_single(&read_until_closed(&mut s).await);
    assert_eq!(answer.code, response::SYSTEM_ERROR);
    still_serving(&ns.addr).await;
}

#[actix_rt::test]
async fn idle_connections_are_closed() {
    let ns = start_namesrv_with(|c| c.server.server_channel_max_idle_time_seconds = 1).await;
    let mut s = TcpStream::connect(&ns.addr).await.unwrap();
    let started = std::time::Instant::now();
    assert!(read_until_closed(&mut s).await.is_empty());
    assert!(started.elapsed() >= Duration::from_millis(900));
}

#[actix_rt::test]
async fn responses_are_matched_by_opaque_when_many_requests_share_a_connection() {
    let ns = start_namesrv().await;
    let c = RemotingClient::default();
    let calls = (0..50).map(|i| {
        let (c, addr) = (c.clone(), ns.addr.clone());
        async move {
            (
                i,
                call(&c, &addr, route_request(&format!("T{i}"), 409)).await,
            )
        }
    });
    for (i, resp) in futures_util::future::join_all(calls).await {
        assert!(resp.remark.unwrap().contains(&format!("topic: T{i}\n")));
    }
}

#[actix_rt::test]
async fn graceful_shutdown_closes_connections_and_stops_accepting() {
    let ns = start_namesrv().await;
    let mut s = TcpStream::connect(&ns.addr).await.unwrap();
    still_serving(&ns.addr).await;
    ns.namesrv.shutdown().await;
    assert!(read_until_closed(&mut s).await.is_empty());
    let refused = tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(&ns.addr)).await;
    assert!(
        matches!(refused, Ok(Err(_))),
        "no new connections after shutdown"
    );
}

#[actix_rt::test]
async fn the_connection_limit_makes_extra_peers_wait() {
    let ns = start_namesrv_with(|c| c.server.max_connections = 1).await;
    let first = RemotingClient::default();
    assert_eq!(
        call(&first, &ns.addr, route_request("T", 409)).await.code,
        response::TOPIC_NOT_EXIST
    );
    let second = RemotingClient::default();
    let waiting = second
        .invoke(
            &ns.addr,
            route_request("T", 409),
            Duration::from_millis(500),
        )
        .await;
    assert!(
        waiting.is_err(),
        "a second peer must wait while the limit is reached"
    );
    first.close_all();
    second.close_all();
    let admitted = eventually(Duration::from_secs(3), || {
        let (c, addr) = (RemotingClient::default(), ns.addr.clone());
        async move {
            c.invoke(&addr, route_request("T", 409), Duration::from_millis(300))
                .await
                .is_ok()
        }
    })
    .await;
    assert!(admitted, "once the first peer leaves, a new one is served");
}
