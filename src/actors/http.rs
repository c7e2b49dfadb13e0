//! The process's metrics endpoint: Prometheus text at `/metrics`, the live actor tree as
//! JSON at `/actors`, and the web console at `/` (its files and `/api/` routes are in
//! `console/`; without a name server address it shows the actor tree only). One per process, bound
//! to a configurable address (127.0.0.1:5557 for the broker and standalone process,
//! 127.0.0.1:5556 for a separate name server). It runs on one actix-web worker thread of
//! its own, so a scrape never competes with the remoting arbiters.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;

use actix_web::{web, App, HttpResponse, HttpServer};

use super::metrics::{ActorNode, MetricsRegistry};
use crate::console::Console;

/// A running metrics endpoint.
pub struct MetricsEndpoint {
    local_addr: SocketAddr,
    handle: actix_web::dev::ServerHandle,
    console: Arc<Console>,
}

impl MetricsEndpoint {
    /// Binds `addr` (port 0 picks a free one) and starts serving in the current system,
    /// with a console that knows no name server (the actor tree only).
    pub fn start(
        addr: SocketAddr,
        registry: Arc<MetricsRegistry>,
        title: &'static str,
    ) -> std::io::Result<Self> {
        Self::start_with_console(addr, registry, title, Console::with_namesrv(None))
    }

    /// [`MetricsEndpoint::start`] serving `console`'s pages and API.
    pub fn start_with_console(
        addr: SocketAddr,
        registry: Arc<MetricsRegistry>,
        title: &'static str,
        console: Arc<Console>,
    ) -> std::io::Result<Self> {
        let data = web::Data::new(Page { registry, title });
        let console_data = web::Data::new(console.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(console_data.clone())
                .route("/metrics", web::get().to(metrics))
                .route("/actors", web::get().to(actors))
                .route("/", web::get().to(index))
                .configure(crate::console::routes)
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
        Ok(MetricsEndpoint {
            local_addr,
            handle,
            console,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub async fn stop(&self) {
        self.handle.stop(true).await;
        self.console.stop().await;
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
    let mut rows = String::with_capacity(8192);
    render_rows(&mut rows, &page.registry.actor_tree(), 0);
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(crate::console::index_html(&html_escape(page.title), &rows))
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
