//! The capture of a snapshot: freeze the devbox, copy its changes into a new layer, thaw
//! it, and squash the layer chain when it grows deeper than the configured limit.
//!
//! Every step runs within one [`Budget`]: the `--snapshot-timeout` deadline and the
//! devbox's capture cancellation token. A capture that runs out of either ends as `error`
//! and its partial layer is deleted, so no capture stays `in_progress`.

use std::time::Duration;

use anyhow::Context;

use super::runtime::DevboxRuntime;
use super::Services;
use crate::clock::now_ms;
use crate::config::Config;
use crate::layers::Budget;
use crate::sandbox::{CaptureView, Sandbox};

/// Maximum time a capture waits for the devbox's processes to freeze.
const MAX_FREEZE_WAIT: Duration = Duration::from_secs(30);

/// Largest accepted `max_chain_depth`; overlayfs stacks at most 500 lower layers.
const MAX_CHAIN_DEPTH_LIMIT: usize = 400;

/// Settings of snapshot captures.
#[derive(Debug, Clone)]
pub struct CaptureSettings {
    /// Time one capture may take, squash included.
    pub timeout: Duration,
    /// Snapshot layers a devbox mounts at most; see [`Config::max_chain_depth`].
    pub max_chain_depth: usize,
    /// Extra time every capture waits after copying; see `Config::capture_delay`.
    #[cfg(feature = "test-hooks")]
    pub delay: Duration,
}

impl CaptureSettings {
    /// Takes the capture settings of `config`, rejecting a chain depth overlayfs cannot
    /// mount.
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        if !(1..=MAX_CHAIN_DEPTH_LIMIT).contains(&config.max_chain_depth) {
            anyhow::bail!(
                "the maximum chain depth must be between 1 and {MAX_CHAIN_DEPTH_LIMIT}, got {}",
                config.max_chain_depth
            );
        }
        Ok(Self {
            timeout: config.snapshot_timeout,
            max_chain_depth: config.max_chain_depth,
            #[cfg(feature = "test-hooks")]
            delay: config.capture_delay,
        })
    }
}

impl Services {
    /// Runs one capture of the devbox of `runtime` into the pending layer `layer_id` and
    /// records the outcome of snapshot `snapshot_id` in the store.
    pub(super) async fn capture(&self, runtime: &DevboxRuntime, snapshot_id: &str, layer_id: i64) {
        let budget = Budget::new(self.capture.timeout, runtime.cancel_captures.clone());
        let Err(error) = self
            .capture_steps(runtime, snapshot_id, layer_id, &budget)
            .await
        else {
            return;
        };

        let message = format!("{error:#}");
        tracing::warn!(snapshot_id, layer_id, error = %message, "snapshot capture failed");
        if let Err(error) = self.store.fail_snapshot(snapshot_id, &message) {
            tracing::error!(snapshot_id, error = %format!("{error:#}"), "failed to record a failed snapshot");
        }
        if let Err(error) = self.layers.discard(layer_id) {
            tracing::error!(snapshot_id, layer_id, error = %format!("{error:#}"), "failed to delete the files of a failed capture");
        }
    }

    async fn capture_steps(
        &self,
        runtime: &DevboxRuntime,
        snapshot_id: &str,
        layer_id: i64,
        budget: &Budget,
    ) -> anyhow::Result<()> {
        let size = self.copy_devbox_changes(runtime, layer_id, budget).await?;
        let squashed = self.squash_if_deep(snapshot_id, layer_id, budget).await;

        let completed = self.store.complete_snapshot(snapshot_id, size, squashed);
        match (completed, squashed) {
            (Ok(()), None) => Ok(()),
            (Ok(()), Some(_)) => {
                // The snapshot now refers to the squashed layer; the captured one is unused.
                if let Err(error) = self.layers.discard(layer_id) {
                    tracing::error!(snapshot_id, layer_id, error = %format!("{error:#}"), "failed to delete a captured layer replaced by its squashed chain");
                }
                Ok(())
            }
            (Err(error), squashed) => {
                if let Some(squashed) = squashed {
                    self.drop_squashed_layer(snapshot_id, squashed);
                }
                Err(error)
            }
        }
    }

