//! Command execution endpoints and the wait for completion.

use runloop_types::{DevboxAsyncExecutionDetailView, ExecuteParams, ExecutionWaitParams};

use super::devbox_path;
use super::devboxes::seconds_to_ms;
use crate::client::{ApiRequest, Client, RequestOptions};
use crate::error::Result;
use crate::ids::uuid_v7;
use crate::output::parse_sse_output;
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
        let hold_seconds = params.optimistic_timeout.unwrap_or(EXECUTION_HOLD_SECONDS);
        let request = ApiRequest::post(devbox_path(devbox_id, "/execute"))
            .json(params)?
            .query(last_n_query(last_n))
            .hold(seconds_to_ms(hold_seconds));
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
        let request = ApiRequest::get(execution_path(devbox_id, execution_id, ""))
            .query(last_n_query(last_n));
        self.client.send_json(&request, options).await
    }

    /// `POST /v1/devboxes/{id}/executions/{execution_id}/wait_for_status`: one long poll. A 408
    /// (the server's hold ended) is returned as an error, not retried.
    pub async fn wait_for_status(
        &self,
        devbox_id: &str,
        execution_id: &str,
        params: &ExecutionWaitParams,
        last_n: Option<u32>,
        options: &RequestOptions<P::Signal>,
    ) -> Result<DevboxAsyncExecutionDetailView> {
        let hold_seconds = params.timeout_seconds.unwrap_or(EXECUTION_HOLD_SECONDS);
        let request = ApiRequest::post(execution_path(devbox_id, execution_id, "/wait_for_status"))
            .json(params)?
            .query(last_n_query(last_n))
            .long_poll(seconds_to_ms(hold_seconds));
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

    /// Long-polls an execution until it is `completed`.
    pub async fn await_completed(
        &self,
        devbox_id: &str,
        execution_id: &str,
        last_n: Option<u32>,
        options: &WaitOptions<P::Signal>,
    ) -> Result<DevboxAsyncExecutionDetailView> {
        let mut waiter = Waiter::start(self.client, options);
        let current = self
            .retrieve(devbox_id, execution_id, last_n, &waiter.request_options())
            .await
            .map_err(|error| waiter.fail(error, "the execution"))?;
        waiter.execution_completed(devbox_id, current, last_n).await
    }

    /// Reads one output stream of an execution from the start, through
    /// `stream_stdout_updates` or `stream_stderr_updates`, and returns the concatenated text.
    ///
    /// The server ends the stream when the execution completes, so on a running execution
    /// this waits for it (within the request timeout).
    pub async fn read_output(
        &self,
        devbox_id: &str,
        execution_id: &str,
        stream: OutputStream,
        options: &RequestOptions<P::Signal>,
    ) -> Result<String> {
        let endpoint = match stream {
            OutputStream::Stdout => "/stream_stdout_updates",
            OutputStream::Stderr => "/stream_stderr_updates",
        };
        let request = ApiRequest::get(execution_path(devbox_id, execution_id, endpoint))
            .query([("offset".to_owned(), "0".to_owned())])
            .accept("text/event-stream");
        let body = self.client.send_text(&request, options).await?;
        parse_sse_output(&body, &request.describe())
    }

    fn new_command_id(&self) -> String {
        let platform = self.client.platform();
        let mut random = [0u8; 10];
        platform.fill_random(&mut random);
        uuid_v7(platform.now_ms().max(0.0) as u64, random)
    }
}

fn execution_path(devbox_id: &str, execution_id: &str, rest: &str) -> String {
    let execution = encode_component(execution_id);
    devbox_path(devbox_id, &format!("/executions/{execution}{rest}"))
}

fn last_n_query(last_n: Option<u32>) -> Vec<(String, String)> {
    last_n
        .map(|lines| ("last_n".to_owned(), lines.to_string()))
        .into_iter()
        .collect()
}
