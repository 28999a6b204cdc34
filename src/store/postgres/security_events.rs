//! Security events on PostgreSQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::PgStore;
use crate::store::sql::security_events;
use crate::store::{
    ClientInfo, EventQuery, NewSecurityEvent, SecurityEventRecord, SecurityEventStore, StoreError, StoreResult,
};

fn event_from_row(row: &PgRow) -> Result<SecurityEventRecord, StoreError> {
    Ok(SecurityEventRecord {
        id: row.try_get("id")?,
        kind: row.try_get("kind")?,
        at: row.try_get("at")?,
        client: ClientInfo { ip: row.try_get("ip")?, user_agent: row.try_get("user_agent")? },
        occurrences: row.try_get("occurrences")?,
    })
}

/// Writes `event` on `db`, inside the caller's transaction when it has one.
pub(super) async fn insert_event(db: &mut PgConnection, event: &NewSecurityEvent) -> StoreResult<()> {
    sqlx::query(security_events::RECORD_EVENT.postgres())
        .bind(&event.id)
        .bind(&event.user_id)
        .bind(event.kind)
        .bind(event.at)
        .bind(&event.client.ip)
        .bind(&event.client.user_agent)
        .bind(&event.fold_key)
        .execute(db)
        .await?;
    Ok(())
}

#[async_trait]
impl SecurityEventStore for PgStore {
    async fn record_event(&self, event: &NewSecurityEvent) -> StoreResult<()> {
        insert_event(&mut *self.pool.acquire().await?, event).await
    }

    async fn security_events(&self, query: &EventQuery) -> StoreResult<Vec<SecurityEventRecord>> {
        let limit = i64::from(query.limit);
        let rows = match &query.after {
            None => {
                sqlx::query(security_events::FIRST_PAGE.postgres())
                    .bind(&query.user_id)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?
            }
            Some(after) => {
                sqlx::query(security_events::PAGE_AFTER.postgres())
                    .bind(&query.user_id)
                    .bind(limit)
                    .bind(after.at)
                    .bind(&after.id)
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        rows.iter().map(event_from_row).collect()
    }

    async fn prune_security_events(&self, before: DateTime<Utc>, batch: u32) -> StoreResult<u64> {
        let gone = sqlx::query(security_events::PRUNE_EVENTS.postgres())
            .bind(before)
            .bind(i64::from(batch))
            .execute(&self.pool)
            .await?;
        Ok(gone.rows_affected())
    }
}
