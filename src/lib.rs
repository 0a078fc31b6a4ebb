//! Xentree profile and analytics: turns learning events into XP, levels,
//! streaks, quests and learning-time analytics, and serves them over gRPC,
//! gRPC-Web and (through Envoy) REST.
//!
//! # Layout
//!
//! - [`config`], [`server`], [`telemetry`], [`state`]: start-up, layers, logs and metrics.
//! - [`auth`]: JWTs and API keys become a caller with scopes, in one layer.
//! - [`db`], [`cache`]: the PostgreSQL pool and migrations; Redis cache-aside.
//! - [`time`]: user time zones, local dates, the injectable clock.
//! - One module per concept, each with `rules.rs` (pure logic), `store.rs`
//!   (SQL) and `grpc.rs` (the adapter): [`activity`] (ingestion), [`user`],
//!   [`xp`], [`streak`], [`quest`], [`analytics`]; [`token`] is the ledger.
//! - [`demo`]: the demo learners `xentree demo-data` loads for `scripts/dev`.

pub mod activity;
pub mod analytics;
pub mod auth;
pub mod cache;
pub mod config;
pub mod db;
pub mod demo;
pub mod error;
pub mod proto;
pub mod quest;
pub mod server;
pub mod state;
pub mod streak;
pub mod telemetry;
pub mod time;
pub mod token;
pub mod user;
pub mod xp;
