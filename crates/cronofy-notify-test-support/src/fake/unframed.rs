//! A front for the fake's storage that serves its bodies without framing, for resources marked
//! [`unframed`](super::ResourceSpec::unframed). hyper frames every body it sends to an HTTP/1.1
//! client (a `Content-Length`, or chunks), where other servers and proxies may end a body by
//! closing the connection; then a connection cut short looks just like the end of the body.
//!
//! Each request is passed on as HTTP/1.0, which hyper answers by closing the connection after
//! its answer, ending a body of unknown length (the fake sends no `Content-Length` for such a
//! resource) by that close; a dropped body ends in a close too.

use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// A request head larger than this is not the downloader's: the connection is closed.
const MOST_HEAD: usize = 16 * 1024;

/// Accepts connections on `listener` and passes each one's request to `storage`.
pub(super) async fn serve(listener: TcpListener, storage: SocketAddr) {
    while let Ok((client, _)) = listener.accept().await {
        tokio::spawn(async move {
            // A client or server gone mid-way is one of the faults this exists to pass on.
            let _ = pass(client, storage).await;
        });
    }
}

/// One request per connection: its head, with HTTP/1.0 for HTTP/1.1, to the storage; then the
/// answer back to the client as it comes, until the storage closes the connection.
async fn pass(mut client: TcpStream, storage: SocketAddr) -> io::Result<()> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > MOST_HEAD || client.read(&mut byte).await? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let line_end = head
        .windows(2)
        .position(|pair| pair == b"\r\n")
        .unwrap_or_default();
    if head[..line_end].ends_with(b" HTTP/1.1") {
        head[line_end - 1] = b'0';
    }
    let mut upstream = TcpStream::connect(storage).await?;
    upstream.write_all(&head).await?;
    tokio::io::copy(&mut upstream, &mut client).await?;
    client.shutdown().await
}
