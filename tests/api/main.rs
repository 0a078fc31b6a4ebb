//! Integration tests against the real PostgreSQL and Redis, with the real
//! server on port 0 and a fresh database per test.

mod auth;
mod cache;
mod cluster;
mod concurrency;
mod envoy;
mod grpc_web;
mod helpers;
mod ingestion;
mod quests;
mod reads;
mod reliability_input;
mod reliability_postgres;
mod reliability_redis;
mod reliability_security;
mod reliability_shutdown;
mod reliability_storm;
mod replicas;
mod rest;
mod services;
mod shard;
mod streaks;
mod users;
mod widgets;
