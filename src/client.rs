//! The client core: URLs, headers, retries with backoff, error mapping and JSON decoding.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{ApiError, Error, Result};
use crate::ids::uuid_v4;
use crate::json;
use crate::platform::{
    HttpRequest, Method, Platform, PlatformResponse, RequestBody, ResponseBody, ResponseMode,
    TransportError,
};
use crate::resources::{Devboxes, Executions, Files, Snapshots};
use crate::retry::{should_retry, RetryPolicy};
use crate::url::join_url;

/// Base URL used when none is configured.
pub const DEFAULT_BASE_URL: &str = "https://api.runloop.ai";

/// Time allowed for one request attempt when none is configured, in milliseconds.
pub const DEFAULT_TIMEOUT_MS: u64 = 30_000;

/// Time allowed for one attempt of a long request (file transfers, synchronous commands and
/// snapshots) when the call sets none, in milliseconds: 10 minutes, or the client's timeout
/// when that is longer.
pub const LONG_REQUEST_TIMEOUT_MS: u64 = 600_000;

/// Extra time a long-poll attempt gets beyond the server's hold, in milliseconds, so that the
/// server's 408 arrives before the client gives up.
const LONG_POLL_MARGIN_MS: u64 = 10_000;

/// Retry counter header, under the name the official SDKs send: `0` on the first attempt.
const RETRY_COUNT_HEADER: &str = "x-stainless-retry-count";

/// Idempotency header: one value per call, repeated on each of its retries.
const REQUEST_ID_HEADER: &str = "x-request-id";

/// Settings of a [`Client`].
#[derive(Debug, Clone, PartialEq)]
pub struct ClientConfig {
    /// Sent as `Authorization: Bearer <token>`.
    pub bearer_token: String,
    /// Base URL, with or without a path prefix and trailing `/`.
    pub base_url: String,
    /// Time allowed for one request attempt, in milliseconds.
    pub timeout_ms: u64,
    /// Headers sent with every request; each replaces a built-in header of the same name.
    pub default_headers: Vec<(String, String)>,
    /// When and how often failed attempts are retried.
    pub retry: RetryPolicy,
}

impl ClientConfig {
    /// Returns the default settings for a token: the public API, a 30 s timeout and 5 retries.
    pub fn new(bearer_token: impl Into<String>) -> Self {
        Self {
            bearer_token: bearer_token.into(),
            base_url: DEFAULT_BASE_URL.to_owned(),
            timeout_ms: DEFAULT_TIMEOUT_MS,
            default_headers: Vec::new(),
            retry: RetryPolicy::default(),
        }
    }
}

/// Settings of one call.
#[derive(Debug, Clone)]
pub struct RequestOptions<S> {
    /// Time allowed for each attempt, in milliseconds; the client's timeout when `None`.
    pub timeout_ms: Option<u64>,
    /// Aborts the call, including any wait between retries.
    pub signal: Option<S>,
    /// Platform time (milliseconds since the Unix epoch) after which no attempt starts and
    /// no retry is waited for. Waits set it from their overall timeout.
    pub deadline_ms: Option<f64>,
    /// Retries for this call; the client's policy when `None`.
    pub max_retries: Option<u32>,
}

impl<S> Default for RequestOptions<S> {
    fn default() -> Self {
        Self {
            timeout_ms: None,
            signal: None,
            deadline_ms: None,
            max_retries: None,
        }
    }
}

/// One API call: method, path, query, body and how to read the response, before headers and
/// retries. `B` is the platform's [`Payload`](crate::Platform::Payload) type.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiRequest<B> {
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    body: Option<RequestBody<B>>,
    accept: &'static str,
    mode: ResponseMode,
    /// How long the server may hold the request, in milliseconds; the attempt timeout covers
    /// it.
    hold_ms: Option<u64>,
    /// Whether a 408 ends the call at once instead of being retried, so that a wait loop can
    /// poll again.
    pass_408: bool,
    /// Whether the attempt timeout defaults to [`LONG_REQUEST_TIMEOUT_MS`].
    long: bool,
}

impl<B> ApiRequest<B> {
    /// Starts a GET request.
    pub fn get(path: impl Into<String>) -> Self {
        Self::new(Method::Get, path.into())
    }

    /// Starts a POST request without a body.
    pub fn post(path: impl Into<String>) -> Self {
        Self::new(Method::Post, path.into())
    }

    fn new(method: Method, path: String) -> Self {
        Self {
            method,
            path,
            query: Vec::new(),
            body: None,
            accept: "application/json",
            mode: ResponseMode::Text,
            hold_ms: None,
            pass_408: false,
            long: false,
        }
    }

    /// Sets a JSON body.
    pub fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Result<Self> {
        let text = serde_json::to_string(body).map_err(|error| {
            Error::InvalidArgument(format!("cannot encode the body of {}: {error}", self.path))
        })?;
        self.body = Some(RequestBody::Json(text));
        Ok(self)
    }

