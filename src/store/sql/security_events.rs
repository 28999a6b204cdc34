//! Security events: what happened to an account, newest first.

use crate::store::statement::Sql;

/// `$1` id, `$2` user, `$3` kind, `$4` at, `$5` ip, `$6` user agent, `$7` fold key. A repeat in
/// a folded bucket (same user and key) counts on the bucket's row; its first time, address and
/// agent stay.
pub static RECORD_EVENT: Sql = Sql::new(
    "INSERT INTO security_events (id, user_id, kind, at, ip, user_agent, fold_key)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (user_id, fold_key) DO UPDATE SET occurrences = security_events.occurrences + 1",
);

/// `$1` user, `$2` page size: the newest events.
pub static FIRST_PAGE: Sql = Sql::new(
    "SELECT id, kind, at, ip, user_agent, occurrences FROM security_events
     WHERE user_id = $1 ORDER BY at DESC, id DESC LIMIT $2",
);

/// `$1` user, `$2` page size, `$3` and `$4` the (at, id) the previous page ended with.
pub static PAGE_AFTER: Sql = Sql::new(
    "SELECT id, kind, at, ip, user_agent, occurrences FROM security_events
     WHERE user_id = $1 AND (at < $3 OR (at = $3 AND id < $4))
     ORDER BY at DESC, id DESC LIMIT $2",
);

/// `$1` before, `$2` batch: events past their retention.
pub static PRUNE_EVENTS: Sql = Sql::new(
    "DELETE FROM security_events WHERE id IN
        (SELECT id FROM security_events WHERE at < $1 LIMIT $2)",
);

#[cfg(test)]
pub static ALL: &[&Sql] = &[&RECORD_EVENT, &FIRST_PAGE, &PAGE_AFTER, &PRUNE_EVENTS];
