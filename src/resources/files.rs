//! File read and write endpoints.

use runloop_types::{DevboxExecutionDetailView, ReadFileParams, WriteFileParams};

use super::devbox_path;
use crate::client::{ApiRequest, Client, RequestOptions};
use crate::error::Result;
use crate::platform::Platform;

/// File endpoints, from [`Client::files`].
#[derive(Debug)]
pub struct Files<'a, P> {
    client: &'a Client<P>,
}

impl<'a, P: Platform> Files<'a, P> {
    pub(crate) fn new(client: &'a Client<P>) -> Self {
        Self { client }
    }

    /// `POST /v1/devboxes/{id}/read_file_contents` with `Accept: text/plain`: returns the file
    /// as UTF-8 text.
    pub async fn read_file_contents(
        &self,
        devbox_id: &str,
        params: &ReadFileParams,
        options: &RequestOptions<P::Signal>,
    ) -> Result<String> {
        let request = ApiRequest::post(devbox_path(devbox_id, "/read_file_contents"))
            .json(params)?
            .accept("text/plain");
        self.client.send_text(&request, options).await
    }

    /// `POST /v1/devboxes/{id}/write_file_contents`: replaces the file with UTF-8 text.
    pub async fn write_file_contents(
        &self,
        devbox_id: &str,
        params: &WriteFileParams,
        options: &RequestOptions<P::Signal>,
    ) -> Result<DevboxExecutionDetailView> {
        let request =
            ApiRequest::post(devbox_path(devbox_id, "/write_file_contents")).json(params)?;
        self.client.send_json(&request, options).await
    }
}
