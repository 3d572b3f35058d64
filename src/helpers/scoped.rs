//! Scoped devboxes: create one, run a task on it, and shut it down whatever the task does.

use std::future::Future;

use runloop_types::DevboxCreateParams;

use super::cleanup::shutdown_quietly;
use super::TaskFailure;
use crate::client::{Client, RequestOptions};
use crate::error::Error;
use crate::platform::Platform;
use crate::progress::ProgressEvent;
use crate::wait::{WaitOptions, Waiter};

/// Creates a devbox with `params`, waits until it runs (within `options`), runs
/// `run(devbox_id)` and shuts the devbox down, also when the task fails.
///
/// Returns the task's value. When the task fails, its error wins over a failed shutdown;
/// when only the shutdown fails, the error is [`Error::CleanupFailed`].
pub async fn with_devbox<P, T, E, Run, Fut>(
    client: &Client<P>,
    params: &DevboxCreateParams,
    options: &WaitOptions<P::Signal>,
    run: Run,
) -> Result<T, TaskFailure<E>>
where
    P: Platform,
    Run: FnOnce(String) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    // The create request is not abortable, so that an abort cannot leave a devbox whose id
    // was never seen; the wait for `running` is, and a devbox that never runs is shut down.
    let mut waiter = Waiter::start(client, options);
    waiter.report(ProgressEvent::new("creating"));
    let created = client
        .devboxes()
        .create(params, &RequestOptions::default())
        .await
        .map_err(TaskFailure::Sdk)?;
    let id = created.id.clone();
    let devbox = match waiter.devbox_running(&id, Some(created)).await {
        Ok(devbox) => devbox,
        Err(error) => {
            // The wait's error is the one the caller needs, so a failed shutdown of a devbox
            // that never ran is not reported.
            let _ = shutdown_quietly(client, &id).await;
            return Err(TaskFailure::Sdk(error));
        }
    };

    let result = run(devbox.id.clone()).await.map_err(TaskFailure::Task);
    let shutdown = shutdown_quietly(client, &devbox.id).await;
    match (result, shutdown) {
        (Err(failure), _) => Err(failure),
        (Ok(value), Ok(())) => Ok(value),
        (Ok(_), Err(error)) => Err(TaskFailure::Sdk(Error::CleanupFailed {
            message: format!(
                "The task finished but devbox {} could not be shut down; shut it down with \
                 runloop.devbox.fromId('{}').shutdown()",
                devbox.id, devbox.id
            ),
            cause: Box::new(error),
        })),
    }
}
