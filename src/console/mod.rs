//! The web console: an operator's pages (cluster, topics, consumer groups, messages, the
//! actor tree, and charts of the last hour) served by the metrics endpoint
//! (`actors/http.rs`) of `ferrocket` and `mqbroker`.
//!
//! The browser gets three files compiled into the binary (`assets/`: one HTML page, its
//! CSS and a small hand-written script that draws charts as inline SVG), so the console
//! needs no build step and no network beyond the endpoint itself. The script reads a JSON
//! API under `/api/`, answered in [`api`] with `mqadmin`'s functions against the name
//! servers and brokers, the way rocketmq-dashboard works through `MQAdminExt`; the
//! [`sampler`] keeps the last hour of TPS and lag for the charts. Every failure is a JSON
//! document `{error, code, codeName, remark}` carrying RocketMQ's response code when a
//! broker or name server refused; [`ConsoleError`] is the one place that mapping is made.

pub mod api;
pub mod sampler;

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse, ResponseError};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use crate::admin::rpc::Admin;
use crate::admin::AdminError;
use crate::client::{ClientConfig, ClientInstance};
use crate::protocol::code::{response, response_name};
use sampler::{History, HISTORY_LEN, SAMPLE_INTERVAL};

/// The longest one API call may take; a broker that does not answer makes the page say
/// so instead of spinning.
const API_TIMEOUT: Duration = Duration::from_secs(30);

const INDEX_HTML: &str = include_str!("assets/index.html");
const CONSOLE_CSS: &str = include_str!("assets/console.css");
const CONSOLE_JS: &str = include_str!("assets/console.js");

/// Why an API call failed.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error(transparent)]
    Admin(#[from] AdminError),
    #[error("{0}")]
    BadRequest(String),
    #[error(
        "this process has no name server address (a name server alone serves only the actor tree)"
    )]
    NoNamesrv,
    #[error("no answer within {0:?}")]
    Timeout(Duration),
}

impl ConsoleError {
    /// The RocketMQ response code that explains the failure, when there is one.
    fn code(&self) -> Option<i32> {
        match self {
            ConsoleError::Admin(AdminError::Refused { code, .. }) => Some(*code),
            ConsoleError::Admin(AdminError::NoRoute(_)) => Some(response::TOPIC_NOT_EXIST),
            _ => None,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            ConsoleError::Admin(AdminError::Refused { .. }) => "refused",
            ConsoleError::Admin(AdminError::NoRoute(_) | AdminError::NotFound(_)) => "notFound",
            ConsoleError::Admin(AdminError::Usage(_)) | ConsoleError::BadRequest(_) => "badRequest",
            ConsoleError::Admin(AdminError::NoNamesrv) | ConsoleError::NoNamesrv => "noNamesrv",
            ConsoleError::Timeout(_) => "timeout",
            ConsoleError::Admin(_) => "unreachable",
        }
    }

    /// What RocketMQ said (the response's remark), else the whole message.
    fn remark(&self) -> String {
        match self {
            ConsoleError::Admin(AdminError::Refused { remark, .. }) => remark.clone(),
            e => e.to_string(),
        }
    }
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        match self.kind() {
            "badRequest" => StatusCode::BAD_REQUEST,
            "notFound" => StatusCode::NOT_FOUND,
            "refused" => StatusCode::CONFLICT,
            "noNamesrv" => StatusCode::SERVICE_UNAVAILABLE,
            "timeout" => StatusCode::GATEWAY_TIMEOUT,
            _ => StatusCode::BAD_GATEWAY,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let code = self.code();
        HttpResponse::build(self.status_code()).json(json!({
            "error": self.kind(),
            "code": code,
            "codeName": code.and_then(response_name),
            "remark": self.remark(),
            "message": self.to_string(),
        }))
    }
}

/// The console of one process: an admin client of its name servers and the sampler's
/// history.
pub struct Console {
    admin: Option<Arc<Admin>>,
    history: Arc<Mutex<History>>,
    stop: CancellationToken,
}

