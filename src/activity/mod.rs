//! Ingestion: turns batches of learning events into stored events, daily
//! roll-ups, XP totals and streak transitions, exactly once per event id.
//!
//! A batch is validated event by event, grouped by user, and each user's
//! events are applied in one transaction that first locks the user's stats
//! row, so concurrent batches for one user are serialised and never lose or
//! double an update. Within a user, events apply in index order.

pub mod grpc;
pub mod rules;
pub mod store;

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};

use crate::db::PipelinedTransaction;
use crate::error::{ApiError, ApiResult};
use crate::proto as pb;
use crate::state::AppState;
use rules::Event;
use store::{Credited, RollupDelta};

/// What happened to a batch.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct IngestReport {
    /// Events stored now.
    pub accepted: usize,
    /// Identical replays of stored events.
    pub duplicates: usize,
    /// Events refused, by index, with the reason.
    pub rejected: Vec<Rejection>,
}

/// One refused event.
#[derive(Debug, PartialEq, Eq)]
pub struct Rejection {
    /// Its index in the batch.
    pub index: usize,
    /// Its id as sent.
    pub event_id: String,
    /// Why, naming the field (or `conflict`).
    pub reason: String,
}

/// The reason given for an event id reused with different content.
pub const CONFLICT: &str = "conflict";

/// Ingests a batch (see the module doc).
pub async fn ingest(state: &AppState, events: Vec<pb::ActivityEvent>) -> ApiResult<IngestReport> {
    if events.is_empty() || events.len() > rules::MAX_BATCH {
        return Err(ApiError::invalid(
            "events",
            format!("a batch holds 1 to {} events, not {}", rules::MAX_BATCH, events.len()),
        ));
    }
    let now = state.clock.now();
    let mut report = IngestReport::default();
    let mut by_user: BTreeMap<String, Vec<(usize, Event)>> = BTreeMap::new();
    for (index, raw) in events.iter().enumerate() {
        match rules::validate(raw, now) {
            Ok(event) => by_user.entry(event.user_id.clone()).or_default().push((index, event)),
            Err(reason) => report.rejected.push(Rejection { index, event_id: raw.event_id.clone(), reason }),
        }
    }
    for (user_id, user_events) in by_user {
        let outcome =
            crate::db::retry_transaction(|| ingest_for_user(state, &user_id, &user_events, now)).await?;
        if outcome.accepted > 0 {
            state.cache.invalidate_user(&user_id).await;
        }
        report.accepted += outcome.accepted;
        report.duplicates += outcome.duplicates;
        report.rejected.extend(outcome.rejected);
    }
    report.rejected.sort_by_key(|rejection| rejection.index);
    tracing::debug!(
        accepted = report.accepted,
        duplicates = report.duplicates,
        rejected = report.rejected.len(),
        "batch ingested"
    );
    Ok(report)
}

