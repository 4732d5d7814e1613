//! A real SMTP server on loopback for the tests: aiosmtpd (installed by `scripts/setup.sh test`)
//! storing every message it accepts in a maildir the tests read.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct SmtpServer {
    port: u16,
    pub maildir: PathBuf,
    child: Option<Child>,
}

/// A free loopback port (bound and released; the server claims it right after).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl SmtpServer {
    /// Starts aiosmtpd on `port`, storing mail under `dir`, and waits until it accepts connections.
    pub fn start(port: u16, dir: &Path) -> Self {
        let python = crate::helpers::repo_root().join(".cache/test-venv/bin/python");
        assert!(python.exists(), "run scripts/setup.sh test first");
        let maildir = dir.join("maildir");
        let child = Command::new(python)
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiosmtpd starts");
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "aiosmtpd did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            port,
            maildir,
            child: Some(child),
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Waits (up to 10 s) until at least `n` messages have arrived and returns them.
    pub fn wait_for_messages(&self, n: usize) -> Vec<String> {
        let started = Instant::now();
        loop {
            let messages = self.messages();
            if messages.len() >= n {
                return messages;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "expected {n} email(s), got {}",
                messages.len()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The raw messages received so far.
    pub fn messages(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.maildir.join("new")) else {
            return Vec::new();
        };
        entries
            .filter_map(Result::ok)
            .map(|e| std::fs::read_to_string(e.path()).unwrap())
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The value of a header in a raw message (first occurrence, unfolded).
pub fn header(raw: &str, name: &str) -> Option<String> {
    let mut lines = raw.lines();
    let prefix = format!("{}:", name.to_lowercase());
    while let Some(line) = lines.next() {
        if line.is_empty() {
            return None;
        }
        if line.to_lowercase().starts_with(&prefix) {
            let mut value = line[prefix.len()..].trim().to_string();
            for cont in lines.by_ref() {
                if cont.starts_with(' ') || cont.starts_with('\t') {
                    value.push(' ');
                    value.push_str(cont.trim());
                } else {
                    break;
                }
            }
            return Some(value);
        }
    }
    None
}

/// The attachments of a raw message as (file name, content type, bytes), parsed by Python's
/// standard `email` package so the MIME structure is checked by an independent reader.
pub fn attachments(raw: &str) -> Vec<(String, String, Vec<u8>)> {
    let python = crate::helpers::repo_root().join(".cache/test-venv/bin/python");
    let script = r#"
import email, json, sys
from email import policy
msg = email.message_from_bytes(sys.stdin.buffer.read(), policy=policy.default)
print(json.dumps([[p.get_filename(), p.get_content_type(), p.get_payload(decode=True).hex()]
                  for p in msg.iter_attachments()]))
"#;
    let mut child = Command::new(python)
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python starts");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(raw.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "the email could not be parsed");
    let parts: Vec<(String, String, String)> = serde_json::from_slice(&out.stdout).unwrap();
    parts
        .into_iter()
        .map(|(name, kind, hex)| {
            let bytes = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            (name, kind, bytes)
        })
        .collect()
}
