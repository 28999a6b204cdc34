//! movie-bag: the movie catalogue REST API of the Flask "movie-bag" tutorial, rebuilt in Rust.
//!
//! Layers, outside in: [`http`] (routes, extractors, error mapping) -> [`service`] (rules) ->
//! [`store`] (a trait per aggregate, each implemented for SQLite and PostgreSQL). Beside them:
//! [`auth`] (passwords, tokens), [`mail`], [`config`], [`telemetry`].

pub mod auth;
pub mod backup;
pub mod client_presence;
pub mod config;
pub mod domain;
pub mod files;
pub mod http;
pub mod lifecycle;
pub mod mail;
pub mod metrics;
pub mod mongo_export;
pub mod os;
pub mod posters;
pub mod service;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
