//! Snapshot retention: delete all but the newest matching snapshots, across every page.
//!
//! Progress phases: `listing` (after each page, `done` = snapshots listed so far),
//! `checking` (before each status request, `done`/`total`), `deleting` (before each
//! deletion, `done`/`total`; not sent in a dry run), `done` (`done` = snapshots deleted or,
//! in a dry run, that would be, out of `total` selected for deletion).

use runloop_types::{DevboxSnapshotView, SnapshotStatus};

use crate::client::{Client, RequestOptions};
use crate::error::{Error, Result};
use crate::paging::next_cursor;
use crate::platform::Platform;
use crate::progress::{report, Progress, ProgressEvent};
use crate::resources::snapshots::SnapshotListParams;

/// Page size of the listing when the filter sets none.
const PAGE_SIZE: u32 = 100;

/// Settings of a prune.
#[derive(Debug, Clone, Default)]
pub struct PruneOptions {
    /// Filter of the snapshots considered: `devbox_id`, `source_blueprint_id`, `metadata`.
    /// Its `limit` is the page size of the listing.
    pub filter: SnapshotListParams,
    /// Number of the newest **complete** matching snapshots to keep whatever their age.
    /// Captures in progress and failed captures do not count.
    pub keep: Option<usize>,
    /// Only snapshots created before this time (milliseconds since the Unix epoch) are
    /// deleted.
    pub created_before_ms: Option<f64>,
    /// Lists, checks and reports, but deletes nothing.
    pub dry_run: bool,
    /// Receives the prune's progress events.
    pub progress: Option<Progress>,
}

/// A matching snapshot that was neither kept nor deleted.
#[derive(Debug, Clone, PartialEq)]
pub struct SkippedSnapshot {
    /// The snapshot as listed.
    pub snapshot: DevboxSnapshotView,
    /// Its status when checked: `in_progress` (never deleted) or `deleted` (gone meanwhile).
    pub status: SnapshotStatus,
}

/// Outcome of a prune: what it deleted or, in a dry run, would delete.
#[derive(Debug)]
pub struct PruneReport {
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// Snapshots deleted (in a dry run: that would be deleted), newest first.
    pub deleted: Vec<DevboxSnapshotView>,
    /// Matching snapshots left in place: the newest `keep` complete ones and those not
    /// older than the cutoff.
    pub kept: Vec<DevboxSnapshotView>,
    /// Matching snapshots that were in progress or already gone when checked.
    pub skipped: Vec<SkippedSnapshot>,
    /// Snapshots whose status request or deletion failed, with the error.
    pub failed: Vec<(DevboxSnapshotView, Error)>,
}

