-- Daily quests: a pool of templates (a small shared reference table) and the
-- claims users make, one per user, local date and template.

create table quest_template (
    template_id    text    not null primary key check (template_id ~ '^[a-z0-9_]+$'),
    title          text    not null,
    metric         text    not null check (metric in ('xp', 'segments', 'quizzes', 'quizzes_passed', 'learning_time', 'sessions')),
    target         integer not null check (target > 0),
    reward_tokens  integer not null check (reward_tokens > 0)
);

insert into quest_template (template_id, title, metric, target, reward_tokens) values
    ('xp_30',              'Earn 30 XP',                 'xp',             30,   10),
    ('xp_100',             'Earn 100 XP',                'xp',             100,  25),
    ('segments_3',         'Complete 3 segments',        'segments',       3,    15),
    ('segments_8',         'Complete 8 segments',        'segments',       8,    30),
    ('quizzes_2',          'Take 2 quizzes',             'quizzes',        2,    15),
    ('quizzes_passed_1',   'Pass a quiz',                'quizzes_passed', 1,    10),
    ('quizzes_passed_3',   'Pass 3 quizzes',             'quizzes_passed', 3,    30),
    ('learning_time_900',  'Learn for 15 minutes',       'learning_time',  900,  15),
    ('learning_time_1800', 'Learn for 30 minutes',       'learning_time',  1800, 25),
    ('sessions_1',         'Start a learning session',   'sessions',       1,    5),
    ('sessions_3',         'Have 3 learning sessions',   'sessions',       3,    20);

create table quest_claim (
    user_id        text        not null references app_user (user_id),
    local_date     date        not null,
    template_id    text        not null references quest_template (template_id),
    reward_tokens  integer     not null,
    claimed_at     timestamptz not null default now(),
    primary key (user_id, local_date, template_id)
);
