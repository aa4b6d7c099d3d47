//! Sending a case: over HTTP/1.1 on a raw connection (every framing, down to a body withheld
//! or cut short), over HTTP/2 in cleartext, many at once, or hanging up half way.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{Framing, HttpCase};

/// Sends one request over a fresh connection and returns the status (0 when none came back).
pub async fn send(addr: SocketAddr, case: &HttpCase) -> u16 {
    let Ok(stream) = tokio::net::TcpStream::connect(addr).await else {
        return 0;
    };
    let (mut reader, mut writer) = stream.into_split();
    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n",
        case.method, case.path
    );
    for (name, value) in &case.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    match case.framing {
        Framing::Length | Framing::Withheld | Framing::CutShort => {
            head.push_str(&format!("Content-Length: {}\r\n\r\n", case.body.len()))
        }
        Framing::Chunked => head.push_str("Transfer-Encoding: chunked\r\n\r\n"),
    }
    let body = case.body.clone();
    let framing = case.framing;
    // Write on the side: a server may answer (413) before reading the whole body. The write
    // half is handed back, not dropped: dropping it would half-close the connection, which
    // servers may take for a client that went away before its answer.
    let writing = tokio::spawn(async move {
        writer.write_all(head.as_bytes()).await?;
        match framing {
            Framing::Length => writer.write_all(&body).await?,
            Framing::Withheld => {}
            Framing::CutShort => {
                writer.write_all(&body[..body.len() / 2]).await?;
                writer.shutdown().await?;
            }
            Framing::Chunked => {
                for chunk in body.chunks(16 * 1024) {
                    writer
                        .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                        .await?;
                    writer.write_all(chunk).await?;
                    writer.write_all(b"\r\n").await?;
                }
                writer.write_all(b"0\r\n\r\n").await?;
            }
        }
        writer.flush().await?;
        Ok::<_, std::io::Error>(writer)
    });
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    let status = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            // An interim answer (`100 Continue`, to a request that says `Expect`) comes before
            // the final one: skip past it.
            while let Some(end) = response.windows(4).position(|w| w == b"\r\n\r\n") {
                let status: u16 = String::from_utf8_lossy(&response[..end])
                    .split_whitespace()
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                if !(100..200).contains(&status) {
                    return status;
                }
                response.drain(..end + 4);
            }
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => return 0,
                Ok(n) => response.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .unwrap_or(0);
    writing.abort();
    status
}

/// Sends `case` `times` times at once, each on a connection of its own (deliveries of one
/// callback that arrive together), and returns the statuses, lowest first.
pub async fn send_together(addr: SocketAddr, case: &HttpCase, times: usize) -> Vec<u16> {
    let case = std::sync::Arc::new(case.clone());
    let mut sends = tokio::task::JoinSet::new();
    for _ in 0..times {
        let case = case.clone();
        sends.spawn(async move { send(addr, &case).await });
    }
    let mut statuses = sends.join_all().await;
    statuses.sort_unstable();
    statuses
}

/// Sends `case` (framed by its length) and hangs up `after` that, without waiting for an answer:
/// a sender that gave up, which drops the server's handler wherever it is.
pub async fn send_and_hang_up(addr: SocketAddr, case: &HttpCase, after: Duration) {
    let Ok(mut stream) = tokio::net::TcpStream::connect(addr).await else {
        return;
    };
    let mut request = format!("{} {} HTTP/1.1\r\nHost: {addr}\r\n", case.method, case.path);
    for (name, value) in &case.headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n", case.body.len()));
    let mut request = request.into_bytes();
    request.extend_from_slice(&case.body);
    let _ = stream.write_all(&request).await;
    tokio::time::sleep(after).await;
    drop(stream);
}

/// Reads one HTTP/1.1 response from a keep-alive connection, its head and its
/// `Content-Length` body, and returns the status; `None` when the connection ends first.
pub async fn read_response<R: tokio::io::AsyncRead + Unpin>(stream: &mut R) -> Option<u16> {
    let mut seen = Vec::with_capacity(256);
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        seen.extend_from_slice(&buf[..n]);
        if let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&seen[..end]).to_ascii_lowercase();
            let status = head.split_whitespace().nth(1)?.parse().ok()?;
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            let mut have = seen.len() - end - 4;
            while have < length {
                match stream.read(&mut buf).await.ok()? {
                    0 => return None,
                    n => have += n,
                }
            }
            return Some(status);
        }
    }
}

/// Sends one request over HTTP/2 (cleartext, with prior knowledge: what a proxy speaking h2c to
/// its upstream sends) and returns the status, or 0 when none came back over HTTP/2.
///
/// A body framed by [`Framing::Length`] goes with its `content-length`; one framed by
/// [`Framing::Chunked`] goes in DATA frames of 16 KiB with no length, HTTP/2's way of sending a
/// body of unknown length. The other framings are HTTP/1.1's: see [`sends_over_http2`].
pub async fn send_http2(addr: SocketAddr, case: &HttpCase) -> u16 {
    let Ok(client) = reqwest::Client::builder().http2_prior_knowledge().build() else {
        return 0;
    };
    let Ok(method) = reqwest::Method::from_bytes(case.method.as_bytes()) else {
        return 0;
    };
    let mut request = client.request(method, format!("http://{addr}{}", case.path));
    for (name, value) in &case.headers {
        // Appended, so that a repeated name goes twice.
        request = request.header(name.as_str(), value.as_bytes());
    }
    let body = match case.framing {
        Framing::Length => reqwest::Body::from(case.body.clone()),
        Framing::Chunked => {
            let frames: Vec<Result<Vec<u8>, std::io::Error>> = case
                .body
                .chunks(16 * 1024)
                .map(|frame| Ok(frame.to_vec()))
                .collect();
            reqwest::Body::wrap_stream(futures::stream::iter(frames))
        }
        Framing::Withheld | Framing::CutShort => return 0,
    };
    match tokio::time::timeout(Duration::from_secs(10), request.body(body).send()).await {
        Ok(Ok(response)) if response.version() == reqwest::Version::HTTP_2 => {
            response.status().as_u16()
        }
        _ => 0,
    }
}

/// Whether `case` can be sent over HTTP/2: a body whose framing is HTTP/1.1's alone (a length
/// declared and never met) cannot.
pub fn sends_over_http2(case: &HttpCase) -> bool {
    matches!(case.framing, Framing::Length | Framing::Chunked)
}
