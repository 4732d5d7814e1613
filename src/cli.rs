//! The `askdesk` command line. Each subcommand parses its flags here and calls the library.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::sync::Arc;

use crate::beir::{self, BeirSet};
use crate::config::ServiceConfig;
use crate::engine::{self, EngineOptions};
use crate::index::{IndexSettings, Indexer};
use crate::knowledge::Tenant;
use crate::retrieve::{Hit, Retriever, SearchMode};

#[derive(Parser, Debug)]
#[command(name = "askdesk", version, about = "Self-hosted AI support chatbot")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Where the configuration comes from: the file, the environment, and these flags (which win).
#[derive(Args, Debug, Clone)]
pub struct Folders {
    /// TOML configuration file (every key: askdesk.example.toml).
    #[arg(long, env = "ASKDESK_CONFIG")]
    pub config: Option<PathBuf>,
    /// Knowledge folder: one sub-folder per tenant [default: knowledge].
    #[arg(long)]
    pub knowledge: Option<PathBuf>,
    /// Data folder for indexes, caches and the store [default: data].
    #[arg(long)]
    pub data: Option<PathBuf>,
}

impl Folders {
    /// The configuration: defaults < file < environment < these flags.
    pub fn load(&self) -> anyhow::Result<ServiceConfig> {
        let mut config =
            ServiceConfig::load(self.config.as_deref()).map_err(|e| InputError(e.to_string()))?;
        if let Some(knowledge) = &self.knowledge {
            config.knowledge = knowledge.clone();
        }
        if let Some(data) = &self.data {
            config.data = data.clone();
        }
        Ok(config)
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Build or update the per-tenant indexes (only changed passages are re-embedded).
    Index {
        #[command(flatten)]
        folders: Folders,
    },
    /// Sync the brands' help-center websites (`[[sources]]` in tenant.toml) into their
    /// `synced/` folders, re-index the tenants whose pages changed and record each sync.
    Sync {
        #[command(flatten)]
        folders: Folders,
        /// Only this tenant [default: every tenant with sources].
        #[arg(long)]
        tenant: Option<String>,
        /// Print the pages that would be added, changed and removed; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Apply even when more than a source's `max_removed_share` of its pages would go.
        #[arg(long)]
        force: bool,
        /// Also answer this eval suite (YAML, of one synced tenant) on the knowledge before and
        /// after the sync and show the answers that change; implies --dry-run.
        #[arg(long, value_name = "SUITE")]
        eval: Option<PathBuf>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print the passages retrieved for a question.
    Search {
        #[command(flatten)]
        folders: Folders,
        #[arg(long)]
        tenant: String,
        #[arg(long, default_value_t = 5)]
        k: usize,
        #[arg(long, value_enum, default_value_t = SearchMode::Hybrid)]
        mode: SearchMode,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        question: String,
    },
    /// Serve the chat API, handoff and the web widget for every tenant.
    Serve {
        #[command(flatten)]
        folders: Folders,
        /// Address to listen on [default: 127.0.0.1:8080].
        #[arg(long)]
        bind: Option<String>,
        /// Folder of static files served at `/` [default: web].
        #[arg(long)]
        web: Option<PathBuf>,
    },
    /// Answer one question as the chat would (answer with citations, or escalate).
    Ask {
        #[command(flatten)]
        folders: Folders,
        #[arg(long)]
        tenant: String,
        #[arg(long, value_enum, default_value_t = AnswerMode::Extractive)]
        mode: AnswerMode,
        /// JSON file with earlier turns: [{"role": "user"|"assistant", "content": "..."}].
        #[arg(long)]
        history: Option<PathBuf>,
        #[arg(long)]
        json: bool,
        question: String,
    },
    /// Run answer-quality eval suites (YAML) and gate on the pass rate and regressions.
    Eval(EvalArgs),
    /// Evaluate retrieval on a BEIR-layout folder (corpus.jsonl, queries.jsonl, qrels/test.tsv).
    Beir {
        dir: PathBuf,
        #[arg(long, value_enum, default_value_t = SearchMode::Hybrid)]
        mode: SearchMode,
        #[arg(long, default_value_t = 10)]
        k: usize,
        /// Data folder whose embedding cache is reused between runs.
        #[arg(long, env = "ASKDESK_DATA", default_value = "data")]
        data: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct EvalArgs {
    /// `eval draft`; without a subcommand, `eval SUITE...` runs suites.
    #[command(subcommand)]
    pub command: Option<EvalCommand>,
    #[command(flatten)]
    pub folders: Folders,
    #[arg(long, value_enum, default_value_t = AnswerMode::Extractive)]
    pub mode: AnswerMode,
    /// Run against a running askdesk server (http://host:port) through its OpenAI-compatible
    /// endpoint instead of in-process.
    #[arg(long)]
    pub url: Option<String>,
    /// The server-to-server API key for --url.
    #[arg(long, env = "ASKDESK_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Grade each answer's faithfulness and relevance with the LLM configured by OPENAI_BASE_URL
    /// (two model calls per answered case; reported, never gated).
    #[arg(long)]
    pub judge: bool,
    /// Write the full report as JSON.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write a Markdown report (for pull requests).
    #[arg(long)]
    pub markdown: Option<PathBuf>,
    /// Write a self-contained HTML report.
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// A previous --json report: cases that passed there and fail now are regressions.
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// Exit with status 1 when the pass rate is below this (0..1).
    #[arg(long)]
    pub min_pass_rate: Option<f64>,
    /// Cases answered at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Suite files or folders of them.
    #[arg(required = true)]
    pub suites: Vec<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum EvalCommand {
    /// Draft eval cases from real conversations: thumbs-down answers and low-confidence
    /// escalations, with `outcome: TODO` for the support lead to decide.
    Draft(Box<DraftArgs>),
}

#[derive(Args, Debug)]
pub struct DraftArgs {
    /// Only conversations from this day on (YYYY-MM-DD, UTC).
    #[arg(long)]
    pub since: String,
    /// Only this tenant.
    #[arg(long)]
    pub tenant: Option<String>,
    /// The configuration; its `database_url` (by default askdesk.db in the data folder) is the
    /// store.
    #[command(flatten)]
    pub folders: Folders,
    /// Write the one tenant's draft to this file.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Folder for one `<tenant>.yaml` per tenant when --out is not given (not read by
    /// `askdesk eval evals/`, which does not descend into folders).
    #[arg(long, default_value = "evals/drafts")]
    pub dir: PathBuf,
}

/// Input that cannot be used (bad suite, bad flags): `main` exits with status 2 for it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

/// How answers are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AnswerMode {
    /// Quote the knowledge base (no LLM needed).
    Extractive,
    /// Write the answer with an OpenAI-compatible LLM.
    Llm,
}

/// The async runtime for commands that run the answer pipeline.
pub(crate) fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
}

/// Runs a parsed command and returns the exit status; an error is printed as one line by `main`
/// (status 2 for an [`InputError`], 1 otherwise).
pub fn run(cli: Cli) -> anyhow::Result<u8> {
    if let Command::Eval(args) = cli.command {
        return match args.command {
            Some(EvalCommand::Draft(draft)) => crate::cli_eval::draft(*draft),
            None => crate::cli_eval::eval(args),
        };
    }
    run_simple(cli.command).map(|()| 0)
}

fn run_simple(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Eval(_) => unreachable!("handled by run"),
        Command::Index { folders } => index(&folders.load()?),
        Command::Sync {
            folders,
            tenant,
            dry_run,
            force,
            eval,
            json,
        } => crate::cli_sync::sync(
            &folders.load()?,
            crate::cli_sync::SyncArgs {
                tenant,
                dry_run,
                force,
                eval,
                json,
            },
        ),
        Command::Serve { folders, bind, web } => {
            let mut config = folders.load()?;
            config.bind = bind.unwrap_or(config.bind);
            config.web = web.unwrap_or(config.web);
            serve(config)
        }
        Command::Search {
            folders,
            tenant,
            k,
            mode,
            json,
            question,
        } => search(folders, tenant, k, mode, json, &question),
        Command::Ask {
            folders,
            tenant,
            mode,
            history,
            json,
            question,
        } => ask(folders, tenant, mode, history, json, &question),
        Command::Beir {
            dir,
            mode,
            k,
            data,
            json,
        } => run_beir(dir, mode, k, data, json),
    }
}

fn index(config: &ServiceConfig) -> anyhow::Result<()> {
    let mut options = EngineOptions::for_service(config, true);
    options.embedder = crate::embed::EmbedderConfig::throughput_from_env();
    let engine = engine::open_reporting(&options, None)?;
    for r in &engine.reports {
        println!(
            "{}: {} passages, {} texts embedded, {} in {:.2}s",
            r.tenant,
            r.passages,
            r.embedded,
            if r.rebuilt { "rebuilt" } else { "up to date" },
            r.seconds
        );
    }
    if engine.reports.is_empty() {
        anyhow::bail!(
            "no tenant could be indexed from {}",
            config.knowledge.display()
        );
    }
    Ok(())
}

fn serve(config: ServiceConfig) -> anyhow::Result<()> {
    runtime()?.block_on(async move {
        let app = crate::startup::Application::build(&config).await?;
        let pipeline = &app.state().desk.pipeline;
        if pipeline.is_generative() {
            println!("askdesk: answers are written by the LLM (llm.base_url)");
        }
        println!(
            "askdesk: serving {} tenant(s) on http://{}",
            pipeline.retriever().tenant_ids().len(),
            app.address()
        );
        app.run_until_stopped(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
        anyhow::Ok(())
    })
}

fn search(
    folders: Folders,
    tenant: String,
    k: usize,
    mode: SearchMode,
    json: bool,
    question: &str,
) -> anyhow::Result<()> {
    let options = EngineOptions::for_service(&folders.load()?, !json);
    let engine = engine::open_reporting(&options, Some(std::slice::from_ref(&tenant)))?;
    let hits = engine.retriever.search(&tenant, question, k, mode)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&hits_json(&hits))?);
    } else {
        print_hits(&hits);
    }
    Ok(())
}

