//! [`ConnectProxy`]: a small HTTP proxy on loopback that only speaks `CONNECT`, for testing
//! `HTTPS_PROXY` support. It records every tunnel it opens and the headers of each `CONNECT`.

use std::{
    io::{self, Read, Write},
    net::{Shutdown, TcpListener, TcpStream},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    thread,
};

use crate::faults::lock;

/// One `CONNECT` the proxy served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tunnel {
    /// `host:port` asked for.
    pub target: String,
    /// The request's header lines, lowercased names (`proxy-authorization: …`).
    pub headers: Vec<String>,
}

/// A running proxy; stops accepting when dropped.
#[derive(Debug)]
pub struct ConnectProxy {
    url: String,
    tunnels: Arc<Mutex<Vec<Tunnel>>>,
    stop: Arc<AtomicBool>,
    addr: std::net::SocketAddr,
}

impl ConnectProxy {
    /// Starts the proxy on `127.0.0.1:0`.
    pub fn start() -> io::Result<ConnectProxy> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let tunnels = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (recorded, stopping) = (Arc::clone(&tunnels), Arc::clone(&stop));
        thread::spawn(move || {
            for conn in listener.incoming() {
                if stopping.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let recorded = Arc::clone(&recorded);
                thread::spawn(move || {
                    let _ = serve(conn, &recorded);
                });
            }
        });
        Ok(ConnectProxy { url: format!("http://{addr}"), tunnels, stop, addr })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The tunnels opened so far.
    pub fn tunnels(&self) -> Vec<Tunnel> {
        lock(&self.tunnels).clone()
    }
}

impl Drop for ConnectProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

fn serve(mut client: TcpStream, recorded: &Mutex<Vec<Tunnel>>) -> io::Result<()> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if client.read(&mut byte)? == 0 || head.len() > 16 * 1024 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.split("\r\n").filter(|l| !l.is_empty());
    let request = lines.next().unwrap_or_default().to_owned();
    let headers: Vec<String> = lines
        .map(|l| match l.split_once(':') {
            Some((k, v)) => format!("{}:{v}", k.to_ascii_lowercase()),
            None => l.to_owned(),
        })
        .collect();
    let mut parts = request.split_whitespace();
    let (Some("CONNECT"), Some(target)) = (parts.next(), parts.next()) else {
        client.write_all(b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n")?;
        return Ok(());
    };
    let target = target.to_owned();
    lock(recorded).push(Tunnel { target: target.clone(), headers });
    let Ok(upstream) = TcpStream::connect(&target) else {
        client.write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")?;
        return Ok(());
    };
    client.write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")?;
    let (mut c2, mut u2) = (client.try_clone()?, upstream.try_clone()?);
    let (mut client, mut upstream) = (client, upstream);
    let up = thread::spawn(move || {
        let _ = io::copy(&mut c2, &mut u2);
        let _ = u2.shutdown(Shutdown::Write);
    });
    let _ = io::copy(&mut upstream, &mut client);
    let _ = client.shutdown(Shutdown::Write);
    let _ = up.join();
    Ok(())
}
