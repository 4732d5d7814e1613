//! Re-indexing on every replica. A re-index asked of one replica (the admin API) is applied
//! there, then announced in the store as a new generation of its scope (one tenant, or all);
//! every replica follows the generations and, when another replica moved one, re-indexes the
//! same scope from its own knowledge folder. Replicas share the database, not their memory:
//! each holds its own indexes, built from the same knowledge.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::answer::Pipeline;
use crate::engine::{ReindexError, ReindexReport};
use crate::store::{random_id, Store, StoreError, ALL_TENANTS};

/// A re-index applied here.
#[derive(Debug)]
pub struct Reindexed {
    pub reports: Vec<ReindexReport>,
    /// False when the store could not record it: the other replicas keep their indexes until
    /// they are re-indexed themselves (or the next announced re-index).
    pub announced: bool,
}

pub struct Reindexer {
    pipeline: Arc<Pipeline>,
    store: Arc<dyn Store>,
    knowledge_dir: PathBuf,
    data_dir: PathBuf,
    /// Held while a re-index runs, so only one runs at a time on this replica.
    running: Arc<tokio::sync::Mutex<()>>,
    /// This process, as the origin of its announcements (it does not follow its own).
    replica: String,
    /// The generation of each scope this replica's indexes reflect.
    seen: Mutex<HashMap<String, i64>>,
}

impl Reindexer {
    /// A re-indexer whose indexes reflect every generation in the store now (they were just
    /// built from the knowledge folder).
    pub async fn start(
        pipeline: Arc<Pipeline>,
        store: Arc<dyn Store>,
        knowledge_dir: PathBuf,
        data_dir: PathBuf,
    ) -> Result<Self, StoreError> {
        let seen = store
            .knowledge_generations()
            .await?
            .into_iter()
            .map(|g| (g.scope, g.generation))
            .collect();
        Ok(Self {
            pipeline,
            store,
            knowledge_dir,
            data_dir,
            running: Default::default(),
            replica: random_id("r_", 8),
            seen: Mutex::new(seen),
        })
    }

    /// Re-indexes `only` (or every tenant) here and announces it to the other replicas.
    pub async fn reindex(&self, only: Option<String>) -> Result<Reindexed, ReindexError> {
        let scope = only.clone().unwrap_or_else(|| ALL_TENANTS.to_string());
        let reports = self.apply(only).await?;
        let announced = match self.store.announce_reindex(&scope, &self.replica).await {
            Ok(generation) => {
                self.mark_seen(&scope, generation);
                true
            }
            Err(e) => {
                tracing::error!(error = %e, %scope, "re-index applied here but not announced to other replicas");
                false
            }
        };
        Ok(Reindexed { reports, announced })
    }

    /// Applies every re-index another replica announced since the last look; returns how many
    /// scopes were re-indexed. A scope that fails here (a tenant this replica does not have,
    /// broken knowledge) is logged and not retried until its next announcement.
    pub async fn catch_up(&self) -> Result<usize, StoreError> {
        let generations = self.store.knowledge_generations().await?;
        let mut applied = 0;
        for g in generations {
            let behind = self
                .seen
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&g.scope)
                .is_none_or(|&seen| seen < g.generation);
            if !behind {
                continue;
            }
            if g.origin != self.replica {
                let only = (g.scope != ALL_TENANTS).then(|| g.scope.clone());
                match self.apply(only).await {
                    Ok(_) => applied += 1,
                    Err(e) => {
                        tracing::warn!(error = %e, scope = %g.scope, "re-index announced by another replica failed here")
                    }
                }
            }
            self.mark_seen(&g.scope, g.generation);
        }
        Ok(applied)
    }

    /// Follows the other replicas' re-indexes every `interval` until `shutdown`.
    pub async fn follow(self: Arc<Self>, interval: Duration, shutdown: impl Future<Output = ()>) {
        super::every(interval, shutdown, || async {
            if let Err(e) = self.catch_up().await {
                tracing::warn!(error = %e, "cannot read the other replicas' re-indexes");
            }
        })
        .await;
    }

    /// One re-index at a time; the guard moves into the blocking task, so a client that hangs
    /// up does not let a second re-index start while the first is still writing.
    async fn apply(&self, only: Option<String>) -> Result<Vec<ReindexReport>, ReindexError> {
        let guard = Arc::clone(&self.running).lock_owned().await;
        let pipeline = Arc::clone(&self.pipeline);
        let (knowledge_dir, data_dir) = (self.knowledge_dir.clone(), self.data_dir.clone());
        tokio::task::spawn_blocking(move || {
            let _guard = guard;
            crate::engine::reindex(&pipeline, &knowledge_dir, &data_dir, only.as_deref())
        })
        .await
        .map_err(|e| ReindexError::Interrupted(e.to_string()))?
    }

    fn mark_seen(&self, scope: &str, generation: i64) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let entry = seen.entry(scope.to_string()).or_insert(generation);
        *entry = (*entry).max(generation);
    }
}
