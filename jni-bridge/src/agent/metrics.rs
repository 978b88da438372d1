//! The `metrics=HOST:PORT` endpoint: a minimal HTTP/1.1 server on native threads, never attached
//! to the JVM, serving the exposition the agent thread renders.
//!
//! An accepting thread (`tmrt-metrics`) hands each connection to a thread of its own
//! (`tmrt-metrics-http`), at most [`MAX_CONNECTIONS`] at once, so that a slow or idle client
//! never delays a scrape. Each connection has deadlines for the whole exchange, not per read: its
//! request head (at most [`MAX_REQUEST`] bytes, else 431) must arrive within [`REQUEST_DEADLINE`]
//! of the accept (else 408), and the answer must be written within [`RESPONSE_DEADLINE`] (after an
//! error answer, what the client still sends is drained for at most [`LINGER`]). When
//! all slots are taken, the connection that has been reading its request longest is dropped
//! for the new one; connections already answering are never dropped. Only `GET /metrics` and
//! `GET /` are served (405 for other methods, 404 for other paths); every answer closes the
//! connection.
//!
//! A scrape asks the agent thread for a fresh rendering through the [`Exposition`] and sleeps on
//! its condition variable until the agent thread publishes one, at most [`RENDER_WAIT`] (when the
//! agent thread is busy with a heap walk, the previous rendering is served). Nothing here can
//! block a JVM thread: the exposition's lock is held for a few word copies, by the agent thread
//! and the HTTP threads only. About 300 lines of `std::net` beat a dependency for this.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use runtime::telemetry::{prometheus, LogLevel, MetricsAddr};

use super::state::Agent;

/// Longest request head accepted.
pub const MAX_REQUEST: usize = 8 * 1024;
/// How long a client may take to send its whole request head, from the accept.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(2);
/// How long writing one answer may take in all.
pub const RESPONSE_DEADLINE: Duration = Duration::from_secs(5);
/// How long a scrape waits for the agent thread's fresh rendering.
pub const RENDER_WAIT: Duration = Duration::from_secs(2);
/// How long an error answer waits for the client to stop sending before closing.
pub const LINGER: Duration = Duration::from_secs(1);
/// Connections served at once (one thread each).
pub const MAX_CONNECTIONS: usize = 32;
const HTTP_THREAD_STACK: usize = 256 * 1024;

/// The exchange between scrapes and the agent thread: scrapes take tickets, the agent thread
/// renders for every ticket taken so far and publishes the text, waking the scrapes.
pub struct Exposition {
    state: Mutex<Exchange>,
    published: Condvar,
}

struct Exchange {
    /// The last rendering.
    text: Arc<String>,
    /// Tickets taken by scrapes.
    requested: u64,
    /// Every ticket up to this one has been answered.
    rendered: u64,
}

impl Default for Exposition {
    fn default() -> Self {
        Self::new()
    }
}

impl Exposition {
    pub fn new() -> Self {
        Exposition {
            state: Mutex::new(Exchange {
                text: Arc::new(String::new()),
                requested: 0,
                rendered: 0,
            }),
            published: Condvar::new(),
        }
    }

    /// (Agent thread) The last ticket taken, when a scrape waits for a rendering.
    pub fn pending(&self) -> Option<u64> {
        let s = self.state.lock();
        (s.requested > s.rendered).then_some(s.requested)
    }

    /// (Agent thread) Answers every ticket up to `upto`: with `text`, or with the previous
    /// rendering when this one failed (`None`). Wakes the waiting scrapes.
    pub fn publish(&self, upto: u64, text: Option<String>) {
        let text = text.map(Arc::new);
        let old = {
            let mut s = self.state.lock();
            s.rendered = s.rendered.max(upto);
            text.map(|t| std::mem::replace(&mut s.text, t))
        };
        self.published.notify_all();
        drop(old);
    }

    /// (HTTP thread) Takes a ticket.
    fn request(&self) -> u64 {
        let mut s = self.state.lock();
        s.requested += 1;
        s.requested
    }

