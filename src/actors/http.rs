//! The process's metrics endpoint: Prometheus text at `/metrics`, the live actor tree as
//! JSON at `/actors`, and a small self-refreshing HTML page at `/`. One per process, bound
//! to a configurable address (127.0.0.1:5557 for the broker and standalone process,
//! 127.0.0.1:5556 for a separate name server). It runs on one actix-web worker thread of
//! its own, so a scrape never competes with the remoting arbiters.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;

use actix_web::{web, App, HttpResponse, HttpServer};

use super::metrics::{ActorNode, MetricsRegistry};

/// A running metrics endpoint.
pub struct MetricsEndpoint {
    local_addr: SocketAddr,
    handle: actix_web::dev::ServerHandle,
}

impl MetricsEndpoint {
    /// Binds `addr` (port 0 picks a free one) and starts serving in the current system.
    pub fn start(
        addr: SocketAddr,
        registry: Arc<MetricsRegistry>,
        title: &'static str,
    ) -> std::io::Result<Self> {
        let data = web::Data::new(Page { registry, title });
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/metrics", web::get().to(metrics))
                .route("/actors", web::get().to(actors))
                .route("/", web::get().to(index))
        })
        .workers(1)
        .disable_signals()
        .shutdown_timeout(1)
        .bind(addr)?;
        let local_addr = server.addrs().first().copied().unwrap_or(addr);
        let server = server.run();
        let handle = server.handle();
        actix::spawn(async move {
            if let Err(e) = server.await {
                tracing::error!(error = %e, "metrics endpoint failed");
            }
        });
        tracing::info!(%local_addr, "metrics endpoint at http://{local_addr}/");
        Ok(MetricsEndpoint { local_addr, handle })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub async fn stop(&self) {
        self.handle.stop(true).await;
    }
}

struct Page {
    registry: Arc<MetricsRegistry>,
    title: &'static str,
}

async fn metrics(page: web::Data<Page>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(page.registry.render_prometheus())
}

async fn actors(page: web::Data<Page>) -> HttpResponse {
    HttpResponse::Ok().json(page.registry.actor_tree())
}

async fn index(page: web::Data<Page>) -> HttpResponse {
    let mut html = String::with_capacity(8192);
    let _ = write!(
        html,
        "<!doctype html><html><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"5\">\
         <title>{t}</title><style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}\
         td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}td:first-child,th:first-child{{text-align:left}}\
         .down{{color:#b00}}</style></head><body><h1>{t}</h1>\
         <p>Refreshes every 5 s. Machine-readable: <a href=\"/metrics\">/metrics</a> (Prometheus), \
         <a href=\"/actors\">/actors</a> (JSON).</p><table><tr><th>actor</th><th>alive</th>\
         <th>mailbox</th><th>capacity</th><th>handled</th><th>rejected</th><th>panics</th>\
         <th>restarts</th><th>handler time (s)</th></tr>",
        t = html_escape(page.title)
    );
    render_rows(&mut html, &page.registry.actor_tree(), 0);
    html.push_str("</table></body></html>");
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(html)
}

fn render_rows(html: &mut String, node: &ActorNode, depth: usize) {
    for child in &node.children {
        let indent = "&nbsp;".repeat(depth * 4);
        match &child.actor {
            Some(a) => {
                let _ = write!(
                    html,
                    "<tr><td>{indent}{name}</td><td class=\"{cls}\">{alive}</td><td>{}</td><td>{}</td><td>{}</td>\
                     <td>{}</td><td>{}</td><td>{}</td><td>{:.6}</td></tr>",
                    a.mailbox_depth,
                    a.mailbox_capacity,
                    a.messages_handled,
                    a.messages_rejected,
                    a.panics,
                    a.restarts,
                    a.handler_seconds_sum,
                    name = html_escape(&child.name),
                    cls = if a.alive { "up" } else { "down" },
                    alive = if a.alive { "yes" } else { "no" },
                );
            }
            None => {
                let _ = write!(
                    html,
                    "<tr><td>{indent}{}</td><td colspan=\"8\"></td></tr>",
                    html_escape(&child.name)
                );
            }
        }
        render_rows(html, child, depth + 1);
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
