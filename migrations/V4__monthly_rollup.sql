-- The learning pulse reads a year of days. One row per user and month, with an
-- element per day of the month (index 1 = the 1st), lets it read 13 rows
-- instead of 365; ingestion keeps it in the same transaction as daily_rollup.
create table monthly_rollup (
    user_id           text      not null references app_user (user_id),
    month             date      not null check (extract(day from month) = 1),
    xp                integer[] not null,
    segments          integer[] not null,
    quizzes           integer[] not null,
    quizzes_passed    integer[] not null,
    learning_seconds  bigint[]  not null,
    sessions          integer[] not null,
    primary key (user_id, month),
    check (cardinality(xp) = 31 and cardinality(segments) = 31 and cardinality(quizzes) = 31
           and cardinality(quizzes_passed) = 31 and cardinality(learning_seconds) = 31
           and cardinality(sessions) = 31)
);

-- Existing roll-ups, folded into months (days past a month's end stay 0).
with month_of as (
    select distinct user_id, date_trunc('month', local_date)::date as month from daily_rollup
), day_of as (
    select m.user_id, m.month, n, r.xp_segments, r.xp_quizzes, r.segments, r.quizzes,
           r.quizzes_passed, r.learning_seconds, r.sessions
    from month_of m
    cross join generate_series(1, 31) as n
    left join daily_rollup r
        on r.user_id = m.user_id and r.local_date = m.month + n - 1
        and date_trunc('month', r.local_date)::date = m.month
)
insert into monthly_rollup (user_id, month, xp, segments, quizzes, quizzes_passed, learning_seconds, sessions)
select day_of.user_id, day_of.month,
       array_agg(coalesce(xp_segments + xp_quizzes, 0) order by n),
       array_agg(coalesce(segments, 0) order by n),
       array_agg(coalesce(quizzes, 0) order by n),
       array_agg(coalesce(quizzes_passed, 0) order by n),
       array_agg(coalesce(learning_seconds, 0) order by n),
       array_agg(coalesce(sessions, 0) order by n)
from day_of
group by day_of.user_id, day_of.month;
