//! The store for several replicas: one PostgreSQL database that every `askdesk serve` shares,
//! migrations from `migrations/postgres/` applied at open. A `search_path` in the URL
//! (`?options[search_path]=NAME`) puts askdesk's tables in a schema of their own.

use sqlx::postgres::{PgPoolOptions, PgRow};
use sqlx::PgPool;
use std::time::Duration;

pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://…`) and brings the schema up to date. Replicas starting
    /// together are safe: sqlx serialises migrations with an advisory lock.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(5))
            .connect(url)
            .await?;
        sqlx::migrate!("./migrations/postgres")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Database(e.to_string()))?;
        Ok(Self { pool })
    }
}

// Workers on other replicas skip the tickets one has locked instead of waiting for them.
super::sql::sql_store!(PostgresStore, PgRow, lock = " FOR UPDATE SKIP LOCKED");
