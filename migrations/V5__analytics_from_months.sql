-- Learning-time analytics now reads the monthly roll-ups (a row per month
-- instead of a row per day with sessions): the partial index that served it
-- only costs ingestion a write.
drop index daily_rollup_sessions;
