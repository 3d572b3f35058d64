//! Devbox endpoints and the waits for `running` and `suspended`.

use runloop_types::{
    DevboxCreateParams, DevboxListParams, DevboxListView, DevboxLogsView, DevboxResourceUsageView,
    DevboxUpdateParams, DevboxView, DevboxWaitParams,
};
use serde::{Deserialize, Serialize};
use tsify::Tsify;

use super::{devbox_path, seconds_to_ms};
use crate::client::{ApiRequest, Client, RequestOptions};
use crate::error::Result;
use crate::platform::Platform;
use crate::progress::ProgressEvent;
use crate::url::to_query;
use crate::wait::{WaitOptions, Waiter, DEVBOX_HOLD_SECONDS};

/// Query of `GET /v1/devboxes/{id}/logs`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Tsify)]
pub struct DevboxLogsParams {
    /// Only the logs of this execution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[tsify(optional)]
    pub execution_id: Option<String>,
    /// Only the logs of commands run in this shell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[tsify(optional)]
    pub shell_name: Option<String>,
}

/// `POST /v1/devboxes`.
pub fn create<B>(params: &DevboxCreateParams) -> Result<ApiRequest<B>> {
    ApiRequest::post("/v1/devboxes").json(params)
}

/// `POST /v1/devboxes/create_and_await_running`.
pub fn create_and_await_running<B>(params: &DevboxCreateParams) -> Result<ApiRequest<B>> {
    // NOTE: the hold is assumed to match `wait_for_status` (runloop-local holds up to 30 s);
    // the public API does not document it.
    Ok(ApiRequest::post("/v1/devboxes/create_and_await_running")
        .json(params)?
        .hold(seconds_to_ms(DEVBOX_HOLD_SECONDS)))
}

/// `GET /v1/devboxes/{id}`.
pub fn retrieve<B>(id: &str) -> ApiRequest<B> {
    ApiRequest::get(devbox_path(id, ""))
}

/// `POST /v1/devboxes/{id}`: changes the fields given.
pub fn update<B>(id: &str, params: &DevboxUpdateParams) -> Result<ApiRequest<B>> {
    ApiRequest::post(devbox_path(id, "")).json(params)
}

/// `GET /v1/devboxes`: one page.
pub fn list<B>(params: &DevboxListParams) -> Result<ApiRequest<B>> {
    Ok(ApiRequest::get("/v1/devboxes").query(to_query(params)?))
}

/// `POST /v1/devboxes/{id}/wait_for_status`: one long poll, whose 408 is returned as an
/// error instead of being retried.
pub fn wait_for_status<B>(id: &str, params: &DevboxWaitParams) -> Result<ApiRequest<B>> {
    let hold_seconds = params.timeout_seconds.unwrap_or(DEVBOX_HOLD_SECONDS);
    Ok(ApiRequest::post(devbox_path(id, "/wait_for_status"))
        .json(params)?
        .long_poll(seconds_to_ms(hold_seconds)))
}

/// `POST /v1/devboxes/{id}/shutdown`, with `?force=true` when `force` is set.
pub fn shutdown<B>(id: &str, force: bool) -> ApiRequest<B> {
    let query = force.then(|| ("force".to_owned(), "true".to_owned()));
    ApiRequest::post(devbox_path(id, "/shutdown")).query(query)
}

/// `POST /v1/devboxes/{id}/suspend`.
pub fn suspend<B>(id: &str) -> ApiRequest<B> {
    ApiRequest::post(devbox_path(id, "/suspend"))
}

/// `POST /v1/devboxes/{id}/resume`.
pub fn resume<B>(id: &str) -> ApiRequest<B> {
    ApiRequest::post(devbox_path(id, "/resume"))
}

/// `POST /v1/devboxes/{id}/keep_alive`.
pub fn keep_alive<B>(id: &str) -> ApiRequest<B> {
    ApiRequest::post(devbox_path(id, "/keep_alive"))
}

/// `GET /v1/devboxes/{id}/usage`.
pub fn retrieve_resource_usage<B>(id: &str) -> ApiRequest<B> {
    ApiRequest::get(devbox_path(id, "/usage"))
}

