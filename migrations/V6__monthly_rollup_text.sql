-- Reads send a user's months as text, and PostgreSQL's array output costs it
-- about 30 ns an element: for the pulse's 14 months (2,600 elements) that is
-- most of the statement. Each month row keeps its arrays' text form, computed
-- once per write: "{xp}{segments}{quizzes}{quizzes_passed}{learning_seconds}{sessions}".
create function monthly_rollup_text(integer[], integer[], integer[], integer[], bigint[], integer[])
    returns text
    -- The output of integers depends on no setting: immutable in fact, which
    -- a generated column requires (array output is declared stable for the
    -- element types whose output does). PL/pgSQL keeps the function's plan
    -- for the session; a SQL function this stable in body would be parsed
    -- and planned again by every statement that writes the table.
    language plpgsql immutable parallel safe
    as $$ begin return $1::text || $2::text || $3::text || $4::text || $5::text || $6::text; end $$;

alter table monthly_rollup
    add column days_text text not null
    generated always as (monthly_rollup_text(xp, segments, quizzes, quizzes_passed, learning_seconds, sessions)) stored;

-- A row is 1.5 to 3 KiB: keep it whole and uncompressed, so that a read
-- neither decompresses nor fetches from TOAST.
alter table monthly_rollup set (toast_tuple_target = 4080);
