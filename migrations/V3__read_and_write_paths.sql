-- Learning-time analytics reads only days with sessions, and only two
-- columns of them: a partial covering index serves them without the heap.
create index daily_rollup_sessions on daily_rollup (user_id, local_date)
    include (learning_seconds, sessions) where sessions > 0;

-- The end of the user's last booster: ingestion looks boosters up only for
-- events that happened before it.
alter table user_stats add column boosted_until timestamptz;
update user_stats s set boosted_until = b.ends_at
    from (select user_id, max(ends_at) as ends_at from booster group by user_id) b
    where b.user_id = s.user_id;