/// `GET /v1/devboxes/{id}/logs`.
pub fn logs<B>(id: &str, params: &DevboxLogsParams) -> Result<ApiRequest<B>> {
    Ok(ApiRequest::get(devbox_path(id, "/logs")).query(to_query(params)?))
}

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
        self.client.send_json(&create(params)?, options).await
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
        let request = create_and_await_running(params)?;
        waiter.report(ProgressEvent::new("creating"));
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
        self.client.send_json(&retrieve(id), options).await
    }

    /// `POST /v1/devboxes/{id}`: changes the name or metadata given.
    pub async fn update(
        &self,
        id: &str,
        params: &DevboxUpdateParams,
        options: &RequestOptions<P::Signal>,
    ) -> Result<DevboxView> {
        self.client.send_json(&update(id, params)?, options).await
    }

    /// `GET /v1/devboxes`: one page, newest first.
    pub async fn list(
        &self,
        params: &DevboxListParams,
        options: &RequestOptions<P::Signal>,
    ) -> Result<DevboxListView> {
        self.client.send_json(&list(params)?, options).await
    }

    /// `POST /v1/devboxes/{id}/shutdown`. With `force`, the server also cancels snapshots in
    /// progress instead of rejecting the call with 409.
    pub async fn shutdown(
        &self,
        id: &str,
        force: bool,
        options: &RequestOptions<P::Signal>,
    ) -> Result<DevboxView> {
        self.client.send_json(&shutdown(id, force), options).await
    }

    /// `POST /v1/devboxes/{id}/suspend`.
    pub async fn suspend(
        &self,
        id: &str,
        options: &RequestOptions<P::Signal>,
    ) -> Result<DevboxView> {
        self.client.send_json(&suspend(id), options).await
    }

    /// `POST /v1/devboxes/{id}/resume`.
    pub async fn resume(
        &self,
        id: &str,
        options: &RequestOptions<P::Signal>,
    ) -> Result<DevboxView> {
        self.client.send_json(&resume(id), options).await
    }

    /// `POST /v1/devboxes/{id}/keep_alive`; the response body is returned as JSON of any
    /// shape, since the API does not specify it.
    pub async fn keep_alive(
        &self,
        id: &str,
        options: &RequestOptions<P::Signal>,
    ) -> Result<serde_json::Value> {
        let request = keep_alive(id);
        let text = self.client.send_text(&request, options).await?;
        if text.trim().is_empty() {
            return Ok(serde_json::Value::Null);
        }
        crate::client::decode_json(&text, &request.describe())
    }

    /// `GET /v1/devboxes/{id}/usage`.
    pub async fn retrieve_resource_usage(
        &self,
        id: &str,
        options: &RequestOptions<P::Signal>,
    ) -> Result<DevboxResourceUsageView> {
        self.client
            .send_json(&retrieve_resource_usage(id), options)
            .await
    }

    /// `GET /v1/devboxes/{id}/logs`.
    pub async fn logs(
        &self,
        id: &str,
        params: &DevboxLogsParams,
        options: &RequestOptions<P::Signal>,
    ) -> Result<DevboxLogsView> {
        self.client.send_json(&logs(id, params)?, options).await
    }

    /// `POST /v1/devboxes/{id}/wait_for_status`: one long poll. The server responds when the
    /// devbox reaches one of `params.statuses`, or with 408 when its hold ends. The 408 is
    /// returned as an error, not retried.
    pub async fn wait_for_status(
        &self,
        id: &str,
        params: &DevboxWaitParams,
        options: &RequestOptions<P::Signal>,
    ) -> Result<DevboxView> {
        self.client
            .send_json(&wait_for_status(id, params)?, options)
            .await
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

    /// Long-polls until the devbox is `suspended`; fails if it reaches `failure` or
    /// `shutdown`, or is `running` with no suspend under way.
    pub async fn await_suspended(
        &self,
        id: &str,
        options: &WaitOptions<P::Signal>,
    ) -> Result<DevboxView> {
        Waiter::start(self.client, options)
            .devbox_suspended(id, None)
            .await
    }

    /// Resumes a suspended devbox and long-polls until it is `running`. `options.timeout_ms`
    /// bounds both.
    pub async fn resume_and_await_running(
        &self,
        id: &str,
        options: &WaitOptions<P::Signal>,
    ) -> Result<DevboxView> {
        let mut waiter = Waiter::start(self.client, options);
        let resumed = self
            .resume(id, &waiter.request_options())
            .await
            .map_err(|error| waiter.fail(error, "the devbox to resume"))?;
        waiter.devbox_running(id, Some(resumed)).await
    }
}
