//! `bench-ready`: how long a server took from process start to its first `200` on a path.
//!
//! ```sh
//! t0=$(date +%s%N); warden serve >out 2>err & bench-ready --log out --path /readyz --since-ns "$t0"
//! ```
//!
//! It waits for the server's `listening on http://ADDR` line in `--log`, then sends
//! `GET PATH` over plain TCP every millisecond until the status is 200, and prints
//! `READY_MS URL`: the milliseconds since `--since-ns` (nanoseconds since the epoch, taken
//! just before the server was spawned) and the server's URL. Polling in-process at 1 ms
//! keeps the measurement's own cost (a `curl` or `sed` per poll from a shell is several
//! milliseconds) out of the figure. Exits 1 after `--timeout` seconds (default 60).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const POLL: Duration = Duration::from_millis(1);

fn main() {
    match run() {
        Ok(line) => println!("{line}"),
        Err(error) => {
            eprintln!("bench-ready: {error}");
            std::process::exit(1);
        }
    }
}

fn run() -> Result<String, String> {
    let mut log = None;
    let mut path = "/readyz".to_owned();
    let mut since_ns: Option<u128> = None;
    let mut timeout = Duration::from_secs(60);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--log" => log = Some(value()?),
            "--path" => path = value()?,
            "--since-ns" => since_ns = Some(value()?.parse().map_err(|_| "--since-ns: a number")?),
            "--timeout" => {
                timeout = Duration::from_secs(value()?.parse().map_err(|_| "--timeout: seconds")?)
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let log = log.ok_or("--log FILE is required")?;
    let since_ns = since_ns.ok_or("--since-ns is required")?;
    let deadline = Instant::now() + timeout;

    let url = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if let Some(url) = text
            .lines()
            .find_map(|line| line.strip_prefix("listening on "))
            .and_then(|rest| rest.split_whitespace().next())
        {
            break url.to_owned();
        }
        wait(deadline, "no `listening on` line")?;
    };
    let addr = url
        .strip_prefix("http://")
        .ok_or("only http:// servers are measured")?
        .trim_end_matches('/')
        .to_owned();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    while !answers_200(&addr, request.as_bytes()) {
        wait(deadline, "no 200")?;
    }
    let now_ns = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|_| "clock before 1970")?
        .as_nanos();
    let ms = now_ns.saturating_sub(since_ns) / 1_000_000;
    Ok(format!("{ms} {url}"))
}

fn wait(deadline: Instant, what: &str) -> Result<(), String> {
    if Instant::now() >= deadline {
        return Err(format!("{what} before the timeout"));
    }
    std::thread::sleep(POLL);
    Ok(())
}

fn answers_200(addr: &str, request: &[u8]) -> bool {
    let Ok(mut stream) = TcpStream::connect(addr) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    if stream.write_all(request).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
}
