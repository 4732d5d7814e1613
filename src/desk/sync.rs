//! Website syncs inside the service: on the schedule of each source's `every`, and on demand
//! from the admin API. A sync that changed pages re-indexes its tenant through the
//! [`Reindexer`], which announces it to the other replicas; every sync is recorded in the store.
//!
//! On several replicas each one looks at the schedule, and the recorded syncs in the shared
//! store tell it whether another one already synced the tenant; the synced folder's lock keeps
//! two replicas sharing one knowledge folder from syncing it at the same time.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::Reindexer;
use crate::store::{now_ms, Store};
use crate::sync::{SyncError, SyncOptions, SyncReport};

/// Runs the tenants' website syncs in the service.
pub struct Syncer {
    pub reindexer: Arc<Reindexer>,
    pub store: Arc<dyn Store>,
    pub knowledge_dir: PathBuf,
}

impl Syncer {
    /// Syncs `tenant`, re-indexes it when pages changed and records the sync (a dry run is
    /// neither applied nor recorded).
    pub async fn sync(&self, tenant: &str, options: SyncOptions) -> Result<SyncReport, SyncError> {
        let started_at = now_ms();
        let report = crate::sync::sync_tenant(&self.knowledge_dir, tenant, options).await?;
        if options.dry_run {
            return Ok(report);
        }
        if report.applied {
            if let Err(e) = self.reindexer.reindex(Some(tenant.to_string())).await {
                tracing::error!(error = %e, tenant, "synced pages could not be indexed; the old index keeps serving");
            }
        }
        if let Err(e) = self.store.record_sync(&report.record(started_at)).await {
            tracing::warn!(error = %e, tenant, "sync not recorded");
        }
        for error in &report.errors {
            tracing::warn!(tenant, url = %error.url, message = %error.message, "sync: page kept or left out");
        }
        Ok(report)
    }

    /// Looks every `interval` for tenants whose sources are due (per `every`, from the last
    /// recorded sync) and syncs them, until `shutdown`.
    pub async fn keep_synced(&self, interval: Duration, shutdown: impl Future<Output = ()>) {
        super::every(interval, shutdown, || async {
            for (tenant, sources) in crate::sync::tenants_with_sources(&self.knowledge_dir) {
                let Some(every) = sources.iter().filter_map(|s| s.interval().ok().flatten()).min()
                else {
                    continue;
                };
                match self.store.syncs(Some(&tenant), 1).await {
                    Ok(last) if last.first().is_some_and(|s| now_ms() - s.started_at < every.as_millis() as i64) => continue,
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, tenant, "cannot read the recorded syncs; the schedule waits");
                        continue;
                    }
                }
                match self.sync(&tenant, SyncOptions::default()).await {
                    Ok(report) => tracing::info!(
                        tenant,
                        added = report.added.len(),
                        changed = report.changed.len(),
                        removed = report.removed.len(),
                        errors = report.errors.len(),
                        refused = report.refused.as_deref().unwrap_or(""),
                        "scheduled sync"
                    ),
                    Err(e) => tracing::warn!(error = %e, tenant, "scheduled sync failed"),
                }
            }
        })
        .await;
    }
}
