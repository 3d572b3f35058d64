//! Command execution endpoints and the wait for completion. The output streams are read by
//! [`crate::stream`].

use runloop_types::{
    DevboxAsyncExecutionDetailView, DevboxExecutionDetailView, ExecuteAsyncParams, ExecuteParams,
    ExecutionKillParams, ExecutionWaitParams, SendStdInParams, SendStdInResult,
};

use super::{devbox_path, seconds_to_ms};
use crate::client::{ApiRequest, Client, RequestOptions};
use crate::error::Result;
use crate::ids::uuid_v7;
use crate::platform::Platform;
use crate::url::encode_component;
use crate::wait::{WaitOptions, Waiter, EXECUTION_HOLD_SECONDS};

/// One of the two output streams of an execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputStream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// `POST /v1/devboxes/{id}/execute`, held by the server for up to
/// `params.optimistic_timeout` seconds (25 by default).
pub fn execute<B>(
    devbox_id: &str,
    params: &ExecuteParams,
    last_n: Option<u32>,
) -> Result<ApiRequest<B>> {
    let hold_seconds = params.optimistic_timeout.unwrap_or(EXECUTION_HOLD_SECONDS);
    Ok(ApiRequest::post(devbox_path(devbox_id, "/execute"))
        .json(params)?
        .query(last_n_query(last_n))
        .hold(seconds_to_ms(hold_seconds)))
}

/// `POST /v1/devboxes/{id}/execute_async`.
pub fn execute_async<B>(devbox_id: &str, params: &ExecuteAsyncParams) -> Result<ApiRequest<B>> {
    ApiRequest::post(devbox_path(devbox_id, "/execute_async")).json(params)
}

/// `POST /v1/devboxes/{id}/execute_sync`: a long request that returns when the command ends.
pub fn execute_sync<B>(devbox_id: &str, params: &ExecuteAsyncParams) -> Result<ApiRequest<B>> {
    Ok(ApiRequest::post(devbox_path(devbox_id, "/execute_sync"))
        .json(params)?
        .long())
}

/// `GET /v1/devboxes/{id}/executions/{execution_id}`.
pub fn retrieve<B>(devbox_id: &str, execution_id: &str, last_n: Option<u32>) -> ApiRequest<B> {
    ApiRequest::get(execution_path(devbox_id, execution_id, "")).query(last_n_query(last_n))
}

/// `POST /v1/devboxes/{id}/executions/{execution_id}/wait_for_status`: one long poll, whose
/// 408 is returned as an error instead of being retried.
pub fn wait_for_status<B>(
    devbox_id: &str,
    execution_id: &str,
    params: &ExecutionWaitParams,
    last_n: Option<u32>,
) -> Result<ApiRequest<B>> {
    let hold_seconds = params.timeout_seconds.unwrap_or(EXECUTION_HOLD_SECONDS);
    Ok(
        ApiRequest::post(execution_path(devbox_id, execution_id, "/wait_for_status"))
            .json(params)?
            .query(last_n_query(last_n))
            .long_poll(seconds_to_ms(hold_seconds)),
    )
}

/// `POST /v1/devboxes/{id}/executions/{execution_id}/kill`.
pub fn kill<B>(
    devbox_id: &str,
    execution_id: &str,
    params: &ExecutionKillParams,
) -> Result<ApiRequest<B>> {
    ApiRequest::post(execution_path(devbox_id, execution_id, "/kill")).json(params)
}

/// `POST /v1/devboxes/{id}/executions/{execution_id}/send_std_in`.
pub fn send_std_in<B>(
    devbox_id: &str,
    execution_id: &str,
    params: &SendStdInParams,
) -> Result<ApiRequest<B>> {
    ApiRequest::post(execution_path(devbox_id, execution_id, "/send_std_in")).json(params)
}

/// Command execution endpoints, from [`Client::executions`].
#[derive(Debug)]
pub struct Executions<'a, P> {
    client: &'a Client<P>,
}

impl<'a, P: Platform> Executions<'a, P> {
    pub(crate) fn new(client: &'a Client<P>) -> Self {
        Self { client }
    }

    /// `POST /v1/devboxes/{id}/execute`: starts a command and waits up to
    /// `params.optimistic_timeout` seconds (25 by default) for it to finish. The response may
    /// still be `queued` or `running`.
    ///
    /// `last_n` is the number of trailing output lines to return (the server's default is
    /// 100). Retries are safe when `params.command_id` is set, because the server runs one
    /// command per id.
    pub async fn execute(
        &self,
        devbox_id: &str,
        params: &ExecuteParams,
        last_n: Option<u32>,
        options: &RequestOptions<P::Signal>,
    ) -> Result<DevboxAsyncExecutionDetailView> {
        let request = execute(devbox_id, params, last_n)?;
        self.client.send_json(&request, options).await
    }

    /// `POST /v1/devboxes/{id}/execute_async`: starts a command and returns at once.
    pub async fn execute_async(
        &self,
        devbox_id: &str,
        params: &ExecuteAsyncParams,
        options: &RequestOptions<P::Signal>,
    ) -> Result<DevboxAsyncExecutionDetailView> {
        let request = execute_async(devbox_id, params)?;
        self.client.send_json(&request, options).await
    }

