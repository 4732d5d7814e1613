//! Data that should not be kept: each brand's `retention_days` applied by the service, and a
//! customer's conversations and tickets deleted on request.

use std::future::Future;
use std::time::Duration;

use super::{Desk, DeskError};
use crate::knowledge::is_plausible_email;
use crate::store::{now_ms, Removed, StoreError};

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

impl Desk {
    /// Deletes, for every brand with `retention_days`, the conversations and delivered tickets
    /// older than that at `now` (Unix ms). Returns what was removed, all brands together.
    pub async fn purge_expired(&self, now: i64) -> Result<Removed, StoreError> {
        let mut total = Removed::default();
        for tenant in self.pipeline.retriever().tenant_ids() {
            let Some(days) = self.pipeline.tenant(&tenant).and_then(|c| c.retention_days) else {
                continue;
            };
            let removed = self
                .store
                .purge_before(&tenant, now - i64::from(days) * DAY_MS)
                .await?;
            if removed != Removed::default() {
                tracing::info!(%tenant, days, conversations = removed.conversations,
                    messages = removed.messages, tickets = removed.tickets, "retention purge");
            }
            total += removed;
        }
        Ok(total)
    }

    /// Applies retention every `interval` until `shutdown` (every replica may: deleting what
    /// another replica already deleted removes nothing).
    pub async fn keep_retention(&self, interval: Duration, shutdown: impl Future<Output = ()>) {
        super::every(interval, shutdown, || async {
            if let Err(e) = self.purge_expired(now_ms()).await {
                tracing::warn!(error = %e, "retention purge failed; next try at the next interval");
            }
        })
        .await;
    }

    /// Deletes the conversations and tickets of the customer with this contact address, in
    /// `tenant` or every tenant.
    pub async fn delete_customer(
        &self,
        email: &str,
        tenant: Option<&str>,
    ) -> Result<Removed, DeskError> {
        if !is_plausible_email(email) {
            return Err(DeskError::Invalid(
                "email is not a valid email address".into(),
            ));
        }
        if let Some(tenant) = tenant {
            self.tenant(tenant)?;
        }
        Ok(self.store.delete_customer(email.trim(), tenant).await?)
    }
}
