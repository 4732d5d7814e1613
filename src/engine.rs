//! Assembling a searchable engine from a knowledge folder: load tenants, open or build their
//! indexes, install them in a [`Retriever`]. Used by the CLI, the benchmarks and the tests.

use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::answer::Pipeline;
use crate::embed::{Embedder, EmbedderConfig, FastEmbedder};
use crate::index::{BuildReport, IndexError, IndexSettings, Indexer};
use crate::knowledge::{self, ChunkOptions, KnowledgeError, Passage};
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
    /// Build the indexes in memory and leave the data folder's indexes as they are (its
    /// embedding cache is still used): for previews beside a running service.
    pub indexes_in_memory: bool,
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
            indexes_in_memory: false,
        }
    }

    /// The service's folders: knowledge from `config.knowledge`, indexes in `config.data`.
    pub fn for_service(config: &crate::config::ServiceConfig, progress: bool) -> Self {
        let mut options = Self::new(&config.knowledge, Some(config.data.clone()));
        options.progress = progress;
        options
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

/// [`open`] with the embedding model of `options`, each problem printed as a warning line on
/// stderr (the commands and the service's start-up report skipped tenants and documents so).
pub fn open_reporting(options: &EngineOptions, only: Option<&[String]>) -> anyhow::Result<Engine> {
    let embedder = load_embedder(&options.embedder)?;
    let engine = open(options, embedder, only)?;
    for problem in &engine.problems {
        eprintln!("warning: {problem}");
    }
    Ok(engine)
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
    let index_dir = options
        .data_dir
        .clone()
        .filter(|_| !options.indexes_in_memory);
    let mut indexer =
        Indexer::new(index_dir, embedder, IndexSettings::default()).with_progress(options.progress);
    if let (true, Some(data)) = (options.indexes_in_memory, &options.data_dir) {
        indexer.use_vector_cache_in(data);
    }
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

/// What a re-index did for one tenant, compared with the index it replaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ReindexReport {
    pub id: String,
    pub passages: usize,
    /// Passages whose id was not in the old index (all of them for a new tenant).
    pub new: usize,
    /// Passages whose id was there with different content.
    pub changed: usize,
    /// Passages of the old index that are gone.
    pub removed: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ReindexError {
    /// The tenant asked for has no folder.
    #[error("unknown tenant {0:?}")]
    UnknownTenant(String),
    /// A tenant.toml or tenant folder is unusable; the message names the file relative to the
    /// knowledge folder.
    #[error("{0}")]
    Knowledge(String),
    #[error(transparent)]
    Index(#[from] IndexError),
    /// The re-index task panicked or was cancelled; the previous indexes stay in use.
    #[error("the re-index stopped: {0}")]
    Interrupted(String),
}

/// Re-reads the knowledge folder (every tenant, or only `only`), builds the indexes under
/// `data_dir` (only changed passages are embedded) and swaps them and the tenants' settings into
/// `pipeline`. Blocking: run it on a blocking thread.
///
/// All or nothing: every tenant is loaded and indexed before any is swapped in, so a broken
/// `tenant.toml` or a failed build leaves every old index serving. Questions being answered
/// finish on the index they started with (it is behind an `Arc`). A tenant folder that has
/// disappeared keeps its old index until the service restarts. Documents that cannot be read
/// are skipped with a warning, as at start-up.
pub fn reindex(
    pipeline: &Pipeline,
    knowledge_dir: &Path,
    data_dir: &Path,
    only: Option<&str>,
) -> Result<Vec<ReindexReport>, ReindexError> {
    let describe = |e: KnowledgeError| match e {
        KnowledgeError::UnknownTenant(id) => ReindexError::UnknownTenant(id),
        KnowledgeError::Tenant { path, message }
        | KnowledgeError::Document { path, message }
        | KnowledgeError::Folder { path, message } => ReindexError::Knowledge(format!(
            "{}: {message}",
            path.strip_prefix(knowledge_dir).unwrap_or(&path).display()
        )),
    };
    let ids = match only {
        Some(id) => vec![id.to_string()],
        None => knowledge::tenant_ids(knowledge_dir).map_err(describe)?,
    };
    let mut tenants = Vec::with_capacity(ids.len());
    for id in &ids {
        let (tenant, warnings) =
            knowledge::load_tenant(knowledge_dir, id, ChunkOptions::default()).map_err(describe)?;
        for warning in warnings {
            tracing::warn!(%warning, "skipped document");
        }
        tenants.push(tenant);
    }
    let retriever = pipeline.retriever();
    let mut indexer = Indexer::new(
        Some(data_dir.to_path_buf()),
        Arc::clone(retriever.embedder()),
        IndexSettings::default(),
    );
    let mut built = Vec::with_capacity(tenants.len());
    for tenant in tenants {
        let config = tenant.config.clone();
        let (index, _) = indexer.index(tenant)?;
        let old = retriever.tenant(&index.tenant.id);
        let report = compare(
            &index.tenant.id,
            old.as_ref().map_or(&[][..], |o| o.index.passages()),
            index.passages(),
        );
        built.push((index, config, report));
    }
    Ok(built
        .into_iter()
        .map(|(index, config, report)| {
            // The index first: a request that sees the tenant's settings finds its index.
            retriever.install(index);
            pipeline.set_tenant(&report.id, config);
            report
        })
        .collect())
}

/// Counts new, changed and removed passages between two versions of a tenant, by passage id.
fn compare(tenant: &str, old: &[Passage], new: &[Passage]) -> ReindexReport {
    let old_hashes: HashMap<&str, [u8; 32]> = old
        .iter()
        .map(|p| (p.id.as_str(), p.content_hash()))
        .collect();
    let mut report = ReindexReport {
        id: tenant.to_string(),
        passages: new.len(),
        new: 0,
        changed: 0,
        removed: 0,
    };
    for passage in new {
        match old_hashes.get(passage.id.as_str()) {
            None => report.new += 1,
            Some(hash) if *hash != passage.content_hash() => report.changed += 1,
            Some(_) => {}
        }
    }
    let new_ids: std::collections::HashSet<&str> = new.iter().map(|p| p.id.as_str()).collect();
    report.removed = old
        .iter()
        .filter(|p| !new_ids.contains(p.id.as_str()))
        .count();
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passage(id: &str, text: &str) -> Passage {
        Passage {
            id: id.into(),
            tenant: "t".into(),
            heading_path: vec!["Doc".into()],
            question: None,
            text: text.into(),
            url: None,
            kind: knowledge::DocKind::Faq,
            updated: None,
        }
    }

    #[test]
    fn compare_counts_new_changed_and_removed_passages() {
        let old = [
            passage("a", "same"),
            passage("b", "before"),
            passage("c", "gone"),
        ];
        let new = [
            passage("a", "same"),
            passage("b", "after"),
            passage("d", "fresh"),
        ];
        let report = compare("t", &old, &new);
        assert_eq!(
            report,
            ReindexReport {
                id: "t".into(),
                passages: 3,
                new: 1,
                changed: 1,
                removed: 1
            }
        );
        assert_eq!(compare("t", &[], &new).new, 3);
    }
}
