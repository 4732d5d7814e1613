//! The outbox worker: delivers stored tickets by email, retrying with exponential backoff while
//! the mail server is unreachable, and marking each ticket `sent` or `failed` with the last error.
//! Tickets are stored before anything is sent, so a crash or an SMTP outage loses nothing.

use lettre::message::Mailbox;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

use super::mail::{render, MailError, Mailer};
use crate::store::{now_ms, Delivery, Store, StoreError};

/// How delivery attempts are spaced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Delay after the first failure; doubled after each further failure.
    pub first_delay: Duration,
    pub max_delay: Duration,
    /// After this many failed attempts the ticket is marked `failed` (an admin can retry it).
    pub max_attempts: u32,
    /// How often the worker looks for due tickets when nothing wakes it.
    pub poll_interval: Duration,
    /// How long a worker holds the tickets it claimed before another worker (on this replica
    /// or another) may take them: far longer than sending a batch takes (SMTP times out after
    /// 15 s per ticket), so only a worker that died loses its claim.
    pub claim_lease: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            first_delay: Duration::from_secs(5),
            max_delay: Duration::from_secs(15 * 60),
            max_attempts: 20,
            poll_interval: Duration::from_secs(1),
            claim_lease: Duration::from_secs(5 * 60),
        }
    }
}

impl RetryPolicy {
    /// Delay before the next attempt after `failures` failed attempts (1 = first failure).
    pub fn delay(&self, failures: u32) -> Duration {
        let factor = 2u32.saturating_pow(failures.saturating_sub(1).min(20));
        self.first_delay.saturating_mul(factor).min(self.max_delay)
    }
}

/// Tickets one claim takes: small, so a batch is sent well inside the claim's lease.
const CLAIM_BATCH: u32 = 10;

/// Delivers due tickets; `wake()` after storing a ticket makes it try at once.
pub struct Outbox {
    store: Arc<dyn Store>,
    mailer: Arc<dyn Mailer>,
    from: Mailbox,
    policy: RetryPolicy,
    wake: Notify,
}

impl Outbox {
    pub fn new(
        store: Arc<dyn Store>,
        mailer: Arc<dyn Mailer>,
        from: Mailbox,
        policy: RetryPolicy,
    ) -> Self {
        Self {
            store,
            mailer,
            from,
            policy,
            wake: Notify::new(),
        }
    }

    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// One pass: claims due tickets a batch at a time and tries each once, until none is due.
    /// Returns how many were sent.
    pub async fn deliver_due(&self) -> Result<usize, StoreError> {
        let mut sent = 0;
        let lease = self.policy.claim_lease.as_millis() as i64;
        loop {
            let batch = self
                .store
                .claim_due_tickets(now_ms(), lease, CLAIM_BATCH)
                .await?;
            if batch.is_empty() {
                return Ok(sent);
            }
            for ticket in batch {
                sent += usize::from(self.deliver(ticket).await?);
            }
        }
    }

    /// One delivery attempt of a claimed ticket, recorded (which releases the claim). True when
    /// it was sent.
    async fn deliver(&self, ticket: crate::store::Ticket) -> Result<bool, StoreError> {
        let attachments = self.store.attachments(&ticket.id).await?;
        let result = match render(&ticket, &attachments, &self.from) {
            Ok(email) => self.mailer.send(&ticket.id, &email).await,
            Err(e) => Err(e),
        };
        let failures = ticket.attempts + 1;
        let delivery = match result {
            Ok(()) => Delivery::Sent,
            Err(MailError::Permanent(error)) => Delivery::Failed { error },
            Err(MailError::Transient(error)) if failures >= self.policy.max_attempts => {
                Delivery::Failed { error }
            }
            Err(MailError::Transient(error)) => Delivery::Retry {
                error,
                at: now_ms() + self.policy.delay(failures).as_millis() as i64,
            },
        };
        let sent = delivery == Delivery::Sent;
        if sent {
            tracing::info!(ticket = %ticket.id, tenant = %ticket.content.tenant, "handoff email sent");
        } else {
            tracing::warn!(ticket = %ticket.id, attempt = failures, "handoff email not delivered yet");
        }
        self.store
            .record_delivery(&ticket.id, delivery, now_ms())
            .await?;
        Ok(sent)
    }

    /// Runs until `shutdown` completes, waking on [`Outbox::wake`] or every poll interval.
    pub async fn run(self: Arc<Self>, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            if let Err(e) = self.deliver_due().await {
                tracing::error!(error = %e, "outbox pass failed");
            }
            tokio::select! {
                _ = &mut shutdown => break,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(self.policy.poll_interval) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy {
            first_delay: Duration::from_secs(5),
            max_delay: Duration::from_secs(60),
            ..RetryPolicy::default()
        };
        let secs: Vec<u64> = (1..=6).map(|n| p.delay(n).as_secs()).collect();
        assert_eq!(secs, vec![5, 10, 20, 40, 60, 60]);
        assert_eq!(p.delay(1000).as_secs(), 60);
    }
}