    /// Sets a body held by the host.
    pub fn body(mut self, body: RequestBody<B>) -> Self {
        self.body = Some(body);
        self
    }

    /// Appends query pairs.
    pub fn query(mut self, pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        self.query.extend(pairs);
        self
    }

    /// Replaces the `Accept` header (`application/json` by default) and how a 2xx body is
    /// handed over ([`ResponseMode::Text`] by default).
    pub fn accept(mut self, accept: &'static str, mode: ResponseMode) -> Self {
        self.accept = accept;
        self.mode = mode;
        self
    }

    /// Declares that the server may hold the request for up to `hold_ms` before responding.
    pub fn hold(mut self, hold_ms: u64) -> Self {
        self.hold_ms = Some(hold_ms);
        self
    }

    /// Marks the request as a long poll held for up to `hold_ms`, whose 408 means "not yet".
    pub fn long_poll(mut self, hold_ms: u64) -> Self {
        self.hold_ms = Some(hold_ms);
        self.pass_408 = true;
        self
    }

    /// Marks a request that may take long to transfer or run (file transfers, synchronous
    /// commands and snapshots): its attempts get [`LONG_REQUEST_TIMEOUT_MS`] unless the call
    /// sets a timeout.
    pub fn long(mut self) -> Self {
        self.long = true;
        self
    }

    /// Returns `METHOD /path`, for messages.
    pub fn describe(&self) -> String {
        format!("{} {}", self.method.as_str(), self.path)
    }
}

/// A Runloop API client over a [`Platform`].
#[derive(Debug)]
pub struct Client<P> {
    config: ClientConfig,
    platform: P,
}

impl<P: Platform> Client<P> {
    /// Creates a client.
    pub fn new(config: ClientConfig, platform: P) -> Self {
        Self { config, platform }
    }

    /// Returns the settings.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Returns the platform the client sends through.
    pub fn platform(&self) -> &P {
        &self.platform
    }