/// Deletes the snapshots that match `options.filter`, except the newest `keep` complete
/// ones, those created at or after `created_before_ms`, and captures still in progress,
/// whose status is checked right before the decision.
///
/// Fails when neither `keep` nor `created_before_ms` is set (which would delete every
/// match) or when listing fails. A failed status request or deletion is recorded in
/// [`PruneReport::failed`] and the prune goes on with the next snapshot.
pub async fn prune<P: Platform>(client: &Client<P>, options: &PruneOptions) -> Result<PruneReport> {
    if options.keep.is_none() && options.created_before_ms.is_none() {
        return Err(Error::InvalidArgument(
            "Invalid prune params: pass keep, olderThan or both; to delete every match pass \
             keep: 0"
                .to_owned(),
        ));
    }
    let progress = options.progress.as_ref();
    let now = || client.platform().now_ms();

    let mut matches = list_matches(client, options).await?;
    matches.sort_by_key(|snapshot| std::cmp::Reverse(snapshot.create_time_ms));

    let mut report_out = PruneReport {
        dry_run: options.dry_run,
        deleted: Vec::new(),
        kept: Vec::new(),
        skipped: Vec::new(),
        failed: Vec::new(),
    };
    let mut candidates = Vec::new();
    let mut complete_kept = 0;
    let total = matches.len() as u64;

    for (position, snapshot) in matches.into_iter().enumerate() {
        let old_enough = options
            .created_before_ms
            .is_none_or(|cutoff| (snapshot.create_time_ms as f64) < cutoff);
        let keep_slot = options.keep.is_some_and(|keep| complete_kept < keep);
        if !old_enough && !keep_slot {
            report_out.kept.push(snapshot);
            continue;
        }

        let event = ProgressEvent::new("checking")
            .id(&snapshot.id)
            .count(position as u64, Some(total));
        report(progress, now(), event);
        let status = match client
            .snapshots()
            .query_status(&snapshot.id, &RequestOptions::default())
            .await
        {
            Ok(view) => view.status,
            Err(error) if error.status() == Some(404) => SnapshotStatus::Deleted,
            Err(error) => {
                report_out.failed.push((snapshot, error));
                continue;
            }
        };

        match status {
            SnapshotStatus::InProgress | SnapshotStatus::Deleted => {
                report_out
                    .skipped
                    .push(SkippedSnapshot { snapshot, status });
            }
            SnapshotStatus::Complete if keep_slot => {
                complete_kept += 1;
                report_out.kept.push(snapshot);
            }
            SnapshotStatus::Complete | SnapshotStatus::Error if old_enough => {
                candidates.push(snapshot);
            }
            SnapshotStatus::Complete | SnapshotStatus::Error => report_out.kept.push(snapshot),
        }
    }

    let attempted = candidates.len() as u64;
    if options.dry_run {
        report_out.deleted = candidates;
    } else {
        delete_all(client, candidates, progress, &mut report_out).await;
    }
    let deleted = report_out.deleted.len() as u64;
    report(
        progress,
        now(),
        ProgressEvent::new("done").count(deleted, Some(attempted)),
    );
    Ok(report_out)
}

/// Lists every page of matches, reporting after each page.
async fn list_matches<P: Platform>(
    client: &Client<P>,
    options: &PruneOptions,
) -> Result<Vec<DevboxSnapshotView>> {
    let mut params = options.filter.clone();
    params.limit = params.limit.or(Some(PAGE_SIZE));
    params.starting_after = None;
    let mut snapshots = Vec::new();

    loop {
        let page = client
            .snapshots()
            .list(&params, &RequestOptions::default())
            .await?;
        let cursor = next_cursor(
            page.snapshots.last().map(|snapshot| snapshot.id.as_str()),
            page.has_more,
            params.starting_after.as_deref(),
            "GET /v1/devboxes/disk_snapshots",
        )?;
        snapshots.extend(page.snapshots);
        let event = ProgressEvent::new("listing").count(snapshots.len() as u64, None);
        report(options.progress.as_ref(), client.platform().now_ms(), event);
        match cursor {
            Some(cursor) => params.starting_after = Some(cursor),
            None => return Ok(snapshots),
        }
    }
}

/// Deletes each candidate in turn, recording it as deleted, skipped (already gone) or
/// failed.
async fn delete_all<P: Platform>(
    client: &Client<P>,
    candidates: Vec<DevboxSnapshotView>,
    progress: Option<&Progress>,
    report_out: &mut PruneReport,
) {
    let total = candidates.len() as u64;
    for (position, snapshot) in candidates.into_iter().enumerate() {
        let event = ProgressEvent::new("deleting")
            .id(&snapshot.id)
            .count(position as u64, Some(total));
        report(progress, client.platform().now_ms(), event);

        match client
            .snapshots()
            .delete(&snapshot.id, &RequestOptions::default())
            .await
        {
            Ok(()) => report_out.deleted.push(snapshot),
            Err(error) if error.status() == Some(404) => {
                let status = SnapshotStatus::Deleted;
                report_out
                    .skipped
                    .push(SkippedSnapshot { snapshot, status });
            }
            Err(error) => report_out.failed.push((snapshot, error)),
        }
    }
}
