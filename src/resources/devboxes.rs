//! Devbox endpoints and the wait for `running`.

use runloop_types::{DevboxCreateParams, DevboxView, DevboxWaitParams};

use super::devbox_path;
use crate::client::{ApiRequest, Client, RequestOptions};
use crate::error::Result;
use crate::platform::Platform;
use crate::wait::{WaitOptions, Waiter, DEVBOX_HOLD_SECONDS};

/// Devbox endpoints, from [`Client::devboxes`].
#[derive(Debug)]
pub struct Devboxes<'a, P> {
    client: &'a Client<P>,
}

impl<'a, P: Platform> Devboxes<'a, P> {
    pub(crate) fn new(client: &'a Client<P>) -> Self {
        Self { client }
    }

    /// `POST /v1/devboxes`: creates a devbox and returns at once, usually still
    /// `provisioning`.
    pub async fn create(
        &self,
        params: &DevboxCreateParams,
        options: &RequestOptions<P::Signal>,
    ) -> Result<DevboxView> {
        let request = ApiRequest::post("/v1/devboxes").json(params)?;
        self.client.send_json(&request, options).await
    }

    /// Creates a devbox through `POST /v1/devboxes/create_and_await_running` and, when the
    /// server responds before the devbox runs, long-polls until it does.
    ///
    /// `options.timeout_ms` bounds the whole operation.
    pub async fn create_and_await_running(
        &self,
        params: &DevboxCreateParams,
        options: &WaitOptions<P::Signal>,
    ) -> Result<DevboxView> {
        let mut waiter = Waiter::start(self.client, options);
        // NOTE: the hold is assumed to match `wait_for_status` (runloop-local holds up to 30 s);
        // the public API does not document it.
        let request = ApiRequest::post("/v1/devboxes/create_and_await_running")
            .json(params)?
            .hold(seconds_to_ms(DEVBOX_HOLD_SECONDS));
        let created: DevboxView = self
            .client
            .send_json(&request, &waiter.request_options())
            .await
            .map_err(|error| waiter.fail(error, "a new devbox to be created"))?;

        let id = created.id.clone();
        waiter.devbox_running(&id, Some(created)).await
    }

    /// `GET /v1/devboxes/{id}`.
    pub async fn retrieve(
        &self,
        id: &str,
        options: &RequestOptions<P::Signal>,
    ) -> Result<DevboxView> {
        let request = ApiRequest::get(devbox_path(id, ""));
        self.client.send_json(&request, options).await
    }

    /// `POST /v1/devboxes/{id}/shutdown`.
    pub async fn shutdown(
        &self,
        id: &str,
        options: &RequestOptions<P::Signal>,
    ) -> Result<DevboxView> {
        let request = ApiRequest::post(devbox_path(id, "/shutdown"));
        self.client.send_json(&request, options).await
    }

    /// `POST /v1/devboxes/{id}/wait_for_status`: one long poll. The server responds when the
    /// devbox reaches one of `params.statuses`, or with 408 when its hold ends; the 408 is
    /// returned as an error, not retried.
    pub async fn wait_for_status(
        &self,
        id: &str,
        params: &DevboxWaitParams,
        options: &RequestOptions<P::Signal>,
    ) -> Result<DevboxView> {
        let hold_seconds = params.timeout_seconds.unwrap_or(DEVBOX_HOLD_SECONDS);
        let request = ApiRequest::post(devbox_path(id, "/wait_for_status"))
            .json(params)?
            .long_poll(seconds_to_ms(hold_seconds));
        self.client.send_json(&request, options).await
    }

    /// Long-polls until the devbox is `running`; fails if it reaches `failure`, `shutdown`,
    /// `suspending` or `suspended` instead.
    pub async fn await_running(
        &self,
        id: &str,
        options: &WaitOptions<P::Signal>,
    ) -> Result<DevboxView> {
        Waiter::start(self.client, options)
            .devbox_running(id, None)
            .await
    }
}

/// Converts a hold in seconds to whole milliseconds, rounding up.
pub(crate) fn seconds_to_ms(seconds: f64) -> u64 {
    (seconds.max(0.0) * 1000.0).ceil() as u64
}
