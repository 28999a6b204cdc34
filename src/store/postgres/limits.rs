//! The limits' counters on PostgreSQL. Each counter is one statement, and a login's two are one
//! statement too: the account's check is reserved only when the address's count allows it.

use std::sync::LazyLock;

use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::PgStore;
use crate::store::limits::{CheckReservation, LoginReservation, LoginReserved, PasswordCheck, WindowCount, WindowHit};
use crate::store::sql::limits::{COUNT_HIT, PRUNE_ACCOUNTS, PRUNE_WINDOWS, RESERVE_CHECK};
use crate::store::statement::Sql;
use crate::store::{LimitStore, StoreResult};

/// [`COUNT_HIT`] and then [`RESERVE_CHECK`] in one statement, the second fed by the first:
/// `$1`-`$6` as in [`RESERVE_CHECK`], `$7` the address's key, `$8` its window, `$9` its limit.
pub(super) static RESERVE_LOGIN: LazyLock<Sql> = LazyLock::new(|| {
    let address = COUNT_HIT.postgres().replace("$3", "$8").replace("$1", "$7");
    let check = RESERVE_CHECK.postgres().replace(
        "VALUES ($1, $2, 1, $2, $2)",
        "SELECT $1::text, $2::bigint, 1, $2::bigint, $2::bigint FROM address WHERE address.hits <= $9::bigint",
    );
    // Built once per process from the two statements it joins, and kept for good.
    Sql::new(
        format!(
            "WITH address AS ({address}), account AS ({check})
             SELECT address.hits, address.window_start, account.allowed, account.hits AS failures, account.last_at,
                    account.known_clients
             FROM address LEFT JOIN account ON TRUE"
        )
        .leak(),
    )
});

fn count_from(row: &PgRow) -> sqlx::Result<WindowCount> {
    let hits: i32 = row.try_get("hits")?;
    Ok(WindowCount { hits: hits.max(0) as u32, window_start_ms: row.try_get("window_start")? })
}

fn reservation_from(row: &PgRow, failures: &str) -> sqlx::Result<CheckReservation> {
    let count: i32 = row.try_get(failures)?;
    Ok(CheckReservation {
        allowed: row.try_get("allowed")?,
        failures: count.max(0) as u32,
        last_at_ms: row.try_get("last_at")?,
        known_clients: row.try_get("known_clients")?,
    })
}

fn bind_check<'q>(
    query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    check: &'q PasswordCheck,
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    query
        .bind(&check.key)
        .bind(check.now_ms)
        .bind(&check.client_pattern)
        .bind(i64::from(check.limit))
        .bind(i64::from(check.hard_limit))
        .bind(check.backoff_ms)
}

#[async_trait]
impl LimitStore for PgStore {
    async fn count_hit(&self, hit: &WindowHit) -> StoreResult<WindowCount> {
        let row = sqlx::query(COUNT_HIT.postgres())
            .bind(&hit.key)
            .bind(hit.now_ms)
            .bind(hit.window_ms)
            .fetch_one(&self.pool)
            .await?;
        Ok(count_from(&row)?)
    }

    async fn reserve_check(&self, check: &PasswordCheck) -> StoreResult<CheckReservation> {
        let row = bind_check(sqlx::query(RESERVE_CHECK.postgres()), check).fetch_one(&self.pool).await?;
        Ok(reservation_from(&row, "hits")?)
    }

    async fn reserve_login(&self, login: &LoginReservation) -> StoreResult<LoginReserved> {
        match (&login.address, &login.check) {
            (Some((hit, limit)), Some(check)) => {
                let row = bind_check(sqlx::query(RESERVE_LOGIN.postgres()), check)
                    .bind(&hit.key)
                    .bind(hit.window_ms)
                    .bind(i64::from(*limit))
                    .fetch_one(&self.pool)
                    .await?;
                let reserved: Option<bool> = row.try_get("allowed")?;
                let check = match reserved {
                    Some(_) => Some(reservation_from(&row, "failures")?),
                    None => None,
                };
                Ok(LoginReserved { address: Some(count_from(&row)?), check })
            }
            (Some((hit, _)), None) => Ok(LoginReserved { address: Some(self.count_hit(hit).await?), check: None }),
            (None, Some(check)) => Ok(LoginReserved { address: None, check: Some(self.reserve_check(check).await?) }),
            (None, None) => Ok(LoginReserved::default()),
        }
    }

    async fn prune_limits(&self, windows_before_ms: i64, accounts_before_ms: i64, batch: u32) -> StoreResult<u64> {
        let windows = sqlx::query(PRUNE_WINDOWS.postgres())
            .bind(windows_before_ms)
            .bind(i64::from(batch))
            .execute(&self.pool)
            .await?;
        let accounts = sqlx::query(PRUNE_ACCOUNTS.postgres())
            .bind(accounts_before_ms)
            .bind(i64::from(batch))
            .execute(&self.pool)
            .await?;
        Ok(windows.rows_affected() + accounts.rows_affected())
    }
}
