//! A real actix-web server on loopback, for the tests of this crate.

use std::net::SocketAddr;

use actix_web::{App, HttpServer, web};
use cronofy_notify_core::Verifier;

/// Starts a server whose every path takes `route`, on one worker, with `verifier` in
/// `app_data` (or none, to see what a misconfigured app answers).
pub(crate) fn serve<F>(verifier: Option<Verifier>, route: F) -> SocketAddr
where
    F: Fn() -> actix_web::Route + Send + Clone + 'static,
{
    start(verifier, route, false)
}

/// As [`serve`], speaking HTTP/2 in cleartext (prior knowledge) beside HTTP/1.1.
#[allow(dead_code)] // only tests/http.rs sends HTTP/2
pub(crate) fn serve_with_http2<F>(verifier: Option<Verifier>, route: F) -> SocketAddr
where
    F: Fn() -> actix_web::Route + Send + Clone + 'static,
{
    start(verifier, route, true)
}

fn start<F>(verifier: Option<Verifier>, route: F, http2: bool) -> SocketAddr
where
    F: Fn() -> actix_web::Route + Send + Clone + 'static,
{
    let verifier = verifier.map(web::Data::new);
    let server = HttpServer::new(move || {
        let app = App::new().service(web::resource("/{tail:.*}").route(route()));
        match &verifier {
            Some(verifier) => app.app_data(verifier.clone()),
            None => app,
        }
    })
    .workers(1)
    .disable_signals();
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let server = if http2 {
        server.listen_auto_h2c(listener)
    } else {
        server.listen(listener)
    }
    .unwrap();
    let addr = server.addrs()[0];
    actix_web::rt::spawn(server.run());
    addr
}
