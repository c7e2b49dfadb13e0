//! The remoting server and client on their own, with a test processor: answers out of
//! order, per-request timeouts, oneway requests, reconnecting after the server closes the
//! connection, requests from the server to the client, and a panicking processor.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use futures_util::FutureExt;

use ferrocket::actors::metrics::MetricsRegistry;
use ferrocket::actors::remoting::connection::Invoke;
use ferrocket::actors::remoting::{ConnectionInfo, RemotingServer, RequestProcessor, ServerConfig};
use ferrocket::protocol::code::response;
use ferrocket::protocol::RemotingCommand;
use ferrocket::remoting_client::ServerRequestHandler;
use ferrocket::remoting_client::{ClientConfig, RemotingClient, RemotingError};

const SLEEP: i32 = 1;
const CALL_BACK: i32 = 2;
const PANIC: i32 = 3;
const COUNT: i32 = 4;
const SLOW_COUNT: i32 = 5;

/// Code 1 sleeps for the millis in its remark; code 2 asks the client something first;
/// code 3 panics; code 4 counts oneway requests; code 5 counts them after 300 ms.
struct TestProcessor {
    oneways: Arc<AtomicUsize>,
}

impl RequestProcessor for TestProcessor {
    fn process(
        &self,
        req: RemotingCommand,
        conn: ConnectionInfo,
    ) -> BoxFuture<'static, Option<RemotingCommand>> {
        let oneways = self.oneways.clone();
        async move {
            match req.code {
                SLEEP => {
                    let ms: u64 = req.remark.as_deref().unwrap_or("0").parse().unwrap_or(0);
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    Some(RemotingCommand::response(
                        response::SUCCESS,
                        Some(ms.to_string()),
                    ))
                }
                CALL_BACK => {
                    let ask = RemotingCommand::request(9000);
                    let answer = conn
                        .addr
                        .send(Invoke {
                            command: ask,
                            timeout: Duration::from_secs(2),
                        })
                        .await
                        .ok()?;
                    let remark = match answer {
                        Ok(Some(a)) => a.remark.unwrap_or_default(),
                        other => format!("no answer: {other:?}"),
                    };
                    Some(RemotingCommand::response(response::SUCCESS, Some(remark)))
                }
                PANIC => panic!("processor bug"),
                COUNT => {
                    oneways.fetch_add(1, Ordering::SeqCst);
                    Some(RemotingCommand::success())
                }
                SLOW_COUNT => {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    oneways.fetch_add(1, Ordering::SeqCst);
                    Some(RemotingCommand::success())
                }
                _ => None,
            }
        }
        .boxed()
    }
}

struct ClientSide;

impl ServerRequestHandler for ClientSide {
    fn handle(
        &self,
        req: RemotingCommand,
        _from: &str,
    ) -> BoxFuture<'static, Option<RemotingCommand>> {
        async move {
            Some(RemotingCommand::response(
                response::SUCCESS,
                Some(format!("client saw {}", req.code)),
            ))
        }
        .boxed()
    }
}

async fn server(
    config: ServerConfig,
) -> (ferrocket::actors::remoting::ServerHandle, Arc<AtomicUsize>) {
    let oneways = Arc::new(AtomicUsize::new(0));
    let processor = Arc::new(TestProcessor {
        oneways: oneways.clone(),
    });
    let handle = RemotingServer::bind(
        "127.0.0.1:0".parse().unwrap(),
        config,
        processor,
        MetricsRegistry::new(),
        "test/RemotingServer",
    )
    .await
    .unwrap();
    (handle, oneways)
}

fn sleep_req(ms: u64) -> RemotingCommand {
    let mut r = RemotingCommand::request(SLEEP);
    r.remark = Some(ms.to_string());
    r
}

#[actix_rt::test]
async fn slow_answers_do_not_hold_up_fast_ones_on_the_same_connection() {
    let (srv, _) = server(ServerConfig::default()).await;
    let addr = srv.local_addr().to_string();
    let c = RemotingClient::default();
    let slow = c.invoke(&addr, sleep_req(400), Duration::from_secs(3));
    let fast = async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let t = Instant::now();
        let r = c
            .invoke(&addr, sleep_req(0), Duration::from_secs(3))
            .await
            .unwrap();
        (r, t.elapsed())
    };
    let (slow, (fast, fast_took)) = tokio::join!(slow, fast);
    assert_eq!(slow.unwrap().remark.as_deref(), Some("400"));
    assert_eq!(fast.remark.as_deref(), Some("0"));
    assert!(
        fast_took < Duration::from_millis(300),
        "the fast answer waited for the slow one: {fast_took:?}"
    );
}

#[actix_rt::test]
async fn a_request_times_out_on_its_own_deadline_and_the_connection_stays_usable() {
    let (srv, _) = server(ServerConfig::default()).await;
    let addr = srv.local_addr().to_string();
    let c = RemotingClient::default();
    let err = c
        .invoke(&addr, sleep_req(500), Duration::from_millis(100))
        .await
        .unwrap_err();
    assert!(
        matches!(err, RemotingError::Timeout { millis: 100, .. }),
        "{err}"
    );
    assert!(c
        .invoke(&addr, sleep_req(0), Duration::from_secs(2))
        .await
        .is_ok());
}

