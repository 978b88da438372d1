//! The agent's `/metrics` endpoint under slow and idle clients, in a real JVM
//! (`java -agentpath:libtmrt.so=metrics=PORT` running `tests/agent/Hold.java`).
//!
//! No wall-clock time is asserted. What is asserted is order: every client's end (a 408 from
//! the server's whole-request deadline, or a close) and the scrape's answer take numbers from
//! one counter, and a scrape must be answered before any of the slow or idle clients is ended —
//! which a server that serves one connection at a time, or that waits for a slow client, cannot
//! do. The slow clients send a byte every 300 ms, so only a deadline for the whole request (not
//! per read) ends them; each must get the 408.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use support::*;

/// The JVM with the agent; killed when dropped, so a failing assertion leaves no JVM behind.
struct Jvm(Child);

impl Drop for Jvm {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_jvm(test: &str) -> (Jvm, u16) {
    let dir = scratch_dir(test);
    let hold = std::fs::read_to_string(workspace_root().join("tests/agent/Hold.java")).unwrap();
    let classes = compile_java(&dir, &[("Hold.java", &hold)], &[]);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(jdk_tool("java"))
        .arg(format!("-agentpath:{}=metrics={port},log=info", libtmrt().display()))
        .arg("-cp")
        .arg(&classes)
        .arg("Hold")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let jvm = Jvm(child);
    let mut lines = BufReader::new(stderr).lines();
    let wanted = format!("tmrt agent: metrics on http://127.0.0.1:{port}/metrics");
    loop {
        let line = lines.next().expect("the agent says where its metrics are").unwrap();
        if line.contains(&wanted) {
            break;
        }
    }
    // Keep draining stderr so the JVM never blocks on it.
    std::thread::spawn(move || for _ in lines {});
    (jvm, port)
}

/// One whole exchange: the answer's bytes (empty when the server closed without answering).
fn exchange(port: u16, request: &[u8]) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    s.write_all(request).unwrap();
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

fn scrape(port: u16) -> String {
    exchange(port, b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n")
}

/// How a client ended, and its number in the order of endings.
#[derive(Debug)]
struct Ended {
    order: u64,
    answer: String,
}

/// A client that connects, then sends its request head a byte every `pace` (or, with `None`,
/// nothing at all) until the server answers or closes. Reports `started` once it has sent two
/// bytes (or, idle, once connected), then its ending.
fn client(port: u16, pace: Option<Duration>, counter: Arc<AtomicU64>, started: mpsc::Sender<()>) -> Ended {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut sent = 0usize;
    let head = b"GET /metrics HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let mut started = Some(started);
    if pace.is_none() {
        started.take().map(|s| s.send(()));
    }
    // Bounded, so that a server that never answers fails the test rather than hanging it.
    let (reads, wait) = match pace {
        Some(p) => (200, p),
        None => (1, Duration::from_secs(60)),
    };
    s.set_read_timeout(Some(wait)).unwrap();
    let mut answer = Vec::new();
    for _ in 0..reads {
        if pace.is_some() {
            // A closed or reset connection ends the client at the next read.
            let _ = s.write_all(&head[sent % head.len()..sent % head.len() + 1]);
            sent += 1;
            if sent == 2 {
                started.take().map(|s| s.send(()));
            }
        }
        let mut buf = [0u8; 1024];
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
    // Ended before it got going (closed by the server early): still counts as started.
    started.take().map(|s| s.send(()));
    Ended {
        order: counter.fetch_add(1, Ordering::SeqCst),
        answer: String::from_utf8_lossy(&answer).into_owned(),
    }
}

fn warm_up(port: u16) {
    // The first rendering initialises java.lang.management on the agent thread.
    for _ in 0..100 {
        if scrape(port).contains("jvm_classes_loaded_total") {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the endpoint never served a rendering");
}

#[test]
fn a_scrape_is_answered_while_twenty_slow_and_ten_idle_clients_hold_connections() {
    let (_jvm, port) = start_jvm("metrics-slow");
    warm_up(port);
    let counter = Arc::new(AtomicU64::new(0));
    let (tx, rx) = mpsc::channel();
    let mut clients = Vec::new();
    for i in 0..30 {
        let pace = (i < 20).then_some(Duration::from_millis(300));
        let (counter, tx) = (counter.clone(), tx.clone());
        clients.push((
            pace.is_some(),
            std::thread::spawn(move || client(port, pace, counter, tx)),
        ));
    }
    for _ in 0..30 {
        rx.recv().unwrap();
    }
    let answer = scrape(port);
    let scraped = counter.fetch_add(1, Ordering::SeqCst);
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.contains("\njvm_classes_loaded_total "), "{answer}");
    // GET / and 404 still answer while the clients wait.
    assert!(exchange(port, b"GET / HTTP/1.1\r\n\r\n").contains("tmrt agent: metrics at /metrics"));
    assert!(exchange(port, b"GET /nothing HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404"));
    for (slow, handle) in clients {
        let ended = handle.join().unwrap();
        assert!(
            ended.order > scraped,
            "a {} client ended (#{}) before the scrape was answered (#{scraped})",
            if slow { "slow" } else { "idle" },
            ended.order
        );
        // Ended by the deadline for the whole request, although the slow ones kept sending.
        assert!(ended.answer.starts_with("HTTP/1.1 408"), "{ended:?}");
    }
}

#[test]
fn more_clients_than_slots_displace_the_oldest_reader_not_the_scrape() {
    let (_jvm, port) = start_jvm("metrics-flood");
    warm_up(port);
    let counter = Arc::new(AtomicU64::new(0));
    let (tx, rx) = mpsc::channel();
    // 40 idle connections for 32 slots: the 8 oldest are displaced as the newer ones come.
    let mut clients = Vec::new();
    for _ in 0..40 {
        let (counter, tx) = (counter.clone(), tx.clone());
        clients.push(std::thread::spawn(move || client(port, None, counter, tx)));
        rx.recv().unwrap();
    }
    let answer = scrape(port);
    let scraped = counter.fetch_add(1, Ordering::SeqCst);
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    let mut displaced = 0;
    for handle in clients {
        let ended = handle.join().unwrap();
        if ended.answer.is_empty() {
            displaced += 1;
        } else {
            assert!(ended.answer.starts_with("HTTP/1.1 408"), "{ended:?}");
            assert!(ended.order > scraped, "{ended:?} before the scrape (#{scraped})");
        }
    }
    assert!(displaced > 0, "41 connections for 32 slots, none displaced");
}
