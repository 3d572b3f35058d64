// The Runloop REST calls the benchmark makes with plain `fetch`: the floor that the SDKs are
// compared with, and the set-up and clean-up steps that are not timed.

import { randomUUID } from 'node:crypto';

/** A minimal client over global `fetch` that throws on any non-2xx response. */
export class RawApi {
  /** @param {{ baseURL: string, token: string }} server */
  constructor({ baseURL, token }) {
    this.baseURL = baseURL;
    this.headers = {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json',
    };
  }

  /** Sends one request and returns the response body as text. */
  async request(method, path, body) {
    const response = await fetch(`${this.baseURL}${path}`, {
      method,
      headers: this.headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) {
      throw new Error(`${method} ${path} failed with HTTP ${response.status}: ${text}`);
    }
    return text;
  }

  /** Sends one request and returns the response body parsed as JSON. */
  async json(method, path, body) {
    return JSON.parse(await this.request(method, path, body));
  }

  /** `GET /v1/devboxes/{id}`. */
  getDevbox(id) {
    return this.json('GET', `/v1/devboxes/${id}`);
  }

  /** Creates a devbox (optionally from a snapshot) and returns its view once it runs. */
  createDevbox(params = {}) {
    return this.json('POST', '/v1/devboxes/create_and_await_running', params);
  }

  /** Shuts a devbox down; a devbox that is already gone is not an error here. */
  async shutdown(id) {
    const response = await fetch(`${this.baseURL}/v1/devboxes/${id}/shutdown`, {
      method: 'POST',
      headers: this.headers,
      body: '{}',
    });
    await response.arrayBuffer();
  }

  /**
   * Runs a command the way the SDKs' `cmd.exec` does: `POST /execute` with a fresh
   * `command_id`, then long-polls `wait_for_status` until the execution completes.
   */
  async exec(id, command) {
    let execution = await this.json('POST', `/v1/devboxes/${id}/execute`, {
      command,
      command_id: randomUUID(),
    });
    while (execution.status !== 'completed') {
      execution = await this.json(
        'POST',
        `/v1/devboxes/${id}/executions/${execution.execution_id}/wait_for_status`,
        { statuses: ['completed'] },
      );
    }
    return execution;
  }

  /** Runs a command and throws unless it exits with code 0. */
  async run(id, command) {
    const execution = await this.exec(id, command);
    if (execution.exit_status !== 0) {
      throw new Error(
        `command ${JSON.stringify(command)} in ${id} exited with ${execution.exit_status}: `
          + execution.stderr,
      );
    }
    return execution;
  }

  /** `POST write_file_contents`. */
  writeFile(id, filePath, contents) {
    return this.request('POST', `/v1/devboxes/${id}/write_file_contents`, {
      file_path: filePath,
      contents,
    });
  }

  /** `POST read_file_contents`, returning the file's text. */
  readFile(id, filePath) {
    return this.request('POST', `/v1/devboxes/${id}/read_file_contents`, {
      file_path: filePath,
    });
  }

  /** Takes a disk snapshot with the synchronous endpoint, which returns once it is complete. */
  snapshot(id, name) {
    return this.json('POST', `/v1/devboxes/${id}/snapshot_disk`, { name });
  }

  /** Deletes a snapshot. */
  deleteSnapshot(id) {
    return this.request('POST', `/v1/devboxes/disk_snapshots/${id}/delete`, {});
  }
}
