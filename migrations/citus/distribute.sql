-- Distributes the schema over a Citus cluster, sharded by user_id.
--
-- Not a migration: the runner embeds only files named V{n}__name.sql, and this
-- file is run once, by hand, on the Citus coordinator after the V-migrations
-- have created the tables there (xentree migrate against the coordinator) and
-- before any data is loaded. It is not run in CI: Citus is not installable on
-- these machines. tests/api/shard.rs checks what it relies on.
--
-- What Citus requires, and why the schema already allows it:
--
-- * Every primary key and unique constraint of a distributed table includes
--   the distribution column: uniqueness is enforced per shard only. Every
--   per-user table leads its keys with user_id (catalog test in
--   tests/api/shard.rs).
-- * Foreign keys between distributed tables include the distribution column
--   and join co-located tables; foreign keys from a distributed table to a
--   reference table are allowed, the reverse is not. Here every per-user
--   table references app_user (user_id) and quest_claim references
--   quest_template, a reference table.
-- * Queries that filter on user_id = $1 are routed to one shard (router
--   queries, the fast path); every request-path statement does
--   (pg_stat_statements test in tests/api/shard.rs). A transaction that
--   touches one user stays on one node, so it needs no two-phase commit.
-- * Co-location: tables distributed on the same column type with
--   colocate_with share shard placement, so joins and foreign keys on user_id
--   stay local (the profile read joins user_stats and app_user).
-- * No serial ids, advisory locks or session state on user tables (STYLE.md):
--   ids are the events' own or generated UUIDs.
--
-- Shard count: 4 per worker core at the largest planned size, set once
-- (changing it later means re-sharding). 64 leaves room from 2 to 16 workers;
-- citus_rebalance_start() moves shards when workers are added.

set citus.shard_count = 64;

-- Small, shared, read on every request path: copied to every node.
select create_reference_table('quest_template');
-- Credentials are looked up by key hash on every request, before the user is
-- known: a reference table (a few rows per integration, rarely written).
select create_reference_table('api_key');

-- The anchor of the co-location group: every per-user table shards with it.
select create_distributed_table('app_user', 'user_id');
select create_distributed_table('user_stats', 'user_id', colocate_with => 'app_user');
select create_distributed_table('activity_event', 'user_id', colocate_with => 'app_user');
select create_distributed_table('daily_rollup', 'user_id', colocate_with => 'app_user');
-- The function behind monthly_rollup's generated column must exist on every node.
select create_distributed_function('monthly_rollup_text(integer[], integer[], integer[], integer[], bigint[], integer[])');
select create_distributed_table('monthly_rollup', 'user_id', colocate_with => 'app_user');
select create_distributed_table('freeze_day', 'user_id', colocate_with => 'app_user');
select create_distributed_table('booster', 'user_id', colocate_with => 'app_user');
select create_distributed_table('token_ledger', 'user_id', colocate_with => 'app_user');
select create_distributed_table('quest_claim', 'user_id', colocate_with => 'app_user');

-- The username directory answers "which user is this name" and is keyed by the
-- folded name: distributed by its own key, in a co-location group of its own.
-- The public-profile read looks the name up here (one shard), then reads the
-- user by user_id (another shard): two router queries, never a join.
-- Claiming a name and writing app_user happen in one transaction that spans
-- two shards; Citus commits it with two-phase commit, which is correct but
-- slower, and acceptable for a rare write (a user sets a username once).
select create_distributed_table('username_claim', 'username_key', colocate_with => 'none');
