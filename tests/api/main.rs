//! Integration tests against the real PostgreSQL and Redis, with the real
//! server on port 0 and a fresh database per test.

mod auth;
mod concurrency;
mod helpers;
mod ingestion;
mod streaks;
mod users;