#[actix_rt::test]
async fn oneway_requests_are_processed_and_never_answered() {
    let (srv, oneways) = server(ServerConfig::default()).await;
    let addr = srv.local_addr().to_string();
    let c = RemotingClient::default();
    for _ in 0..5 {
        c.invoke_oneway(
            &addr,
            RemotingCommand::request(COUNT),
            Duration::from_secs(1),
        )
        .await
        .unwrap();
    }
    assert!(
        common::eventually(Duration::from_secs(2), || async {
            oneways.load(Ordering::SeqCst) == 5
        })
        .await
    );
}

/// A client that sends oneway requests and closes at once (a producer that exits) still
/// has every one carried out: the client writes what is queued before closing, and the
/// server finishes the requests in flight before dropping the connection.
#[actix_rt::test]
async fn oneway_requests_sent_just_before_the_client_closes_are_all_processed() {
    let (srv, oneways) = server(ServerConfig::default()).await;
    let addr = srv.local_addr().to_string();
    let c = RemotingClient::default();
    for _ in 0..20 {
        c.invoke_oneway(
            &addr,
            RemotingCommand::request(SLOW_COUNT),
            Duration::from_secs(1),
        )
        .await
        .unwrap();
    }
    c.close_all_flushed(Duration::from_secs(3)).await;
    assert!(
        common::eventually(Duration::from_secs(3), || async {
            oneways.load(Ordering::SeqCst) == 20
        })
        .await,
        "processed {} of 20",
        oneways.load(Ordering::SeqCst)
    );
}

#[actix_rt::test]
async fn the_client_reconnects_after_the_server_closed_its_connection() {
    let config = ServerConfig {
        server_channel_max_idle_time_seconds: 1,
        ..Default::default()
    };
    let (srv, _) = server(config).await;
    let addr = srv.local_addr().to_string();
    let c = RemotingClient::default();
    assert!(c
        .invoke(&addr, sleep_req(0), Duration::from_secs(2))
        .await
        .is_ok());
    // The server closes the idle connection; the next request must connect again.
    assert!(
        common::eventually(Duration::from_secs(4), || async {
            srv.connection_count() == 0
        })
        .await
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    let again = c.invoke(&addr, sleep_req(0), Duration::from_secs(2)).await;
    assert!(again.is_ok(), "{again:?}");
}

#[actix_rt::test]
async fn connecting_to_nothing_fails_fast_with_a_connect_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let c = RemotingClient::new(
        ClientConfig {
            connect_timeout: Duration::from_secs(1),
            ..Default::default()
        },
        None,
    );
    let err = c
        .invoke(
            &format!("127.0.0.1:{port}"),
            sleep_req(0),
            Duration::from_secs(2),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, RemotingError::Connect { .. }), "{err}");
}

#[actix_rt::test]
async fn the_server_can_ask_the_client_on_the_clients_connection() {
    let (srv, _) = server(ServerConfig::default()).await;
    let addr = srv.local_addr().to_string();
    let c = RemotingClient::new(ClientConfig::default(), Some(Arc::new(ClientSide)));
    let r = c
        .invoke(
            &addr,
            RemotingCommand::request(CALL_BACK),
            Duration::from_secs(3),
        )
        .await
        .unwrap();
    assert_eq!(r.remark.as_deref(), Some("client saw 9000"));
}

#[actix_rt::test]
async fn a_panicking_processor_answers_system_error_and_the_server_carries_on() {
    let (srv, _) = server(ServerConfig::default()).await;
    let addr = srv.local_addr().to_string();
    let c = RemotingClient::default();
    let r = c
        .invoke(
            &addr,
            RemotingCommand::request(PANIC),
            Duration::from_secs(2),
        )
        .await
        .unwrap();
    assert_eq!(r.code, response::SYSTEM_ERROR);
    assert!(c
        .invoke(&addr, sleep_req(0), Duration::from_secs(2))
        .await
        .is_ok());
}

#[actix_rt::test]
async fn too_many_requests_in_flight_on_one_connection_get_system_busy() {
    let config = ServerConfig {
        max_inflight_per_connection: 2,
        ..Default::default()
    };
    let (srv, _) = server(config).await;
    let addr = srv.local_addr().to_string();
    let c = RemotingClient::default();
    let calls = (0..4).map(|_| c.invoke(&addr, sleep_req(300), Duration::from_secs(3)));
    let codes: Vec<i32> = futures_util::future::join_all(calls)
        .await
        .into_iter()
        .map(|r| r.unwrap().code)
        .collect();
    assert_eq!(
        codes.iter().filter(|c| **c == response::SUCCESS).count(),
        2,
        "{codes:?}"
    );
    assert_eq!(
        codes
            .iter()
            .filter(|c| **c == response::SYSTEM_BUSY)
            .count(),
        2,
        "{codes:?}"
    );
}
