//! The limits' counters on SQLite: each a statement on the one writer, which also makes a
//! login's two counters one hand-off.

use async_trait::async_trait;
use rusqlite::{Connection, params};

use super::SqliteStore;
use crate::store::limits::{CheckReservation, LoginReservation, LoginReserved, PasswordCheck, WindowCount, WindowHit};
use crate::store::sql::limits::{COUNT_HIT, PRUNE_ACCOUNTS, PRUNE_WINDOWS, RESERVE_CHECK};
use crate::store::{LimitStore, StoreResult};

fn count_hit(db: &Connection, hit: &WindowHit) -> rusqlite::Result<WindowCount> {
    db.prepare_cached(COUNT_HIT.sqlite())?.query_row(params![hit.key, hit.now_ms, hit.window_ms], |row| {
        Ok(WindowCount { hits: row.get(0)?, window_start_ms: row.get(1)? })
    })
}

fn reserve_check(db: &Connection, check: &PasswordCheck) -> rusqlite::Result<CheckReservation> {
    let values =
        params![check.key, check.now_ms, check.client_pattern, check.limit, check.hard_limit, check.backoff_ms];
    db.prepare_cached(RESERVE_CHECK.sqlite())?.query_row(values, |row| {
        Ok(CheckReservation {
            allowed: row.get(0)?,
            failures: row.get(1)?,
            last_at_ms: row.get(2)?,
            known_clients: row.get(3)?,
        })
    })
}

#[async_trait]
impl LimitStore for SqliteStore {
    async fn count_hit(&self, hit: &WindowHit) -> StoreResult<WindowCount> {
        let hit = hit.clone();
        self.engine.write(move |db| Ok(count_hit(db, &hit)?)).await
    }

    async fn reserve_check(&self, check: &PasswordCheck) -> StoreResult<CheckReservation> {
        let check = check.clone();
        self.engine.write(move |db| Ok(reserve_check(db, &check)?)).await
    }

    async fn reserve_login(&self, login: &LoginReservation) -> StoreResult<LoginReserved> {
        let login = login.clone();
        self.engine
            .write(move |db| {
                let mut reserved = LoginReserved::default();
                if let Some((hit, limit)) = &login.address {
                    let count = count_hit(db, hit)?;
                    reserved.address = Some(count);
                    if count.hits > *limit {
                        return Ok(reserved);
                    }
                }
                if let Some(check) = &login.check {
                    reserved.check = Some(reserve_check(db, check)?);
                }
                Ok(reserved)
            })
            .await
    }

    async fn prune_limits(&self, windows_before_ms: i64, accounts_before_ms: i64, batch: u32) -> StoreResult<u64> {
        self.engine
            .write(move |db| {
                let windows = db.prepare_cached(PRUNE_WINDOWS.sqlite())?.execute(params![windows_before_ms, batch])?;
                let accounts =
                    db.prepare_cached(PRUNE_ACCOUNTS.sqlite())?.execute(params![accounts_before_ms, batch])?;
                Ok((windows + accounts) as u64)
            })
            .await
    }
}