    /// Freezes the devbox, copies its upper directory into layer `layer_id`, thaws it, and
    /// seals the layer. Returns the layer's size.
    async fn copy_devbox_changes(
        &self,
        runtime: &DevboxRuntime,
        layer_id: i64,
        budget: &Budget,
    ) -> anyhow::Result<u64> {
        // File writes through the API hold `changes`, so none lands halfway through the copy.
        let writes = budget
            .run(async { Ok(runtime.changes.lock().await) })
            .await?;
        let sandbox = budget
            .run(async { Ok(runtime.sandbox.read().await) })
            .await?;
        let running = sandbox
            .as_ref()
            .context("the devbox stopped before the capture started")?;
        budget.check()?;

        let view = running.open_capture_view()?;
        let copied = self.copy_frozen(running, &view, layer_id, budget).await;
        if let Err(error) = view.close().await {
            tracing::error!(layer_id, error = %format!("{error:#}"), "failed to unmount a capture view");
        }
        copied?;
        drop(sandbox);
        drop(writes);

        self.layers.seal(layer_id, budget).await
    }

    async fn copy_frozen(
        &self,
        running: &Sandbox,
        view: &CaptureView,
        layer_id: i64,
        budget: &Budget,
    ) -> anyhow::Result<()> {
        let freeze_wait = budget.remaining().min(MAX_FREEZE_WAIT);
        let frozen = budget.run(running.freeze(freeze_wait)).await;
        if let Err(error) = frozen {
            // The budget may have stopped the freeze halfway, leaving the group frozen.
            if let Err(thaw_error) = running.thaw() {
                tracing::error!(layer_id, error = %format!("{thaw_error:#}"), "failed to thaw a devbox after an interrupted freeze");
            }
            return Err(error);
        }

        let copied = async {
            self.layers
                .copy_changes(layer_id, view.path(), budget)
                .await?;
            self.injected_delay(budget).await
        }
        .await;
        let thawed = running.thaw();

        copied?;
        thawed.context("failed to thaw the devbox after the capture")
    }

    /// Squashes the chain of `layer_id` into a new layer when it is deeper than
    /// `max_chain_depth`, and returns that layer. Returns `None` when the chain is shallow
    /// enough or the squash failed; the snapshot then keeps its chain, which still works.
    async fn squash_if_deep(
        &self,
        snapshot_id: &str,
        layer_id: i64,
        budget: &Budget,
    ) -> Option<i64> {
        let depth = match self.store.layer_chain(layer_id) {
            Ok(chain) => chain.len(),
            Err(error) => {
                tracing::warn!(snapshot_id, layer_id, error = %format!("{error:#}"), "failed to read a layer chain; not squashing it");
                return None;
            }
        };
        if depth <= self.capture.max_chain_depth {
            return None;
        }

        let squashed = match self.store.insert_squash_layer(now_ms()) {
            Ok(id) => id,
            Err(error) => {
                tracing::warn!(snapshot_id, error = %format!("{error:#}"), "failed to record a squashed layer; not squashing");
                return None;
            }
        };
        match self.layers.squash(layer_id, squashed, budget).await {
            Ok(()) => {
                tracing::info!(
                    snapshot_id,
                    depth,
                    layer_id = squashed,
                    "squashed a deep layer chain"
                );
                Some(squashed)
            }
            Err(error) => {
                tracing::warn!(snapshot_id, depth, error = %format!("{error:#}"), "failed to squash a deep layer chain; the snapshot keeps the chain");
                self.drop_squashed_layer(snapshot_id, squashed);
                None
            }
        }
    }

    fn drop_squashed_layer(&self, snapshot_id: &str, squashed: i64) {
        if let Err(error) = self.store.delete_pending_layer(squashed) {
            tracing::error!(snapshot_id, layer_id = squashed, error = %format!("{error:#}"), "failed to delete the record of an unused squashed layer");
        }
        if let Err(error) = self.layers.discard(squashed) {
            tracing::error!(snapshot_id, layer_id = squashed, error = %format!("{error:#}"), "failed to delete the files of an unused squashed layer");
        }
    }

    /// Waits for the test-only capture delay, within `budget`.
    #[cfg(feature = "test-hooks")]
    async fn injected_delay(&self, budget: &Budget) -> anyhow::Result<()> {
        let delay = self.capture.delay;
        budget
            .run(async {
                tokio::time::sleep(delay).await;
                Ok(())
            })
            .await
    }

    #[cfg(not(feature = "test-hooks"))]
    async fn injected_delay(&self, _budget: &Budget) -> anyhow::Result<()> {
        Ok(())
    }
}
