//! A program in a pseudo-terminal of its own, as it runs for a user: keys
//! written to the terminal one after another, everything it prints kept.
//! The completion tests drive bash, zsh and fish this way, so that each
//! shell's own line editor splits, completes and inserts.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::pty::{Winsize, openpty};

use crate::util::describe;

/// How long a shell may take to answer a key: far more than any takes.
const PATIENCE: Duration = Duration::from_secs(15);

pub struct Term {
    child: Child,
    keys: File,
    screen: Arc<Mutex<Vec<u8>>>,
}

impl Term {
    /// Starts `cmd` as the session leader of a new terminal (`setsid -c`
    /// makes the terminal its controlling one), 200 columns by 50 rows.
    pub fn start(cmd: &Command) -> Self {
        let size = Winsize {
            ws_row: 50,
            ws_col: 200,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let pty = openpty(Some(&size), None).expect("a pseudo-terminal");
        let slave = |fd: &OwnedFd| Stdio::from(fd.try_clone().expect("dup"));
        let mut setsid = Command::new(crate::util::absolute("setsid"));
        setsid
            .arg("-c")
            .arg(cmd.get_program())
            .args(cmd.get_args())
            .stdin(slave(&pty.slave))
            .stdout(slave(&pty.slave))
            .stderr(slave(&pty.slave));
        for (key, value) in cmd.get_envs() {
            match value {
                Some(value) => setsid.env(key, value),
                None => setsid.env_remove(key),
            };
        }
        if let Some(dir) = cmd.get_current_dir() {
            setsid.current_dir(dir);
        }
        let child = setsid
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
        drop(pty.slave);
        let master = File::from(pty.master);
        let keys = master.try_clone().expect("dup");
        let screen = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&screen);
        std::thread::spawn(move || {
            let mut master = master;
            let mut buf = [0; 4096];
            // Ends with EIO once no process has the terminal open.
            while let Ok(n @ 1..) = master.read(&mut buf) {
                kept.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Term {
            child,
            keys,
            screen,
        }
    }

    /// Types `keys`, as they are (`\t` is TAB, `\r` Enter, `\x01` C-a).
    pub fn type_keys(&mut self, keys: impl AsRef<[u8]>) {
        self.keys.write_all(keys.as_ref()).expect("type");
    }

    /// Waits until `done` says so, checking every few milliseconds; after
    /// [`PATIENCE`], fails the test with the end of the screen and what
    /// the program is doing.
    pub fn wait_until(&self, what: &str, mut done: impl FnMut() -> bool) {
        let start = Instant::now();
        while !done() {
            if start.elapsed() > PATIENCE {
                panic!(
                    "{what}: nothing after {PATIENCE:?}; the screen ends with:\n{}\n{}",
                    self.screen_end(),
                    describe(self.child.id())
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The last few lines the program wrote, its escapes made visible.
    pub fn screen_end(&self) -> String {
        let screen = self.screen.lock().unwrap();
        let tail = &screen[screen.len().saturating_sub(600)..];
        tail.escape_ascii()
            .to_string()
            .replace("\\r\\n", "\n")
            .replace("\\n", "\n")
    }
}

impl Drop for Term {
    fn drop(&mut self) {
        // The shell leads a session and a process group of its own.
        crate::util::kill_group(&mut self.child);
    }
}
