//! Assembling a searchable engine from a knowledge folder: load tenants, open or build their
//! indexes, install them in a [`Retriever`]. Used by the CLI, the benchmarks and the tests.

use std::path::PathBuf;
use std::sync::Arc;

use crate::embed::{Embedder, EmbedderConfig, FastEmbedder};
use crate::index::{BuildReport, IndexSettings, Indexer};
use crate::knowledge::{self, ChunkOptions, KnowledgeError};
use crate::retrieve::{RetrievalSettings, Retriever};

/// Where things are and how to treat them.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    pub knowledge_dir: PathBuf,
    /// None: indexes stay in memory.
    pub data_dir: Option<PathBuf>,
    pub embedder: EmbedderConfig,
    pub retrieval: RetrievalSettings,
    pub chunk: ChunkOptions,
    pub progress: bool,
}

impl EngineOptions {
    pub fn new(knowledge_dir: impl Into<PathBuf>, data_dir: Option<PathBuf>) -> Self {
        Self {
            knowledge_dir: knowledge_dir.into(),
            data_dir,
            embedder: EmbedderConfig::from_env(),
            retrieval: RetrievalSettings::from_env(),
            chunk: ChunkOptions::default(),
            progress: false,
        }
    }
}

/// The outcome of loading: the retriever plus what was built and what was wrong.
pub struct Engine {
    pub retriever: Arc<Retriever>,
    pub reports: Vec<BuildReport>,
    /// One line per skipped tenant or document.
    pub problems: Vec<String>,
    pub tenants: Vec<knowledge::Tenant>,
}

impl Engine {
    /// An answer pipeline over every loaded tenant.
    pub fn pipeline(&self) -> crate::answer::Pipeline {
        let pipeline = crate::answer::Pipeline::new(Arc::clone(&self.retriever));
        for tenant in &self.tenants {
            pipeline.set_tenant(&tenant.id, tenant.config.clone());
        }
        pipeline
    }
}

/// The LLM answerer of the `[llm]` settings with the templates of `prompts_dir`, or None when
/// no LLM is configured. A template that does not compile is an error naming its file and line.
pub fn generator(
    settings: &crate::config::LlmSettings,
    prompts_dir: &std::path::Path,
) -> anyhow::Result<Option<crate::answer::Generator>> {
    let Some(config) = settings.client_config() else {
        return Ok(None);
    };
    let prompts = Arc::new(crate::prompts::Prompts::load(prompts_dir).map_err(anyhow::Error::msg)?);
    let llm = Arc::new(crate::llm::OpenAiLlm::new(config.clone()));
    Ok(Some(crate::answer::Generator::new(llm, prompts, &config)))
}

/// Loads the embedding model named in `config`.
pub fn load_embedder(config: &EmbedderConfig) -> anyhow::Result<Arc<dyn Embedder>> {
    Ok(Arc::new(FastEmbedder::load(config)?))
}

/// Loads and indexes the tenants (all of them when `only` is None). Blocking.
///
/// A tenant whose `tenant.toml` is broken is skipped with a problem line; asking for a tenant
/// that does not exist is an error.
pub fn open(
    options: &EngineOptions,
    embedder: Arc<dyn Embedder>,
    only: Option<&[String]>,
) -> anyhow::Result<Engine> {
    let ids = match only {
        Some(ids) => ids.to_vec(),
        None => knowledge::tenant_ids(&options.knowledge_dir)?,
    };
    let retriever = Arc::new(Retriever::new(Arc::clone(&embedder), options.retrieval));
    let mut indexer = Indexer::new(options.data_dir.clone(), embedder, IndexSettings::default())
        .with_progress(options.progress);
    let mut engine = Engine {
        retriever,
        reports: Vec::new(),
        problems: Vec::new(),
        tenants: Vec::new(),
    };
    for id in ids {
        let (tenant, warnings) =
            match knowledge::load_tenant(&options.knowledge_dir, &id, options.chunk) {
                Ok(loaded) => loaded,
                Err(e @ KnowledgeError::UnknownTenant(_)) if only.is_some() => return Err(e.into()),
                Err(e) => {
                    engine.problems.push(format!("skipped tenant {id}: {e}"));
                    continue;
                }
            };
        engine
            .problems
            .extend(warnings.iter().map(|w| format!("skipped document {w}")));
        engine.tenants.push(tenant.clone());
        let (index, report) = indexer.index(tenant)?;
        engine.retriever.install(index);
        engine.reports.push(report);
    }
    Ok(engine)
}