    /// Devbox endpoints.
    pub fn devboxes(&self) -> Devboxes<'_, P> {
        Devboxes::new(self)
    }

    /// Command execution endpoints.
    pub fn executions(&self) -> Executions<'_, P> {
        Executions::new(self)
    }

    /// File endpoints.
    pub fn files(&self) -> Files<'_, P> {
        Files::new(self)
    }

    /// Disk snapshot endpoints.
    pub fn snapshots(&self) -> Snapshots<'_, P> {
        Snapshots::new(self)
    }

    /// Sends a request and decodes its JSON response.
    pub async fn send_json<T: DeserializeOwned>(
        &self,
        request: &ApiRequest<P::Payload>,
        options: &RequestOptions<P::Signal>,
    ) -> Result<T> {
        let response = self.send(request, options).await?;
        decode_json(response.body_text(), &request.describe())
    }

    /// Sends a request and returns its response body as text.
    pub async fn send_text(
        &self,
        request: &ApiRequest<P::Payload>,
        options: &RequestOptions<P::Signal>,
    ) -> Result<String> {
        Ok(self.send(request, options).await?.into_text())
    }

    /// Sends a request and returns the body the host kept, as the request's mode asked.
    pub async fn send_payload(
        &self,
        request: &ApiRequest<P::Payload>,
        options: &RequestOptions<P::Signal>,
    ) -> Result<P::Payload> {
        match self.send(request, options).await?.body {
            ResponseBody::Payload(payload) => Ok(payload),
            _ => Err(Error::InvalidResponse {
                context: request.describe(),
                message: "the host did not return the body in the requested form".to_owned(),
            }),
        }
    }

    /// Sends a request, retrying failed attempts, and returns the first 2xx response.
    ///
    /// Retried: network errors, attempt timeouts, and statuses 408 (except for long polls),
    /// 409, 429 and 5xx, unless an `x-should-retry` header overrides the status. Never
    /// retried: aborts and other statuses. Every attempt of one call carries the same
    /// `x-request-id` (POST only).
    pub async fn send(
        &self,
        request: &ApiRequest<P::Payload>,
        options: &RequestOptions<P::Signal>,
    ) -> Result<PlatformResponse<P>> {
        let url = join_url(&self.config.base_url, &request.path, &request.query);
        let request_id = (request.method != Method::Get).then(|| self.new_request_id());
        let max_retries = options.max_retries.unwrap_or(self.config.retry.max_retries);
        let signal = options.signal.as_ref();
        let mut retries_done = 0;

        loop {
            if signal.is_some_and(|signal| self.platform.is_aborted(signal)) {
                return Err(Error::Aborted);
            }
            let timeout_ms = self.attempt_timeout_ms(request, options)?;

            let http_request = HttpRequest {
                method: request.method,
                url: url.clone(),
                headers: self.headers(request, request_id.as_deref(), retries_done),
                body: request.body.clone(),
                timeout_ms,
                mode: request.mode,
            };
            let outcome = self.platform.send(http_request, signal).await;

            let (error, response) = match outcome {
                Ok(response) if (200..300).contains(&response.status) => return Ok(response),
                Ok(response) => {
                    let retryable =
                        should_retry(&response) && !(response.status == 408 && request.pass_408);
                    let error = ApiError::from_response(
                        response.status,
                        response.headers.clone(),
                        response.body_text(),
                        request_id.as_deref(),
                    );
                    let error = Error::Api(Box::new(error));
                    if !retryable {
                        return Err(error);
                    }
                    (error, Some(response))
                }
                Err(TransportError::Aborted) => return Err(Error::Aborted),
                Err(TransportError::Timeout) => (Error::Timeout { timeout_ms }, None),
                Err(TransportError::Network { message, cause }) => {
                    (Error::Connection { message, cause }, None)
                }
            };

            if retries_done >= max_retries {
                return Err(error);
            }
            let delay_ms = self.retry_delay_ms(retries_done, response.as_ref());
            let now_ms = self.platform.now_ms();
            if options
                .deadline_ms
                .is_some_and(|deadline| now_ms + delay_ms as f64 >= deadline)
            {
                return Err(error);
            }

            if delay_ms > 0 {
                self.platform
                    .sleep(delay_ms, signal)
                    .await
                    .map_err(|_| Error::Aborted)?;
            }
            retries_done += 1;
        }
    }

    /// Returns the wait before retry number `retries_done + 1`: the server's `Retry-After`
    /// when `response` has one, else the backoff with jitter.
    pub fn retry_delay_ms(&self, retries_done: u32, response: Option<&PlatformResponse<P>>) -> u64 {
        let now_ms = self.platform.now_ms();
        let random = self.platform.random_unit();
        self.config
            .retry
            .delay_ms(retries_done, response, now_ms, random)
    }

    /// Returns the timeout of the next attempt: the call's, else the client's (at least
    /// [`LONG_REQUEST_TIMEOUT_MS`] for long requests), at least a long poll's hold plus a
    /// margin, and never past the deadline.
    fn attempt_timeout_ms(
        &self,
        request: &ApiRequest<P::Payload>,
        options: &RequestOptions<P::Signal>,
    ) -> Result<u64> {
        let mut timeout_ms = match options.timeout_ms {
            Some(timeout_ms) => timeout_ms,
            None if request.long => self.config.timeout_ms.max(LONG_REQUEST_TIMEOUT_MS),
            None => self.config.timeout_ms,
        };
        if let Some(hold_ms) = request.hold_ms {
            timeout_ms = timeout_ms.max(hold_ms + LONG_POLL_MARGIN_MS);
        }

        if let Some(deadline) = options.deadline_ms {
            let remaining = deadline - self.platform.now_ms();
            if remaining <= 0.0 {
                return Err(Error::Timeout { timeout_ms: 0 });
            }
            timeout_ms = timeout_ms.min(remaining.ceil() as u64);
        }
        Ok(timeout_ms)
    }

    fn headers(
        &self,
        request: &ApiRequest<P::Payload>,
        request_id: Option<&str>,
        retries_done: u32,
    ) -> Vec<(String, String)> {
        let mut headers = vec![
            (
                "authorization".to_owned(),
                format!("Bearer {}", self.config.bearer_token),
            ),
            ("accept".to_owned(), request.accept.to_owned()),
        ];
        // The official SDKs send it on every POST, even one without a body. A multipart body
        // gets its type, with the boundary, from the host.
        let multipart = matches!(request.body, Some(RequestBody::Upload { .. }));
        if request.method != Method::Get && !multipart {
            headers.push(("content-type".to_owned(), "application/json".to_owned()));
        }
        if let Some(request_id) = request_id {
            headers.push((REQUEST_ID_HEADER.to_owned(), request_id.to_owned()));
        }

        for (name, value) in &self.config.default_headers {
            let name = name.to_ascii_lowercase();
            headers.retain(|(existing, _)| *existing != name);
            headers.push((name, value.clone()));
        }

        headers.retain(|(name, _)| name != RETRY_COUNT_HEADER);
        headers.push((RETRY_COUNT_HEADER.to_owned(), retries_done.to_string()));
        headers
    }

    fn new_request_id(&self) -> String {
        let mut bytes = [0u8; 16];
        self.platform.fill_random(&mut bytes);
        format!("runloop-wasm-retry-{}", uuid_v4(bytes))
    }
}

/// Decodes a JSON body. The error names the request, the expected type and the path of the
/// field that did not match.
pub fn decode_json<T: DeserializeOwned>(body: &str, context: &str) -> Result<T> {
    json::decode(body).map_err(|error| Error::Decode {
        context: context.to_owned(),
        type_name: short_type_name::<T>(),
        path: if error.path.is_empty() {
            ".".to_owned()
        } else {
            error.path
        },
        message: error.message,
    })
}

fn short_type_name<T>() -> &'static str {
    let full = std::any::type_name::<T>();
    let without_generics = full.split('<').next().unwrap_or(full);
    without_generics
        .rsplit("::")
        .next()
        .unwrap_or(without_generics)
}
