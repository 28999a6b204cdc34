//! Security events on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

use super::{SqliteStore, micros, time_of};
use crate::store::sql::security_events;
use crate::store::{ClientInfo, EventQuery, NewSecurityEvent, SecurityEventRecord, SecurityEventStore, StoreResult};

fn event_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<SecurityEventRecord> {
    Ok(SecurityEventRecord {
        id: row.get("id")?,
        kind: row.get("kind")?,
        at: time_of(row, "at")?,
        client: ClientInfo { ip: row.get("ip")?, user_agent: row.get("user_agent")? },
        occurrences: row.get("occurrences")?,
    })
}

/// Writes `event` on `db`, inside the caller's transaction when it has one.
pub(super) fn insert_event(db: &Connection, event: &NewSecurityEvent) -> rusqlite::Result<()> {
    db.prepare_cached(security_events::RECORD_EVENT.sqlite())?.execute(params![
        event.id,
        event.user_id,
        event.kind,
        micros(event.at),
        event.client.ip,
        event.client.user_agent,
        event.fold_key
    ])?;
    Ok(())
}

#[async_trait]
impl SecurityEventStore for SqliteStore {
    async fn record_event(&self, event: &NewSecurityEvent) -> StoreResult<()> {
        let event = event.clone();
        self.engine.write(move |db| Ok(insert_event(db, &event)?)).await
    }

    async fn security_events(&self, query: &EventQuery) -> StoreResult<Vec<SecurityEventRecord>> {
        let query = query.clone();
        self.engine
            .read(move |db| match &query.after {
                None => db
                    .prepare_cached(security_events::FIRST_PAGE.sqlite())?
                    .query_map(params![query.user_id, query.limit], event_from_row)?
                    .collect(),
                Some(after) => db
                    .prepare_cached(security_events::PAGE_AFTER.sqlite())?
                    .query_map(params![query.user_id, query.limit, micros(after.at), after.id], event_from_row)?
                    .collect(),
            })
            .await
    }

    async fn prune_security_events(&self, before: DateTime<Utc>, batch: u32) -> StoreResult<u64> {
        let before = micros(before);
        self.engine
            .write(move |db| {
                let gone =
                    db.prepare_cached(security_events::PRUNE_EVENTS.sqlite())?.execute(params![before, batch])?;
                Ok(gone as u64)
            })
            .await
    }
}