fn ask(
    folders: Folders,
    tenant: String,
    mode: AnswerMode,
    history: Option<PathBuf>,
    json: bool,
    question: &str,
) -> anyhow::Result<()> {
    let config = folders.load()?;
    let generator = match mode {
        AnswerMode::Llm => Some(
            engine::generator(&config.llm, std::path::Path::new("prompts"))?.ok_or_else(|| {
                anyhow::anyhow!("--mode llm needs llm.base_url (OPENAI_BASE_URL) set")
            })?,
        ),
        AnswerMode::Extractive => None,
    };
    let history: Vec<crate::answer::Turn> = match history {
        Some(path) => {
            let raw = std::fs::read_to_string(&path)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            serde_json::from_str(&raw).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        }
        None => Vec::new(),
    };
    let options = EngineOptions::for_service(&config, !json);
    let engine = engine::open_reporting(&options, Some(std::slice::from_ref(&tenant)))?;
    let mut pipeline = engine.pipeline();
    if let Some(generator) = generator {
        pipeline = pipeline.with_generator(generator);
    }
    let runtime = runtime()?;
    let answer = runtime.block_on(pipeline.answer(&tenant, question, &history))?;
    if json {
        let value = serde_json::json!({
            "answer": answer.text,
            "outcome": answer.outcome,
            "reason": answer.reason,
            "confidence": answer.confidence,
            "citations": answer.citations,
            "standalone_question": answer.standalone_question,
            "decision": answer.decision,
            "retrieved": answer.retrieved,
            "timings": answer.timings,
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        println!(
            "{}
",
            answer.text
        );
        for c in &answer.citations {
            println!("[source] {} ({})", c.title, c.id);
        }
        let reason = answer
            .reason
            .map(|r| format!(", reason {}", r.as_str()))
            .unwrap_or_default();
        println!(
            "[{:?}, confidence {:.2}{reason}]",
            answer.outcome, answer.confidence
        );
    }
    Ok(())
}

fn hits_json(hits: &[Hit]) -> serde_json::Value {
    serde_json::Value::Array(
        hits.iter()
            .enumerate()
            .map(|(i, h)| {
                serde_json::json!({
                    "rank": i + 1,
                    "id": h.passage.id,
                    "title": h.passage.title(),
                    "url": h.passage.url,
                    "score": h.score,
                    "dense": h.dense,
                    "bm25": h.bm25,
                    "text": h.passage.text,
                })
            })
            .collect(),
    )
}

fn print_hits(hits: &[Hit]) {
    if hits.is_empty() {
        println!("no passages matched");
    }
    for (i, h) in hits.iter().enumerate() {
        let signal = |s: Option<crate::retrieve::Signal>| {
            s.map_or("-".to_string(), |s| match s.rank {
                Some(r) => format!("{:.3} (#{r})", s.score),
                None => format!("{:.3}", s.score),
            })
        };
        println!(
            "{}. {}  score {:.3}  dense {}  bm25 {}",
            i + 1,
            h.passage.id,
            h.score,
            signal(h.dense),
            signal(h.bm25)
        );
        println!("   {}", h.passage.title());
        let preview: String = h.passage.text.chars().take(200).collect();
        println!("   {}", preview.replace('\n', " "));
    }
}

fn run_beir(
    dir: PathBuf,
    mode: SearchMode,
    k: usize,
    data: PathBuf,
    json: bool,
) -> anyhow::Result<()> {
    let set = BeirSet::load(&dir)?;
    let embedder_config = crate::embed::EmbedderConfig::from_env();
    let embedder = engine::load_embedder(&embedder_config)?;
    let settings = crate::retrieve::RetrievalSettings::from_env();
    // The corpus is indexed in memory; its vectors go through the data folder's cache so that
    // repeated runs (tuning) skip the embedding.
    let mut indexer =
        Indexer::new(None, Arc::clone(&embedder), IndexSettings::default()).with_progress(!json);
    indexer.use_vector_cache_in(&data);
    let tenant = Tenant {
        id: "beir".into(),
        config: crate::knowledge::TenantConfig::parse(
            "name = \"BEIR\"\nsupport_email = \"beir@example.invalid\"",
        )
        .map_err(anyhow::Error::msg)?,
        passages: set.corpus.clone(),
    };
    let (index, _) = indexer.index(tenant)?;
    let retriever = Retriever::new(embedder, settings);
    retriever.install(index);
    let report = beir::evaluate(&set, |q| {
        Ok(retriever
            .search("beir", q, k, mode)?
            .into_iter()
            .map(|h| h.passage.id)
            .collect())
    })?;
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "{} ({} docs, {} queries, mode {:?})",
            dir.display(),
            report.docs,
            report.queries,
            mode
        );
        println!("nDCG@10   {:.4}", report.ndcg_at_10);
        println!("Recall@10 {:.4}", report.recall_at_10);
        println!("MRR@10    {:.4}", report.mrr_at_10);
        println!(
            "latency   p50 {:.2} ms, p99 {:.2} ms per query",
            report.p50_ms, report.p99_ms
        );
    }
    Ok(())
}
