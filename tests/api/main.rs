//! Integration tests: each starts the real server on port 0 with a fresh database and speaks
//! HTTP to it, on SQLite always and on PostgreSQL when `MOVIEBAG_TEST_POSTGRES_URL` is set.

mod helpers;
mod process;
mod smtp;

mod admin;
mod backup;
mod bodies;
mod browse;
mod claims;
mod cli;
mod completion;
mod conditional;
mod documents;
mod durability;
mod errors;
mod headers;
mod health_and_docs;
mod hostile_clients;
mod import;
mod invisible;
mod leftovers;
mod library;
mod listing;
mod login;
mod movies;
mod operations;
mod outbox;
mod overload;
mod ownership;
mod password_races;
mod password_reset;
mod passwords;
mod posters;
mod rate_limits;
mod record;
mod scale_out;
mod security;
mod security_log;
mod sessions;
mod shared_limits;
mod signup;
mod sorting;
mod tokens;
mod users;
mod web;
