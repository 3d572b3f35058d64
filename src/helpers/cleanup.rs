//! Removing what a helper created: shutting devboxes down and deleting snapshots, treating
//! "already gone" as done.
//!
//! Cleanup requests carry no abort signal and no deadline, so an abort or a timeout of the
//! helper never cuts its own cleanup short.

use runloop_types::DevboxStatus;

use crate::client::{Client, RequestOptions};
use crate::error::{Error, Result};
use crate::platform::Platform;
use crate::wait::WaitOptions;

/// Shuts the devbox `id` down. A devbox that is already shut down, has failed or no longer
/// exists counts as done.
pub async fn shutdown_quietly<P: Platform>(client: &Client<P>, id: &str) -> Result<()> {
    let options = RequestOptions::default();
    let error = match client.devboxes().shutdown(id, false, &options).await {
        Ok(_) => return Ok(()),
        Err(error) if error.status() == Some(404) => return Ok(()),
        Err(error) => error,
    };

    // Some servers respond to a shutdown of an ended devbox with an error, so its status
    // decides.
    match client.devboxes().retrieve(id, &options).await {
        Ok(view) if matches!(view.status, DevboxStatus::Shutdown | DevboxStatus::Failure) => Ok(()),
        _ => Err(error),
    }
}

/// Deletes the snapshot `id`. A snapshot that is already deleted counts as done; one whose
/// capture is still in progress (the server responds 409) is awaited first, because only
/// finished captures can be deleted.
pub async fn discard_snapshot<P: Platform>(client: &Client<P>, id: &str) -> Result<()> {
    let options = RequestOptions::default();
    match client.snapshots().delete(id, &options).await {
        Ok(()) => return Ok(()),
        Err(error) if error.status() == Some(404) => return Ok(()),
        Err(error) if error.status() != Some(409) => return Err(error),
        Err(_) => {}
    }

    // A capture that fails ends as `error`, which can be deleted too, so the outcome of the
    // wait does not matter. The server bounds every capture with its own timeout.
    let _ = client
        .snapshots()
        .await_completed(id, &WaitOptions::default())
        .await;
    match client.snapshots().delete(id, &options).await {
        Err(error) if error.status() != Some(404) => Err(error),
        _ => Ok(()),
    }
}

/// Builds the error of a cleanup that left things behind, or `None` when nothing failed.
/// `what` names the kind (`devbox`, `snapshot`), `remedy` how to remove one by hand.
pub(crate) fn cleanup_error(
    context: &str,
    failures: Vec<(String, Error)>,
    what: &str,
    remedy: &str,
) -> Option<Error> {
    let ids: Vec<&str> = failures.iter().map(|(id, _)| id.as_str()).collect();
    let message = format!(
        "{context} could not remove {what} {}; remove them with {remedy}",
        ids.join(", ")
    );
    let (_, cause) = failures.into_iter().next()?;
    Some(Error::CleanupFailed {
        message,
        cause: Box::new(cause),
    })
}
