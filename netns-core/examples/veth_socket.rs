//! Two namespaces joined by a veth pair, and a TCP connection between
//! them over it: each socket made in its namespace by netns-core, then
//! used from this thread, which never leaves its own namespace. As root,
//! with `ip`:
//!
//!     cargo run -p netns-core --example veth_socket

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::process::Command;

use netns_core::{Netns, Scratch};
use nix::sys::socket::{Backlog, SockaddrIn, bind, connect, listen};

/// Runs `ip ARGS` in the caller's namespace (the thread's); an error is
/// its stderr.
fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip").args(args).output();
    match out {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(String::from_utf8_lossy(&out.stderr).into_owned()),
        Err(e) => Err(format!("cannot run ip: {e}")),
    }
}

/// The veth end `dev` in `ns` gets `addr` and goes up: `ip` run on a
/// thread in the namespace, where the command forked from it starts.
fn set_up(ns: &Netns, dev: &str, addr: &str) -> Result<(), Box<dyn std::error::Error>> {
    ns.run(|| {
        ip(&["addr", "add", addr, "dev", dev])?;
        ip(&["link", "set", dev, "up"])
    })??;
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (a, b) = (Scratch::new()?, Scratch::new()?);
    // Made from inside A, its peer put in B: `ip` takes a namespace's file
    // where it takes a name.
    let b_path = b.path().to_str().ok_or("a path of UTF-8")?;
    a.netns().run(|| {
        ip(&[
            "link", "add", "va", "type", "veth", "peer", "name", "vb", "netns", b_path,
        ])
    })??;
    set_up(a.netns(), "va", "10.25.0.1/24")?;
    set_up(b.netns(), "vb", "10.25.0.2/24")?;

    // B listens on 10.25.0.2, an address only B has.
    let server = b.netns().socket(libc::AF_INET, libc::SOCK_STREAM, 0)?;
    bind(server.as_raw_fd(), &SockaddrIn::new(10, 25, 0, 2, 7025))?;
    listen(&server, Backlog::new(1)?)?;
    let server = TcpListener::from(server);

    // A connects from 10.25.0.1, which only A has, over the veth.
    let client = a.netns().socket(libc::AF_INET, libc::SOCK_STREAM, 0)?;
    bind(client.as_raw_fd(), &SockaddrIn::new(10, 25, 0, 1, 0))?;
    connect(client.as_raw_fd(), &SockaddrIn::new(10, 25, 0, 2, 7025))?;
    let mut client = TcpStream::from(client);

    let (conn, from) = server.accept()?;
    client.write_all(b"hello from a\n")?;
    let mut line = String::new();
    BufReader::new(conn).read_line(&mut line)?;
    println!("b got {:?} from {}", line.trim_end(), from.ip());
    Ok(())
}