impl Console {
    /// A console of the cluster behind `namesrv_addr` (`host:port;host:port`), sampling it
    /// every `every`; with no address, only the actor tree works. Must be called inside a
    /// tokio runtime (the sampler is a task on it).
    pub fn start(namesrv_addr: Option<String>, every: Duration) -> Arc<Console> {
        let history = Arc::new(Mutex::new(History::new(HISTORY_LEN)));
        let stop = CancellationToken::new();
        let admin = namesrv_addr
            .filter(|n| !n.trim().is_empty())
            .map(|namesrv_addr| {
                // `true`: the console never prints; what a sub-command answers is its JSON.
                Arc::new(Admin::new(
                    ClientInstance::new(ClientConfig {
                        namesrv_addr,
                        instance_name: format!("console-{}", std::process::id()),
                        ..Default::default()
                    }),
                    true,
                ))
            });
        if let Some(a) = &admin {
            sampler::spawn(a.clone(), history.clone(), every, stop.clone());
        }
        Arc::new(Console {
            admin,
            history,
            stop,
        })
    }

    /// [`Console::start`] with the sampler's usual period.
    pub fn with_namesrv(namesrv_addr: Option<String>) -> Arc<Console> {
        Console::start(namesrv_addr, SAMPLE_INTERVAL)
    }

    /// Stops the sampler and closes the admin client's connections.
    pub async fn stop(&self) {
        self.stop.cancel();
        if let Some(a) = &self.admin {
            a.client.shutdown().await;
        }
    }

    fn admin(&self) -> Result<&Admin, ConsoleError> {
        self.admin.as_deref().ok_or(ConsoleError::NoNamesrv)
    }
}

/// The console's routes: the page and its files, and the JSON API.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/console.css", web::get().to(css))
        .route("/console.js", web::get().to(js))
        .route("/api/cluster", web::get().to(cluster))
        .route("/api/topics", web::get().to(topics))
        .route("/api/topics", web::post().to(put_topic))
        .route("/api/topics/{topic}", web::get().to(topic))
        .route("/api/topics/{topic}", web::delete().to(delete_topic))
        .route("/api/groups", web::get().to(groups))
        .route("/api/groups/{group}", web::get().to(group))
        .route("/api/groups/{group}/reset", web::post().to(reset))
        .route("/api/messages", web::get().to(messages))
        .route("/api/messages/resend", web::post().to(resend))
        .route("/api/history", web::get().to(history))
        .default_service(web::to(not_found));
}

/// The page, with the server-rendered actor table in place so the actor tree shows even
/// without the script.
pub fn index_html(title: &str, actor_rows: &str) -> String {
    INDEX_HTML
        .replace("{{title}}", title)
        .replace("{{actor_rows}}", actor_rows)
}

async fn css() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .body(CONSOLE_CSS)
}

async fn js() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .body(CONSOLE_JS)
}

async fn not_found() -> Result<HttpResponse, ConsoleError> {
    Err(ConsoleError::Admin(AdminError::NotFound(
        "no such page or API".into(),
    )))
}

/// Runs one API call with the time limit and turns its JSON into a response.
async fn answer(
    call: impl Future<Output = Result<Value, ConsoleError>>,
) -> Result<HttpResponse, ConsoleError> {
    let v = tokio::time::timeout(API_TIMEOUT, call)
        .await
        .map_err(|_| ConsoleError::Timeout(API_TIMEOUT))??;
    Ok(HttpResponse::Ok().json(v))
}

type Data = web::Data<Arc<Console>>;