    /// (HTTP thread) The rendering that answers `ticket`, or the last one after `wait`.
    fn wait(&self, ticket: u64, wait: Duration) -> Arc<String> {
        let deadline = Instant::now() + wait;
        let mut s = self.state.lock();
        while s.rendered < ticket {
            if self.published.wait_until(&mut s, deadline).timed_out() {
                break;
            }
        }
        s.text.clone()
    }
}

/// Binds the endpoint and starts its thread. An error (address in use, not resolvable) is
/// returned for the caller to report; the JVM runs on without metrics.
pub fn start(agent: &'static Agent, addr: &MetricsAddr) -> std::io::Result<std::net::SocketAddr> {
    let listener = bind_first_free(addr)?;
    let local = listener.local_addr()?;
    std::thread::Builder::new()
        .name("tmrt-metrics".into())
        .spawn(move || accept_loop(agent, listener))?;
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

/// The connections being served, so that a new one can displace the oldest still reading.
struct Connections {
    slots: Mutex<Vec<Slot>>,
}

struct Slot {
    id: u64,
    /// A handle on the connection, to shut it down when displaced.
    stream: TcpStream,
    reading: bool,
}

impl Connections {
    /// Registers `stream`; when full, first shuts down the connection reading longest. `None`
    /// when every slot is answering (the new connection is then closed at once).
    fn admit(&self, id: u64, stream: &TcpStream) -> Option<()> {
        let handle = stream.try_clone().ok()?;
        let mut slots = self.slots.lock();
        if slots.len() >= MAX_CONNECTIONS {
            // Slots are in accept order: the first still reading is the oldest.
            let oldest = slots.iter().position(|s| s.reading)?;
            let displaced = slots.remove(oldest);
            let _ = displaced.stream.shutdown(Shutdown::Both);
        }
        slots.push(Slot {
            id,
            stream: handle,
            reading: true,
        });
        Some(())
    }

    fn done_reading(&self, id: u64) {
        if let Some(s) = self.slots.lock().iter_mut().find(|s| s.id == id) {
            s.reading = false;
        }
    }

    fn remove(&self, id: u64) {
        self.slots.lock().retain(|s| s.id != id);
    }
}

fn accept_loop(agent: &'static Agent, listener: TcpListener) {
    let connections: &'static Connections = Box::leak(Box::new(Connections {
        slots: Mutex::new(Vec::new()),
    }));
    let mut next_id = 0u64;
    for stream in listener.incoming() {
        if agent.is_dead() {
            return;
        }
        let stream = match stream {
            Ok(s) => s,
            Err(_) => {
                // Out of descriptors or similar: let connections finish instead of spinning.
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let accepted = Instant::now();
        next_id += 1;
        let id = next_id;
        if connections.admit(id, &stream).is_none() {
            continue;
        }
        let spawned = std::thread::Builder::new()
            .name("tmrt-metrics-http".into())
            .stack_size(HTTP_THREAD_STACK)
            .spawn(move || {
                let _ = serve(agent, connections, id, stream, accepted);
                connections.remove(id);
            });
        if spawned.is_err() {
            connections.remove(id);
        }
    }
}

/// How reading a request head ended.
enum Head {
    Complete,
    TooLarge,
    /// The client closed (or was displaced) before the head was complete.
    Closed,
    TimedOut,
}

/// Reads the request head within the deadline.
fn read_head(s: &mut TcpStream, buf: &mut [u8], deadline: Instant) -> std::io::Result<(Head, usize)> {
    let mut len = 0;
    loop {
        if len == buf.len() {
            return Ok((Head::TooLarge, len));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok((Head::TimedOut, len));
        }
        s.set_read_timeout(Some(left))?;
        match s.read(&mut buf[len..]) {
            Ok(0) => return Ok((Head::Closed, len)),
            Ok(n) => {
                // Look for the blank line only where it can end: the new bytes and the 3 before.
                let from = len.saturating_sub(3);
                len += n;
                if buf[from..len].windows(4).any(|w| w == b"\r\n\r\n") {
                    return Ok((Head::Complete, len));
                }
            }
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                return Ok((Head::TimedOut, len))
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

fn serve(
    agent: &Agent,
    connections: &Connections,
    id: u64,
    mut s: TcpStream,
    accepted: Instant,
) -> std::io::Result<()> {
    let mut buf = vec![0u8; MAX_REQUEST];
    let (head, len) = read_head(&mut s, &mut buf, accepted + REQUEST_DEADLINE)?;
    connections.done_reading(id);
    let deadline = Instant::now() + RESPONSE_DEADLINE;
    match head {
        Head::Complete => {}
        Head::Closed if len == 0 => return Ok(()),
        Head::Closed => return respond(&mut s, deadline, "400 Bad Request", "text/plain", "bad request\n"),
        Head::TimedOut => {
            respond(
                &mut s,
                deadline,
                "408 Request Timeout",
                "text/plain",
                "request not received in time\n",
            )?;
            return linger(&mut s, &mut buf);
        }
        Head::TooLarge => {
            respond(
                &mut s,
                deadline,
                "431 Request Header Fields Too Large",
                "text/plain",
                "bad request\n",
            )?;
            return linger(&mut s, &mut buf);
        }
    }
    let head = String::from_utf8_lossy(&buf[..len]);
    let mut parts = head.lines().next().unwrap_or("").split(' ');
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if method != "GET" {
        return respond(&mut s, deadline, "405 Method Not Allowed", "text/plain", "only GET\n");
    }
    match path.split('?').next().unwrap_or("") {
        "/metrics" => {
            let ticket = agent.metrics.request();
            agent.wake();
            let text = agent.metrics.wait(ticket, RENDER_WAIT);
            let deadline = Instant::now() + RESPONSE_DEADLINE;
            respond(&mut s, deadline, "200 OK", prometheus::CONTENT_TYPE, &text)
        }
        "/" => respond(
            &mut s,
            deadline,
            "200 OK",
            "text/plain",
            "tmrt agent: metrics at /metrics\n",
        ),
        _ => respond(&mut s, deadline, "404 Not Found", "text/plain", "not found\n"),
    }
}

/// After an error answer to a client still sending: closes the sending side and drains (at most
/// [`LINGER`], a bounded amount) what the client sends meanwhile, so that closing with unread
/// input does not reset the connection before the client has read the answer.
fn linger(s: &mut TcpStream, buf: &mut [u8]) -> std::io::Result<()> {
    s.shutdown(Shutdown::Write)?;
    let until = Instant::now() + LINGER;
    let mut drained = 0;
    while drained < 16 * MAX_REQUEST {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() || s.set_read_timeout(Some(left)).is_err() {
            break;
        }
        match s.read(buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => drained += n,
        }
    }
    Ok(())
}

fn respond(s: &mut TcpStream, deadline: Instant, status: &str, content_type: &str, body: &str) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    write_all_by(s, head.as_bytes(), deadline)?;
    write_all_by(s, body.as_bytes(), deadline)?;
    s.flush()
}

/// `write_all` with one deadline for all of it (a client reading a byte at a time cannot hold
/// the connection longer).
fn write_all_by(s: &mut TcpStream, mut bytes: &[u8], deadline: Instant) -> std::io::Result<()> {
    while !bytes.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::ErrorKind::TimedOut.into());
        }
        s.set_write_timeout(Some(left))?;
        match s.write(bytes) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scrape_sleeps_until_its_rendering_is_published() {
        let e = Arc::new(Exposition::new());
        assert_eq!(e.pending(), None);
        let ticket = e.request();
        assert_eq!(e.pending(), Some(ticket));
        let agent = {
            let e = e.clone();
            std::thread::spawn(move || {
                // The agent thread: sees the ticket, renders, publishes.
                let upto = e.pending().expect("a ticket was taken");
                std::thread::sleep(Duration::from_millis(20));
                e.publish(upto, Some("fresh\n".to_string()));
            })
        };
        // Long enough never to time out here: the answer is the published text, not the old one.
        let text = e.wait(ticket, Duration::from_secs(600));
        assert_eq!(*text, "fresh\n");
        agent.join().unwrap();
        assert_eq!(e.pending(), None);
        // A failed rendering answers the ticket with the previous text.
        let t2 = e.request();
        e.publish(t2, None);
        assert_eq!(*e.wait(t2, Duration::from_secs(600)), "fresh\n");
        // Nobody publishes: the wait ends with the last text.
        let t3 = e.request();
        assert_eq!(*e.wait(t3, Duration::from_millis(1)), "fresh\n");
    }
}
