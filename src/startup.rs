//! The one way the service starts, for `askdesk serve` and every test that talks HTTP to it:
//! [`Application::build`] loads the tenants and their indexes, opens the store, assembles the
//! outbox, the reindexer and the handlers' state, and binds the listener;
//! [`Application::run_until_stopped`] serves and runs the background tasks (the outbox worker,
//! the re-index follower, retention, website syncs) until the shutdown signal, then lets open requests finish
//! and stops them.

use anyhow::Context as _;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::answer::Pipeline;
use crate::config::ServiceConfig;
use crate::desk::{Desk, Reindexer, Syncer};
use crate::engine::{self, EngineOptions};
use crate::escalate::Outbox;
use crate::http::{AppState, CorsPolicy, RateLimits};

/// A bound, assembled service, not yet serving.
pub struct Application {
    listener: tokio::net::TcpListener,
    state: AppState,
    follow_interval: Duration,
    retention_interval: Duration,
    sync_interval: Duration,
}

/// The tenants of `config.knowledge` with their indexes (built or brought up to date in
/// `config.data`), and the LLM writer when one is configured. Blocking: it may embed documents.
pub fn load_pipeline(config: &ServiceConfig) -> anyhow::Result<Pipeline> {
    let mut options = EngineOptions::for_service(config, true);
    options.embedder = crate::embed::EmbedderConfig::throughput_from_env();
    let engine = engine::open_reporting(&options, None)?;
    if engine.tenants.is_empty() {
        anyhow::bail!(
            "no tenant could be loaded from {}",
            config.knowledge.display()
        );
    }
    let pipeline = engine
        .pipeline()
        .with_queue_timeout(Duration::from_millis(config.answers.queue_timeout_ms));
    Ok(
        match engine::generator(&config.llm, std::path::Path::new("prompts"))? {
            Some(generator) => pipeline.with_generator(generator),
            None => pipeline,
        },
    )
}

impl Application {
    /// Loads the pipeline from `config` ([`load_pipeline`], on a blocking thread) and
    /// assembles the service around it.
    pub async fn build(config: &ServiceConfig) -> anyhow::Result<Self> {
        let owned = config.clone();
        let pipeline = tokio::task::spawn_blocking(move || load_pipeline(&owned)).await??;
        Self::build_with_pipeline(config, Arc::new(pipeline)).await
    }

    /// The service around an already loaded pipeline (tests share one across many apps, since
    /// loading the model is the slow part): the store of `database_url`, the outbox with its
    /// mailer and retry policy, the keys, CORS and rate limits, and the bound listener
    /// (`bind` may name port 0).
    pub async fn build_with_pipeline(
        config: &ServiceConfig,
        pipeline: Arc<Pipeline>,
    ) -> anyhow::Result<Self> {
        let store = crate::store::open(config.database_url().expose()).await?;
        let mailer =
            crate::escalate::mailer(&config.smtp, &config.data).map_err(anyhow::Error::msg)?;
        let from = crate::escalate::from_address(&config.smtp).map_err(anyhow::Error::msg)?;
        let outbox = Arc::new(Outbox::new(
            Arc::clone(&store),
            mailer,
            from,
            config.outbox.retry_policy(),
        ));
        let reindexer = Reindexer::start(
            Arc::clone(&pipeline),
            Arc::clone(&store),
            config.knowledge.clone(),
            config.data.clone(),
        )
        .await?;
        let reindexer = Arc::new(reindexer);
        let syncer = Syncer {
            reindexer: Arc::clone(&reindexer),
            store: Arc::clone(&store),
            knowledge_dir: config.knowledge.clone(),
        };
        let state = AppState {
            desk: Desk {
                pipeline,
                store,
                outbox,
            },
            reindexer,
            syncer: Arc::new(syncer),
            metrics: Default::default(),
            keys: Arc::new(config.access_keys()),
            cors: CorsPolicy::new(&config.cors),
            limits: Arc::new(RateLimits::new(&config.rate_limit)),
            web_dir: config.web.clone(),
            data_dir: config.data.clone(),
        };
        let bind = &config.bind;
        let listener = tokio::net::TcpListener::bind(bind)
            .await
            .with_context(|| format!("cannot listen on {bind}"))?;
        let millis = |ms: u64| Duration::from_millis(ms.max(1));
        Ok(Self {
            listener,
            state,
            follow_interval: millis(config.replicas.follow_interval_ms),
            retention_interval: millis(config.retention.interval_ms),
            sync_interval: millis(config.sync.check_interval_ms),
        })
    }

    /// The address the listener is bound to.
    pub fn address(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound TCP listener has an address")
    }

    pub fn port(&self) -> u16 {
        self.address().port()
    }

    /// What the handlers run on (tests read the store through it).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves, runs the outbox worker, applies retention, syncs the brands' websites on their
    /// schedule and follows the other replicas' re-indexes until `shutdown` completes; then open requests finish and the background
    /// tasks stop (the worker between two deliveries).
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let until_stopped = move || {
            let mut stopped = stopped.clone();
            async move {
                let _ = stopped.wait_for(|s| *s).await;
            }
        };
        let outbox = Arc::clone(&self.state.desk.outbox);
        let worker = tokio::spawn(outbox.run(until_stopped()));
        let reindexer = Arc::clone(&self.state.reindexer);
        let follower = tokio::spawn(reindexer.follow(self.follow_interval, until_stopped()));
        let desk = self.state.desk.clone();
        let retention_interval = self.retention_interval;
        let retention_stopped = until_stopped();
        let retention = tokio::spawn(async move {
            desk.keep_retention(retention_interval, retention_stopped)
                .await
        });
        let syncer = Arc::clone(&self.state.syncer);
        let sync_interval = self.sync_interval;
        let sync_stopped = until_stopped();
        let syncs =
            tokio::spawn(async move { syncer.keep_synced(sync_interval, sync_stopped).await });
        let served = crate::http::serve(self.listener, self.state, shutdown).await;
        let _ = stop.send(true);
        let _ = tokio::join!(worker, follower, retention, syncs);
        served
    }
}
