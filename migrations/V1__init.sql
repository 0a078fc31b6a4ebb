-- The whole schema. Every per-user table leads its primary key with user_id so
-- that it can be distributed by user (see migrations/README.md).

create table app_user (
    user_id         text        not null primary key,
    username        text        not null,
    email           text        not null default '',
    display_name    text        not null default '',
    timezone        text        not null,
    public_profile  boolean     not null default true,
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now()
);

-- The case-insensitive username directory. It is keyed by the folded name, not
-- by user_id: it is the one table that answers "which user is this username",
-- and it is distributed by its own key.
create table username_claim (
    username_key    text not null primary key,
    user_id         text not null
);

-- Totals and streak state, one row per user; the row every write locks first.
create table user_stats (
    user_id             text    not null primary key references app_user (user_id),
    total_xp            bigint  not null default 0 check (total_xp >= 0),
    current_streak      integer not null default 0 check (current_streak >= 0),
    longest_streak      integer not null default 0 check (longest_streak >= 0),
    last_learning_date  date,
    settled_through     date,
    freezes_available   integer not null default 0 check (freezes_available between 0 and 2),
    freezes_used        integer not null default 0 check (freezes_used >= 0),
    token_balance       bigint  not null default 0 check (token_balance >= 0)
);

-- Raw events, kept for idempotency and audit; reads never scan them.
create table activity_event (
    user_id           text        not null references app_user (user_id),
    event_id          text        not null,
    event_type        text        not null check (event_type in ('segment_completed', 'quiz_completed', 'learning_session')),
    occurred_at       timestamptz not null,
    base_xp           integer     not null,
    passed            boolean     not null,
    duration_seconds  integer     not null,
    credited_xp       integer     not null,
    local_date        date        not null,
    received_at       timestamptz not null default now(),
    primary key (user_id, event_id)
);

-- Aggregated once on write, so that reads cost O(days), never O(events).
create table daily_rollup (
    user_id           text    not null references app_user (user_id),
    local_date        date    not null,
    xp_segments       integer not null default 0,
    xp_quizzes        integer not null default 0,
    segments          integer not null default 0,
    quizzes           integer not null default 0,
    quizzes_passed    integer not null default 0,
    learning_seconds  bigint  not null default 0,
    sessions          integer not null default 0,
    primary key (user_id, local_date)
);

-- Local dates whose missed learning a streak freeze covered.
create table freeze_day (
    user_id     text not null references app_user (user_id),
    local_date  date not null,
    primary key (user_id, local_date)
);

create table booster (
    user_id     text             not null references app_user (user_id),
    booster_id  uuid             not null,
    multiplier  double precision not null,
    starts_at   timestamptz      not null,
    ends_at     timestamptz      not null,
    primary key (user_id, booster_id),
    check (ends_at > starts_at)
);
create index booster_user_ends on booster (user_id, ends_at);

-- Append-only: every token change is a row; user_stats.token_balance is its sum.
create table token_ledger (
    user_id     text        not null references app_user (user_id),
    entry_id    uuid        not null,
    amount      integer     not null check (amount <> 0),
    reason      text        not null,
    created_at  timestamptz not null default now(),
    primary key (user_id, entry_id)
);

-- Credentials for backends and integrations. Not per-user data: looked up by
-- hash on every request, so it is a reference table.
create table api_key (
    key_id      uuid        not null primary key,
    key_hash    bytea       not null unique,
    name        text        not null default '',
    scopes      text[]      not null,
    user_id     text,
    created_at  timestamptz not null default now(),
    revoked_at  timestamptz
);
