//! The service while its database goes away: a TCP proxy between the service and PostgreSQL
//! is taken down for 10 s (every open connection cut, new ones closed at once) and brought back.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use askdesk::answer::Role;
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