async fn cluster(c: Data) -> Result<HttpResponse, ConsoleError> {
    answer(api::cluster(c.admin()?)).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TopicsQuery {
    #[serde(default)]
    all: bool,
}

async fn topics(
    c: Data,
    q: Result<web::Query<TopicsQuery>, actix_web::Error>,
) -> Result<HttpResponse, ConsoleError> {
    let q = q.map_err(bad)?;
    answer(api::topics(c.admin()?, q.all)).await
}

async fn topic(c: Data, path: web::Path<String>) -> Result<HttpResponse, ConsoleError> {
    answer(api::topic(c.admin()?, path.trim())).await
}

async fn put_topic(
    c: Data,
    body: Result<web::Json<api::TopicRequest>, actix_web::Error>,
) -> Result<HttpResponse, ConsoleError> {
    let body = body.map_err(bad)?;
    answer(api::put_topic(c.admin()?, body.into_inner())).await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ClusterQuery {
    cluster_name: String,
}

async fn delete_topic(
    c: Data,
    path: web::Path<String>,
    q: Result<web::Query<ClusterQuery>, actix_web::Error>,
) -> Result<HttpResponse, ConsoleError> {
    let q = q.map_err(bad)?;
    answer(api::remove_topic(
        c.admin()?,
        path.trim(),
        q.cluster_name.trim(),
    ))
    .await
}

async fn groups(c: Data) -> Result<HttpResponse, ConsoleError> {
    answer(api::groups(c.admin()?)).await
}

async fn group(c: Data, path: web::Path<String>) -> Result<HttpResponse, ConsoleError> {
    answer(api::group(c.admin()?, path.trim())).await
}

async fn reset(
    c: Data,
    path: web::Path<String>,
    body: Result<web::Json<api::ResetRequest>, actix_web::Error>,
) -> Result<HttpResponse, ConsoleError> {
    let body = body.map_err(bad)?;
    answer(api::reset(c.admin()?, path.trim(), body.into_inner())).await
}

async fn messages(
    c: Data,
    q: Result<web::Query<api::MessageQuery>, actix_web::Error>,
) -> Result<HttpResponse, ConsoleError> {
    let q = q.map_err(bad)?;
    answer(api::messages(c.admin()?, q.into_inner())).await
}

async fn resend(
    c: Data,
    body: Result<web::Json<api::ResendRequest>, actix_web::Error>,
) -> Result<HttpResponse, ConsoleError> {
    let body = body.map_err(bad)?;
    answer(api::resend(c.admin()?, body.into_inner())).await
}

async fn history(c: Data) -> HttpResponse {
    let samples = c
        .history
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .snapshot();
    HttpResponse::Ok().json(json!({
        "intervalSeconds": SAMPLE_INTERVAL.as_secs(),
        "capacity": HISTORY_LEN,
        "samples": samples,
    }))
}

/// A query string or body that does not parse: the extractor's reason, as JSON.
fn bad(e: actix_web::Error) -> ConsoleError {
    ConsoleError::BadRequest(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;

    fn body_json(e: &ConsoleError) -> (u16, Value) {
        let r = e.error_response();
        let status = r.status().as_u16();
        let bytes = r.into_body().try_into_bytes().unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[test]
    fn a_refusal_carries_rocketmqs_code_and_remark() {
        let e = ConsoleError::Admin(AdminError::Refused {
            addr: "127.0.0.1:10911".into(),
            request: 17,
            code: 1,
            remark: "The topic[SCHEDULE_TOPIC_XXXX] is conflict with system topic.".into(),
        });
        let (status, v) = body_json(&e);
        assert_eq!(status, 409);
        assert_eq!(v["error"], "refused");
        assert_eq!(v["code"], 1);
        assert_eq!(v["codeName"], "SYSTEM_ERROR");
        assert_eq!(
            v["remark"],
            "The topic[SCHEDULE_TOPIC_XXXX] is conflict with system topic."
        );
    }

    #[test]
    fn an_unknown_topic_is_topic_not_exist() {
        let (status, v) = body_json(&ConsoleError::Admin(AdminError::NoRoute("T".into())));
        assert_eq!(status, 404);
        assert_eq!(v["code"], 17);
        assert_eq!(v["codeName"], "TOPIC_NOT_EXIST");
    }

    #[test]
    fn errors_without_a_response_code_say_what_happened() {
        for (e, status, kind) in [
            (
                ConsoleError::BadRequest("topic is required".into()),
                400,
                "badRequest",
            ),
            (ConsoleError::NoNamesrv, 503, "noNamesrv"),
            (ConsoleError::Timeout(API_TIMEOUT), 504, "timeout"),
        ] {
            let (s, v) = body_json(&e);
            assert_eq!((s, v["error"].as_str()), (status, Some(kind)));
            assert_eq!(v["code"], Value::Null);
            assert!(!v["remark"].as_str().unwrap().is_empty());
        }
    }

    #[test]
    fn the_page_gets_its_title_and_actor_rows() {
        let html = index_html("Ferrocket broker", "<tr><td>Broker</td></tr>");
        assert!(html.contains("<title>Ferrocket broker</title>"));
        assert!(html.contains("<tr><td>Broker</td></tr>"));
        assert!(!html.contains("{{"));
    }

    #[actix_rt::test]
    async fn a_console_without_a_name_server_answers_503_as_json() {
        let console = Console::with_namesrv(None);
        let app = actix_web::test::init_service(
            actix_web::App::new()
                .app_data(web::Data::new(console.clone()))
                .configure(routes),
        )
        .await;
        let req = actix_web::test::TestRequest::get()
            .uri("/api/cluster")
            .to_request();
        let r = actix_web::test::call_service(&app, req).await;
        assert_eq!(r.status().as_u16(), 503);
        let v: Value = actix_web::test::read_body_json(r).await;
        assert_eq!(v["error"], "noNamesrv");
        let req = actix_web::test::TestRequest::get()
            .uri("/api/history")
            .to_request();
        let v: Value = actix_web::test::call_and_read_body_json(&app, req).await;
        assert_eq!(v["capacity"], HISTORY_LEN);
        assert_eq!(v["samples"], json!([]));
        console.stop().await;
    }

    #[actix_rt::test]
    async fn malformed_requests_are_400_json_not_panics() {
        let console = Console::start(Some("127.0.0.1:1".into()), Duration::from_secs(3600));
        let app = actix_web::test::init_service(
            actix_web::App::new()
                .app_data(web::Data::new(console.clone()))
                .configure(routes),
        )
        .await;
        let cases = [
            actix_web::test::TestRequest::post()
                .uri("/api/topics")
                .insert_header(("content-type", "application/json"))
                .set_payload("{\"topic\": 5}"),
            actix_web::test::TestRequest::post()
                .uri("/api/topics")
                .insert_header(("content-type", "application/json"))
                .set_payload("{\"topic\":\"A\",\"clusterName\":\"c\",\"readQueueNums\":0,\"writeQueueNums\":1,\"perm\":6}"),
            actix_web::test::TestRequest::get().uri("/api/messages?begin=x"),
            actix_web::test::TestRequest::get().uri("/api/messages"),
            actix_web::test::TestRequest::get().uri("/api/messages?topic=T&begin=5&end=1"),
            actix_web::test::TestRequest::get().uri("/api/topics?all=maybe"),
            actix_web::test::TestRequest::delete().uri("/api/topics/T"),
            actix_web::test::TestRequest::post()
                .uri("/api/groups/g/reset")
                .insert_header(("content-type", "application/json"))
                .set_payload("{\"topic\":\"T\",\"timestamp\":\"yesterday\"}"),
        ];
        for req in cases {
            let r = actix_web::test::call_service(&app, req.to_request()).await;
            assert_eq!(r.status().as_u16(), 400);
            let v: Value = actix_web::test::read_body_json(r).await;
            assert_eq!(v["error"], "badRequest", "{v}");
        }
        let req = actix_web::test::TestRequest::get().uri("/api/nothing");
        let r = actix_web::test::call_service(&app, req.to_request()).await;
        assert_eq!(r.status().as_u16(), 404);
        console.stop().await;
    }
}
