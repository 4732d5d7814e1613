//! LLM mode against a real local model: llama.cpp's OpenAI-compatible server with SmolLM2-135M
//! (installed by `scripts/setup.sh llm`), started here on a loopback port. A 135M model is often
//! wrong, so these tests check the wiring (streaming, the request/response round trip, the
//! citation rules applied to real output), not its wording.

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use askdesk::answer::{EscalationReason, Generator, Outcome};
use askdesk::engine::{self, EngineOptions};
use askdesk::llm::{collect, Llm, LlmConfig, Message, OpenAiLlm, Speaker};
use askdesk::prompts::Prompts;

use crate::helpers::{embedder, repo_root};
use crate::smtp::free_port;

struct LlamaServer {
    child: Child,
    port: u16,
}

impl Drop for LlamaServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_llama() -> LlamaServer {
    let venv = repo_root().join(".cache/llm-venv");
    let model =
        std::fs::read_to_string(venv.join("model-path")).expect("run scripts/setup.sh llm first");
    let port = free_port();
    let child = Command::new(venv.join("bin/python"))
        .args([
            "-m",
            "llama_cpp.server",
            "--model",
            model.trim(),
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--n_ctx",
            "2048",
            "--n_threads",
            "2",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("llama_cpp.server starts");
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "llama server did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    LlamaServer { child, port }
}

fn config(port: u16) -> LlmConfig {
    LlmConfig {
        base_url: format!("http://127.0.0.1:{port}/v1"),
        api_key: "none".into(),
        model: "smollm2".into(),
        temperature: 0.0,
        max_tokens: 120,
        first_token_timeout: Duration::from_secs(30),
        total_timeout: Duration::from_secs(60),
    }
}

#[test]
fn a_real_local_model_streams_and_its_answers_go_through_the_citation_check() {
    let server = start_llama();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let config = config(server.port);
    let llm = Arc::new(OpenAiLlm::new(config.clone()));

    // Streaming token by token through async-openai.
    let mut pieces = 0;
    let text = runtime
        .block_on(collect(
            llm.as_ref() as &dyn Llm,
            vec![Message {
                speaker: Speaker::User,
                content: "Say hello to a customer in one short sentence.".into(),
            }],
            config.first_token_timeout,
            config.total_timeout,
            |_| pieces += 1,
        ))
        .unwrap();
    assert!(!text.trim().is_empty());
    assert!(pieces > 1, "the answer arrived in {pieces} piece(s)");

    // The whole pipeline in LLM mode: the model is reachable (never llm_unavailable), and whatever
    // it writes either cites passages it was given or is turned into a handoff.
    let prompts = Arc::new(Prompts::load(&repo_root().join("prompts")).unwrap());
    let pipeline = engine::open(
        &EngineOptions::new(repo_root().join("knowledge"), None),
        embedder(),
        None,
    )
    .unwrap()
    .pipeline()
    .with_generator(Generator::new(llm, prompts, &config));
    for question in ["Can I get a refund?", "Which file formats can I upload?"] {
        let a = runtime
            .block_on(pipeline.answer("fictart", question, &[]))
            .unwrap();
        assert_ne!(
            a.reason,
            Some(EscalationReason::LlmUnavailable),
            "{question}"
        );
        match a.outcome {
            Outcome::Answer => {
                assert!(!a.citations.is_empty());
                for c in &a.citations {
                    assert!(
                        a.retrieved.iter().any(|h| h.passage.id == c.id),
                        "cited {} was not retrieved",
                        c.id
                    );
                }
            }
            Outcome::Escalate => assert_eq!(a.reason, Some(EscalationReason::LlmDeclined)),
        }
    }
}