    /// `POST /v1/devboxes/{id}/execute_sync`: runs a command in one request. Its attempts get
    /// [`LONG_REQUEST_TIMEOUT_MS`](crate::client::LONG_REQUEST_TIMEOUT_MS) unless `options`
    /// sets a timeout.
    pub async fn execute_sync(
        &self,
        devbox_id: &str,
        params: &ExecuteAsyncParams,
        options: &RequestOptions<P::Signal>,
    ) -> Result<DevboxExecutionDetailView> {
        let request = execute_sync(devbox_id, params)?;
        self.client.send_json(&request, options).await
    }

    /// `GET /v1/devboxes/{id}/executions/{execution_id}`.
    pub async fn retrieve(
        &self,
        devbox_id: &str,
        execution_id: &str,
        last_n: Option<u32>,
        options: &RequestOptions<P::Signal>,
    ) -> Result<DevboxAsyncExecutionDetailView> {
        let request = retrieve(devbox_id, execution_id, last_n);
        self.client.send_json(&request, options).await
    }

    /// `POST .../executions/{execution_id}/wait_for_status`: one long poll. A 408 (the
    /// server's hold ended) is returned as an error, not retried.
    pub async fn wait_for_status(
        &self,
        devbox_id: &str,
        execution_id: &str,
        params: &ExecutionWaitParams,
        last_n: Option<u32>,
        options: &RequestOptions<P::Signal>,
    ) -> Result<DevboxAsyncExecutionDetailView> {
        let request = wait_for_status(devbox_id, execution_id, params, last_n)?;
        self.client.send_json(&request, options).await
    }

    /// `POST .../executions/{execution_id}/kill`: stops a running command.
    pub async fn kill(
        &self,
        devbox_id: &str,
        execution_id: &str,
        params: &ExecutionKillParams,
        options: &RequestOptions<P::Signal>,
    ) -> Result<DevboxAsyncExecutionDetailView> {
        let request = kill(devbox_id, execution_id, params)?;
        self.client.send_json(&request, options).await
    }

    /// `POST .../executions/{execution_id}/send_std_in`: writes text to a command started
    /// with `attach_stdin`, or closes its stdin (`EOF`) or interrupts it (`INTERRUPT`).
    pub async fn send_std_in(
        &self,
        devbox_id: &str,
        execution_id: &str,
        params: &SendStdInParams,
        options: &RequestOptions<P::Signal>,
    ) -> Result<SendStdInResult> {
        let request = send_std_in(devbox_id, execution_id, params)?;
        self.client.send_json(&request, options).await
    }

    /// Runs a command to completion: `execute` with a fresh UUIDv7 `command_id` (unless one
    /// is given), then the execution long poll. `options.timeout_ms` bounds both, and also
    /// caps `optimistic_timeout` at half of it.
    pub async fn execute_and_await_completion(
        &self,
        devbox_id: &str,
        mut params: ExecuteParams,
        last_n: Option<u32>,
        options: &WaitOptions<P::Signal>,
    ) -> Result<DevboxAsyncExecutionDetailView> {
        if params.command_id.is_none() {
            params.command_id = Some(self.new_command_id());
        }

        let mut waiter = Waiter::start(self.client, options);
        // With a deadline, the server must respond in time for the execution id to reach the
        // polling timeout's last state, so it may hold for at most half of the time allowed.
        if let Some(limit) = waiter.half_remaining_seconds() {
            let hold = params.optimistic_timeout.unwrap_or(EXECUTION_HOLD_SECONDS);
            params.optimistic_timeout = Some(hold.min(limit));
        }
        let started = self
            .execute(devbox_id, &params, last_n, &waiter.request_options())
            .await
            .map_err(|error| waiter.fail(error, "the command to start"))?;
        waiter.execution_completed(devbox_id, started, last_n).await
    }

    /// Long-polls an execution until it is `completed`. `current` is a view already in hand
    /// (such as the one `execute_async` returned), which saves the first request.
    pub async fn await_completed(
        &self,
        devbox_id: &str,
        execution_id: &str,
        current: Option<DevboxAsyncExecutionDetailView>,
        last_n: Option<u32>,
        options: &WaitOptions<P::Signal>,
    ) -> Result<DevboxAsyncExecutionDetailView> {
        let mut waiter = Waiter::start(self.client, options);
        let current = match current {
            Some(view) => view,
            None => self
                .retrieve(devbox_id, execution_id, last_n, &waiter.request_options())
                .await
                .map_err(|error| waiter.fail(error, "the execution"))?,
        };
        waiter.execution_completed(devbox_id, current, last_n).await
    }

    /// Returns a fresh UUIDv7 for `command_id`.
    pub fn new_command_id(&self) -> String {
        let platform = self.client.platform();
        let mut random = [0u8; 10];
        platform.fill_random(&mut random);
        uuid_v7(platform.now_ms().max(0.0) as u64, random)
    }
}

/// Builds `/v1/devboxes/{id}/executions/{execution_id}` followed by `rest`.
pub(crate) fn execution_path(devbox_id: &str, execution_id: &str, rest: &str) -> String {
    let execution = encode_component(execution_id);
    devbox_path(devbox_id, &format!("/executions/{execution}{rest}"))
}

fn last_n_query(last_n: Option<u32>) -> Option<(String, String)> {
    last_n.map(|lines| ("last_n".to_owned(), lines.to_string()))
}
