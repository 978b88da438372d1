//! The `metrics=HOST:PORT` endpoint: a minimal HTTP/1.1 server on its own native thread, never
//! attached to the JVM, serving the exposition the agent thread renders. A scrape asks the agent
//! thread for a fresh rendering and waits for it at most [`RENDER_WAIT`]; if the agent thread is
//! busy (a heap walk), the previous rendering is served.
//!
//! It handles one connection at a time and only `GET /metrics` (and `GET /`): a request head is
//! read up to [`MAX_REQUEST`] bytes with a [`READ_TIMEOUT`], the answer is written with a write
//! timeout, and the connection is closed. Nothing here can block a JVM thread: the only shared
//! state is an `Arc<String>` swapped under a mutex held for a pointer copy. About 80 lines of
//! `std::net` beat a dependency for this.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use runtime::telemetry::{prometheus, LogLevel, MetricsAddr};

use super::state::Agent;

/// Longest request head accepted.
pub const MAX_REQUEST: usize = 8 * 1024;
/// How long a client may take to send its request.
pub const READ_TIMEOUT: Duration = Duration::from_secs(2);
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a scrape waits for the agent thread's fresh rendering.
pub const RENDER_WAIT: Duration = Duration::from_secs(2);

/// Binds the endpoint and starts its thread. An error (address in use, not resolvable) is
/// returned for the caller to report; the JVM runs on without metrics.
pub fn start(agent: &'static Agent, addr: &MetricsAddr) -> std::io::Result<std::net::SocketAddr> {
    let listener = bind_first_free(addr)?;
    let local = listener.local_addr()?;
    std::thread::Builder::new().name("tmrt-metrics".into()).spawn(move || {
        for stream in listener.incoming() {
            if agent.is_dead() {
                return;
            }
            if let Ok(s) = stream {
                let _ = serve(agent, s);
            }
        }
    })?;
    agent.log(LogLevel::Info, || format!("metrics on http://{local}/metrics"));
    Ok(local)
}

/// Binds the first port of the range that is free (Flink's reporter convention for port ranges);
/// the last error when none is.
fn bind_first_free(addr: &MetricsAddr) -> std::io::Result<TcpListener> {
    let mut last = None;
    for port in addr.ports() {
        let target = addr
            .socket_addr_string_for(port)
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "host resolves to no address"))?;
        match TcpListener::bind(target) {
            Ok(l) => return Ok(l),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::new(std::io::ErrorKind::AddrInUse, "empty port range")))
}

fn serve(agent: &Agent, mut s: TcpStream) -> std::io::Result<()> {
    s.set_read_timeout(Some(READ_TIMEOUT))?;
    s.set_write_timeout(Some(WRITE_TIMEOUT))?;
    let mut buf = vec![0u8; MAX_REQUEST];
    let mut len = 0;
    let complete = loop {
        if len == buf.len() {
            break false;
        }
        let n = s.read(&mut buf[len..])?;
        if n == 0 {
            break false;
        }
        len += n;
        if buf[..len].windows(4).any(|w| w == b"\r\n\r\n") {
            break true;
        }
    };
    if !complete {
        let status = if len == buf.len() {
            "431 Request Header Fields Too Large"
        } else {
            "400 Bad Request"
        };
        respond(&mut s, status, "text/plain", "bad request\n")?;
        // Drain (boundedly) what the client is still sending, so that closing with unread input
        // does not reset the connection before the client has read the answer.
        s.shutdown(std::net::Shutdown::Write)?;
        let mut drained = 0;
        while drained < 16 * MAX_REQUEST {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => drained += n,
            }
        }
        return Ok(());
    }
    let head = String::from_utf8_lossy(&buf[..len]);
    let mut parts = head.lines().next().unwrap_or("").split(' ');
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if method != "GET" {
        return respond(&mut s, "405 Method Not Allowed", "text/plain", "only GET\n");
    }
    match path.split('?').next().unwrap_or("") {
        "/metrics" => {
            let wanted = agent.metrics_requested.fetch_add(1, Ordering::AcqRel) + 1;
            agent.wake();
            let deadline = Instant::now() + RENDER_WAIT;
            while agent.metrics_rendered.load(Ordering::Acquire) < wanted && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(2));
            }
            let text: Arc<String> = agent.metrics_text.lock().clone();
            respond(&mut s, "200 OK", prometheus::CONTENT_TYPE, &text)
        }
        "/" => respond(&mut s, "200 OK", "text/plain", "tmrt agent: metrics at /metrics\n"),
        _ => respond(&mut s, "404 Not Found", "text/plain", "not found\n"),
    }
}

fn respond(s: &mut TcpStream, status: &str, content_type: &str, body: &str) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes())?;
    s.write_all(body.as_bytes())?;
    s.flush()
}
