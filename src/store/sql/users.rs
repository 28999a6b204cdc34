//! Accounts.

use crate::store::statement::Sql;

/// The columns a [`User`](crate::domain::User) is read from; `user_from_row` reads them by name.
macro_rules! user_columns {
    () => {
        "id, email, role, created_at, email_verified"
    };
}

/// `$7` whether the address counts as verified already (a new signup's does not).
pub static INSERT_USER: Sql = Sql::new(
    "INSERT INTO users (id, email, email_lower, password_hash, role, created_at, email_verified)
     VALUES ($1, $2, $3, $4, $5, $6, $7)",
);

/// `$1` the address folded ([`Email::normalized`](crate::domain::Email::normalized)).
pub static USER_WITH_HASH_BY_EMAIL: Sql =
    Sql::new(concat!("SELECT ", user_columns!(), ", password_hash FROM users WHERE email_lower = $1"));

pub static USER_WITH_HASH_BY_ID: Sql =
    Sql::new(concat!("SELECT ", user_columns!(), ", password_hash FROM users WHERE id = $1"));

pub static LIST_USERS: Sql = Sql::new(concat!("SELECT ", user_columns!(), " FROM users ORDER BY created_at, id"));

pub static USER_EXISTS: Sql = Sql::new("SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)");

/// The condition under which a user may lose the admin role (or be deleted): they are no admin,
/// or another admin remains. SQLite's single writer makes the count and the change one step;
/// PostgreSQL locks the admins' rows first.
macro_rules! keeps_an_admin {
    () => {
        "(role <> 'admin' OR (SELECT count(*) FROM users WHERE role = 'admin') > 1)"
    };
}

/// `$1` the new role, `$2` the user.
pub static SET_ROLE: Sql = Sql::new(concat!(
    "UPDATE users SET role = $1 WHERE id = $2 AND (",
    keeps_an_admin!(),
    " OR $1 = 'admin') RETURNING ",
    user_columns!()
));

/// Sessions, tokens and movies go by the foreign keys' cascades.
pub static DELETE_USER: Sql = Sql::new(concat!("DELETE FROM users WHERE id = $1 AND ", keeps_an_admin!()));

/// `$1` new, `$2` user, `$3` old: only while the hash is still the one the login verified.
pub static REHASH_PASSWORD: Sql = Sql::new("UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash = $3");

/// A password change or a completed reset, together with [`VOID_RESET_TOKENS`],
/// [`REVOKE_SESSIONS_OF`](super::sessions::REVOKE_SESSIONS_OF) and
/// [`FORGET_FAILURES`](super::limits::FORGET_FAILURES), in one transaction.
pub static SET_PASSWORD_HASH: Sql = Sql::new("UPDATE users SET password_hash = $1 WHERE id = $2");

/// `$1` now, `$2` user: a pending reset token dies with the password it was meant to replace.
pub static VOID_RESET_TOKENS: Sql =
    Sql::new("UPDATE reset_tokens SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL");

/// `$1` the folded address.
pub static COUNT_USERS_OTHER_THAN: Sql = Sql::new("SELECT count(*) FROM users WHERE email_lower <> $1");

#[cfg(test)]
#[cfg(test)]
pub static ALL: &[&Sql] = &[
    &INSERT_USER,
    &USER_WITH_HASH_BY_EMAIL,
    &USER_WITH_HASH_BY_ID,
    &LIST_USERS,
    &USER_EXISTS,
    &SET_ROLE,
    &DELETE_USER,
    &REHASH_PASSWORD,
    &SET_PASSWORD_HASH,
    &VOID_RESET_TOKENS,
    &COUNT_USERS_OTHER_THAN,
];