/// Applies one user's events in one transaction.
async fn ingest_for_user(
    state: &AppState,
    user_id: &str,
    events: &[(usize, Event)],
    now: DateTime<Utc>,
) -> ApiResult<IngestReport> {
    let mut report = IngestReport::default();
    let tx = PipelinedTransaction::new(state.db.get().await?);
    let (_, stats) = futures::try_join!(tx.begin(), crate::streak::store::lock(tx.client(), user_id))?;
    let Some(mut stats) = stats else {
        tx.rollback().await?;
        report.rejected = events
            .iter()
            .map(|(index, event)| Rejection {
                index: *index,
                event_id: event.event_id.clone(),
                reason: "user_id: unknown user".to_owned(),
            })
            .collect();
        return Ok(report);
    };

    // An id repeated inside the batch: the first stands for the rest, and an
    // identical repeat shares its fate (see the end).
    let mut first_by_id: HashMap<&str, &Event> = HashMap::new();
    let mut unique: Vec<(usize, &Event)> = Vec::with_capacity(events.len());
    let mut repeats: Vec<(usize, &Event)> = Vec::new();
    for (index, event) in events {
        match first_by_id.get(event.event_id.as_str()) {
            None => {
                first_by_id.insert(&event.event_id, event);
                unique.push((*index, event));
            }
            Some(first) if *first == event => repeats.push((*index, event)),
            Some(_) => report.rejected.push(Rejection {
                index: *index,
                event_id: event.event_id.clone(),
                reason: CONFLICT.to_owned(),
            }),
        }
    }

    let earliest = unique.iter().map(|(_, event)| event.occurred_at).min().unwrap_or(now);
    let latest = unique.iter().map(|(_, event)| event.occurred_at).max().unwrap_or(now);
    // Most events come after every booster ended: no need to look them up.
    let boosters = match stats.boosted_until {
        Some(until) if earliest < until => {
            crate::xp::store::boosters_overlapping(tx.client(), user_id, earliest, latest).await?
        }
        _ => Vec::new(),
    };
    let credited: Vec<Credited<'_>> = unique
        .iter()
        .map(|(_, event)| Credited {
            event,
            credited_xp: rules::credited_xp(event.xp, event.occurred_at, &boosters),
            local_date: crate::time::local_date(event.occurred_at, stats.timezone),
        })
        .collect();
    let inserted = store::insert_new(tx.client(), user_id, &credited).await?;

    let replayed: Vec<&str> = unique
        .iter()
        .map(|(_, event)| event.event_id.as_str())
        .filter(|id| !inserted.contains(*id))
        .collect();
    let mut conflicting: HashSet<&str> = HashSet::new();
    if !replayed.is_empty() {
        let stored: HashMap<String, Event> = store::find(tx.client(), user_id, &replayed)
            .await?
            .into_iter()
            .map(|event| (event.event_id.clone(), event))
            .collect();
        for (index, event) in unique.iter().filter(|(_, event)| !inserted.contains(&event.event_id)) {
            if stored.get(&event.event_id) == Some(*event) {
                report.duplicates += 1;
            } else {
                conflicting.insert(&event.event_id);
                report.rejected.push(Rejection {
                    index: *index,
                    event_id: event.event_id.clone(),
                    reason: CONFLICT.to_owned(),
                });
            }
        }
    }

    let (repeated_conflicts, repeated_duplicates): (Vec<_>, Vec<_>) =
        repeats.into_iter().partition(|(_, event)| conflicting.contains(event.event_id.as_str()));
    report.duplicates += repeated_duplicates.len();
    report.rejected.extend(repeated_conflicts.into_iter().map(|(index, event)| Rejection {
        index,
        event_id: event.event_id.clone(),
        reason: CONFLICT.to_owned(),
    }));

    // Every write settles up to yesterday first; then events apply in index order.
    let stored_streak = stats.streak.clone();
    let today = crate::time::local_date(now, stats.timezone);
    let mut covered = match today.pred_opt() {
        Some(yesterday) => stats.streak.settle_through(yesterday),
        None => Vec::new(),
    };
    let mut xp_delta = 0i64;
    let mut deltas: BTreeMap<chrono::NaiveDate, RollupDelta> = BTreeMap::new();
    for item in credited.iter().filter(|item| inserted.contains(item.event.event_id.as_str())) {
        xp_delta += i64::from(item.credited_xp);
        deltas.entry(item.local_date).or_default().add(item.event, item.credited_xp);
        if item.credited_xp > 0 {
            covered.extend(stats.streak.record_learning(item.local_date));
        }
    }
    if inserted.is_empty() && stats.streak == stored_streak {
        // A pure replay: nothing to write.
        tx.rollback().await?;
        return Ok(report);
    }
    let deltas: Vec<_> = deltas.into_iter().collect();
    let mut writes = store::monthly_writes(user_id, &deltas);
    writes.extend(store::rollups_write(user_id, &deltas));
    writes.push(crate::streak::store::save(user_id, xp_delta, &stats.streak));
    writes.extend(crate::streak::store::insert_freeze_days(user_id, &covered));
    tx.commit_with(&writes).await?;
    report.accepted = inserted.len();
    Ok(report)
}
