//! The floor for the dead-space benchmark (bench/sweep.py): a plain blocking `connect()` loop on every
//! core over `127.0.0.0/16` × ports, nothing else. Prints endpoints per second.
//!
//!     cargo run --release --example connect_floor -- 127.0.0.0 16 6379,6380

use std::net::{Ipv4Addr, SocketAddrV4, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let base: Ipv4Addr = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(Ipv4Addr::new(127, 0, 0, 0));
    let prefix: u32 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(16);
    let ports: Vec<u16> =
        args.get(3).map_or(vec![6379, 6380], |s| s.split(',').filter_map(|p| p.parse().ok()).collect());
    let count = 1u64 << (32 - prefix);
    let total = count * ports.len() as u64;
    let next = AtomicU64::new(0);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        break;
                    }
                    let ip = Ipv4Addr::from(u32::from(base) + u32::try_from(i / ports.len() as u64).unwrap_or(0));
                    let Some(&port) = ports.get(usize::try_from(i % ports.len() as u64).unwrap_or(0)) else { break };
                    let _ = TcpStream::connect_timeout(&SocketAddrV4::new(ip, port).into(), Duration::from_secs(1));
                }
            });
        }
    });
    let secs = start.elapsed().as_secs_f64();
    println!("{total} endpoints in {secs:.2} s: {:.0} endpoints/s ({threads} threads)", total as f64 / secs);
}
