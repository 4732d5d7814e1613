//! The service while its database goes away: a TCP proxy between the service and PostgreSQL
//! is taken down for 10 s (every open connection cut, new ones closed at once) and brought back.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use askdesk::answer::Role;
use futures_util::StreamExt as _;
use serde_json::{json, Value};

use crate::app::{spawn_replica, App};
use crate::store_contract::SharedDatabase;

/// A TCP proxy on loopback to `target` that can be taken down and brought back, as a database
/// server (or the network to it) that goes away does.
struct TcpProxy {
    port: u16,
    up: Arc<AtomicBool>,
    /// Bumped to cut every open connection.
    cut: tokio::sync::watch::Sender<u64>,
    _runtime: tokio::runtime::Runtime,
}

impl TcpProxy {
    fn start(target: SocketAddr) -> Self {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let (cut, cuts) = tokio::sync::watch::channel(0u64);
        let accepting = Arc::clone(&up);
        runtime.spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !accepting.load(Ordering::SeqCst) {
                    continue; // dropped: the client sees the connection closed at once
                }
                let mut cuts = cuts.clone();
                cuts.borrow_and_update();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cuts.changed() => {}
                    }
                });
            }
        });
        Self {
            port,
            up,
            cut,
            _runtime: runtime,
        }
    }

    fn down(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.cut.send_modify(|n| *n += 1);
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

/// The server a database URL names.
fn server_of(url: &str) -> SocketAddr {
    let parsed = reqwest::Url::parse(url).unwrap();
    let host = parsed.host_str().unwrap();
    let port = parsed.port().unwrap_or(5432);
    std::net::ToSocketAddrs::to_socket_addrs(&(host, port))
        .unwrap()
        .next()
        .unwrap()
}

/// `url` reaching its server through the proxy on `port`.
fn through_proxy(url: &str, port: u16) -> String {
    let mut parsed = reqwest::Url::parse(url).unwrap();
    parsed.set_host(Some("127.0.0.1")).unwrap();
    parsed.set_port(Some(port)).unwrap();
    parsed.to_string()
}

fn turn(app: &App, message: &str, conversation: Option<&Value>) -> crate::app::Reply {
    let mut body = json!({"tenant": "acme", "message": message});
    if let Some(c) = conversation {
        body["conversation_id"] = c["conversation_id"].clone();
        body["conversation_token"] = c["conversation_token"].clone();
    }
    app.request("POST", "/api/v1/chat", &[], Some(&body))
}

fn hand_over(app: &App, conversation: &Value) -> crate::app::Reply {
    let body = json!({"tenant": "acme", "contact_email": "ana@example.com",
        "conversation_id": conversation["conversation_id"],
        "conversation_token": conversation["conversation_token"]});
    app.request("POST", "/api/v1/escalations", &[], Some(&body))
}

#[test]
fn a_database_away_for_ten_seconds_gives_503_with_retry_after_loses_nothing_and_recovers() {
    let database = SharedDatabase::new();
    let proxy = TcpProxy::start(server_of(database.url()));
    let knowledge = crate::replicas::knowledge();
    let app = spawn_replica(knowledge.path(), &through_proxy(database.url(), proxy.port));

    let first = turn(&app, "How do I reset my password?", None);
    assert_eq!(first.status, 200, "{}", first.body);
    let conversation = first.body.clone();

    proxy.down();
    let went_down = Instant::now();
    let mut refused = 0;
    while went_down.elapsed() < Duration::from_secs(10) {
        for reply in [
            turn(&app, "How long does a refund take?", Some(&conversation)),
            turn(&app, "How long does a refund take?", None),
            hand_over(&app, &conversation),
        ] {
            assert_eq!(reply.status, 503, "{}", reply.body);
            assert_eq!(reply.body["error"]["code"], "unavailable", "{}", reply.body);
            assert_eq!(reply.header("retry-after"), Some("5"));
            refused += 1;
        }
        let ready = app.request("GET", "/readyz", &[], None);
        assert_eq!(ready.status, 503, "{}", ready.body);
        assert_eq!(ready.body["store"], false);
    }
    assert!(refused >= 3);

    // Back: the same process answers again, without a restart.
    proxy.restore();
    let came_back = Instant::now();
    let later = loop {
        let reply = turn(&app, "How long does a refund take?", Some(&conversation));
        if reply.status != 503 || came_back.elapsed() > Duration::from_secs(30) {
            break reply;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(later.status, 200, "{}", later.body);
    assert!(later.body["answer"]
        .as_str()
        .unwrap()
        .contains("5 business days"));
    // Nothing half-written: the conversation holds the turn before and the turn after, whole.
    let messages = app
        .runtime
        .block_on(
            app.store
                .messages(conversation["conversation_id"].as_str().unwrap()),
        )
        .unwrap();
    let roles: Vec<Role> = messages.iter().map(|m| m.role).collect();
    assert_eq!(
        roles,
        [Role::User, Role::Assistant, Role::User, Role::Assistant]
    );
    // and the outbox worker kept running: a hand-over now is emailed
    let ticket = hand_over(&app, &conversation);
    assert_eq!(ticket.status, 202, "{}", ticket.body);
    let emails = app.smtp.wait_for_messages(1);
    assert_eq!(emails.len(), 1);
    assert!(emails[0].contains(ticket.body["ticket_id"].as_str().unwrap()));
}

/// One `askdesk serve` process on `database_url`, as an operator runs a replica.
struct Replica {
    port: u16,
    child: std::process::Child,
    data: tempfile::TempDir,
    knowledge: std::path::PathBuf,
    database_url: String,
    smtp_url: String,
}

impl Replica {
    fn start(knowledge: &std::path::Path, database_url: &str, smtp_url: &str) -> Self {
        let data = tempfile::tempdir().unwrap();
        let port = crate::smtp::free_port();
        let child = Self::spawn(port, knowledge, data.path(), database_url, smtp_url);
        let replica = Self {
            port,
            child,
            data,
            knowledge: knowledge.to_path_buf(),
            database_url: database_url.to_string(),
            smtp_url: smtp_url.to_string(),
        };
        replica.wait_until_ready();
        replica
    }

    fn spawn(
        port: u16,
        knowledge: &std::path::Path,
        data: &std::path::Path,
        database_url: &str,
        smtp_url: &str,
    ) -> std::process::Child {
        let log = std::fs::File::create(data.join("serve.log")).unwrap();
        std::process::Command::new(env!("CARGO_BIN_EXE_askdesk"))
            .arg("serve")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("ASKDESK_BIND", format!("127.0.0.1:{port}"))
            .env("ASKDESK_KNOWLEDGE", knowledge)
            .env("ASKDESK_DATA", data)
            .env("ASKDESK_DATABASE_URL", database_url)
            .env("ASKDESK_SMTP_URL", smtp_url)
            .env("ASKDESK_RATE_LIMIT_PER_IP_PER_MINUTE", "0")
            .env("ASKDESK_RATE_LIMIT_PER_TENANT_PER_MINUTE", "0")
            // retry soon while the mail server is away, never give a ticket up, and let a
            // killed replica's claims lapse within seconds
            .env("ASKDESK_OUTBOX_POLL_INTERVAL_MS", "100")
            .env("ASKDESK_OUTBOX_FIRST_RETRY_DELAY_MS", "200")
            .env("ASKDESK_OUTBOX_MAX_RETRY_DELAY_MS", "1000")
            .env("ASKDESK_OUTBOX_MAX_ATTEMPTS", "100000")
            .env("ASKDESK_OUTBOX_CLAIM_LEASE_MS", "3000")
            .env("ASKDESK_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap()
    }

    fn wait_until_ready(&self) {
        let started = Instant::now();
        while !self.is_ready() {
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "the replica did not start: {}",
                std::fs::read_to_string(self.data.path().join("serve.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `GET /readyz` answers 200.
    fn is_ready(&self) -> bool {
        use std::io::{Read as _, Write as _};
        let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let mut head = [0u8; 12];
        stream
            .write_all(b"GET /readyz HTTP/1.0\r\nHost: localhost\r\n\r\n")
            .is_ok()
            && stream.read_exact(&mut head).is_ok()
            && head.ends_with(b"200")
    }

    /// `kill -9`, then the same replica started again.
    fn kill_and_restart(&mut self) {
        self.kill();
        self.child = Self::spawn(
            self.port,
            &self.knowledge,
            self.data.path(),
            &self.database_url,
            &self.smtp_url,
        );
        self.wait_until_ready();
    }

    fn kill(&mut self) {
        let _ = self.child.kill(); // SIGKILL
        let _ = self.child.wait();
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Sends `count` hand-overs (notes `prefix-N`), alternating between `bases`; a request a
/// replica does not accept (it is being killed) goes to the next, as a load balancer retries.
/// Returns the ticket ids accepted.
async fn escalate_many(bases: &[String], prefix: &str, count: usize) -> Vec<String> {
    let client = crate::helpers::http_client();
    let requests = (0..count).map(|n| {
        let client = client.clone();
        let bases = bases.to_vec();
        let note = format!("{prefix}-{n}");
        async move {
            for attempt in 0..10 {
                let base = &bases[(n + attempt) % bases.len()];
                let sent = client
                    .post(format!("{base}/api/v1/escalations"))
                    .json(&json!({"tenant": "acme", "contact_email": "ana@example.com", "note": note}))
                    .send()
                    .await;
                if let Ok(r) = sent {
                    if r.status().as_u16() == 202 {
                        let body: Value = r.json().await.unwrap();
                        return body["ticket_id"].as_str().unwrap().to_string();
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            panic!("no replica accepted {note}");
        }
    });
    futures_util::stream::iter(requests)
        .buffer_unordered(8)
        .collect()
        .await
}

/// Chat turns on `base` while it may be killed; failures are expected, half-written turns not.
async fn chat_while(base: String, stop: Arc<AtomicBool>) {
    let client = crate::helpers::http_client();
    while !stop.load(Ordering::SeqCst) {
        let _ = client
            .post(format!("{base}/api/v1/chat"))
            .json(&json!({"tenant": "acme", "message": "How long does a refund take?", "contact_email": "ana@example.com"}))
            .send()
            .await;
    }
}

#[test]
fn a_thousand_hand_overs_through_two_mail_outages_and_a_killed_replica_are_each_emailed_once() {
    let database = SharedDatabase::new();
    let mail = tempfile::tempdir().unwrap();
    let smtp_port = crate::smtp::free_port();
    let mut smtp = Some(crate::smtp::SmtpServer::start(smtp_port, mail.path()));
    let smtp_url = format!("smtp://127.0.0.1:{smtp_port}");
    let knowledge = crate::replicas::knowledge();
    let mut first = Replica::start(knowledge.path(), database.url(), &smtp_url);
    let second = Replica::start(knowledge.path(), database.url(), &smtp_url);
    let bases = [first.base(), second.base()];
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut accepted = Vec::new();

    accepted.extend(runtime.block_on(escalate_many(&bases, "a", 250)));
    drop(smtp.take()); // the mail server stops
    accepted.extend(runtime.block_on(escalate_many(&bases, "b", 250)));
    smtp = Some(crate::smtp::SmtpServer::start(smtp_port, mail.path()));
    // kill -9 the first replica while it delivers and answers, then start it again
    let stop = Arc::new(AtomicBool::new(false));
    let chats = runtime.spawn(chat_while(first.base(), Arc::clone(&stop)));
    accepted.extend(runtime.block_on(escalate_many(&bases, "c", 150)));
    first.kill_and_restart();
    stop.store(true, Ordering::SeqCst);
    runtime.block_on(chats).unwrap();
    accepted.extend(runtime.block_on(escalate_many(&bases, "d", 100)));
    drop(smtp.take()); // and stops again
    accepted.extend(runtime.block_on(escalate_many(&bases, "e", 250)));
    let smtp = smtp.insert(crate::smtp::SmtpServer::start(smtp_port, mail.path()));
    let accepted_ids: std::collections::HashSet<&String> = accepted.iter().collect();
    assert_eq!(accepted_ids.len(), 1000, "1,000 tickets accepted");

    // Every ticket recorded as sent (the mail server stores a message before it says so).
    let pool = runtime
        .block_on(sqlx::PgPool::connect(database.url()))
        .unwrap();
    let unsent = || -> i64 {
        runtime
            .block_on(
                sqlx::query_scalar("SELECT COUNT(*) FROM tickets WHERE status <> 'sent'")
                    .fetch_one(&pool),
            )
            .unwrap()
    };
    let started = Instant::now();
    while unsent() > 0 && started.elapsed() < Duration::from_secs(300) {
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(unsent(), 0, "every ticket sent");
    let messages = smtp.messages();
    let ids: std::collections::HashSet<String> = messages
        .iter()
        .filter_map(|raw| crate::smtp::header(raw, "Message-ID"))
        .collect();
    assert_eq!(
        ids.len(),
        1000,
        "one Message-ID per ticket ({} messages)",
        messages.len()
    );
    for id in &accepted {
        assert!(
            ids.iter().any(|m| m.contains(id.as_str())),
            "ticket {id} has no email"
        );
    }
    // An email is sent twice only when a replica died between sending it and recording it:
    // both copies then carry one Message-ID, which the team's mail client shows once.
    let copies = messages.len() - ids.len();
    assert!(copies <= 10, "{copies} second copies");
    eprintln!(
        "outbox under faults: 1000 tickets, {} emails, {copies} second copies after kill -9",
        messages.len()
    );

    // No half-written conversation: every conversation holds whole exchanges.
    runtime.block_on(async {
        let odd: Vec<(String,)> = sqlx::query_as(
            "SELECT conversation_id FROM messages GROUP BY conversation_id HAVING COUNT(*) % 2 = 1",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        assert!(odd.is_empty(), "half-written conversations: {odd:?}");
        pool.close().await;
    });
}
