//! # warden-server
//!
//! The Warden authorization server: users, roles, OAuth 2.0 tokens and API keys, on an
//! embedded SQLite file or on PostgreSQL. A thin binary (`src/main.rs`) over:
//!
//! - [`config`]: settings from a TOML file and `WARDEN_*` variables;
//! - [`domain`]: what the server does (accounts, clients, grants, keys, audit);
//! - [`http`]: the API, thin handlers over the domain;
//! - [`storage`]: one interface, SQLite and PostgreSQL implementations;
//! - [`cli`] and [`server`]: the commands and `warden serve`;
//! - [`tls`]: HTTPS from `tls_cert`/`tls_key`, reloaded when the files change.

pub mod cli;
pub mod config;
pub mod domain;
pub mod http;
pub mod server;
pub mod storage;
pub mod tls;
