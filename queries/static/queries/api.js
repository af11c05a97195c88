// The HTTP API as the chat page uses it: the session cookie with its CSRF
// token, JSON in and out, and every refusal turned into a sentence a person
// understands (never a raw error page).
"use strict";

(() => {
  class ApiError extends Error {
    constructor(message, status, code) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  async function refusal(response) {
    let body = {};
    try {
      body = await response.json();
    } catch (_) {
      /* not JSON: use the status below */
    }
    if (response.status === 401 || body.code === "csrf_failed") {
      return new ApiError("Your session has expired.", response.status, "session_expired");
    }
    const fields = Object.entries(body)
      .filter(([key]) => key !== "detail" && key !== "code" && key !== "document_id")
      .map(([, value]) => [].concat(value).join(" "));
    const detail = fields.length ? fields.join(" ") : body.detail;
    // A 503 names what is busy in words meant for people; other 5xx say nothing useful.
    if ((response.status >= 500 && response.status !== 503) || !detail) {
      return new ApiError("The server ran into a problem. Please try again in a moment.",
        response.status, body.code || "server_error");
    }
    return new ApiError(detail, response.status, body.code);
  }

  async function api(path, options = {}) {
    let response;
    try {
      response = await fetch(path, {
        credentials: "same-origin",
        ...options,
        headers: { "X-CSRFToken": csrfToken(), Accept: "application/json", ...(options.headers || {}) },
      });
    } catch (error) {
      if (error.name === "AbortError") throw error;
      throw new ApiError("Connection lost. Check your network and try again.", 0, "network");
    }
    if (!response.ok) throw await refusal(response);
    return response.status === 204 || response.status === 205 ? null : response.json();
  }

  window.ChatApi = { ApiError, api, csrfToken, refusal };
})();
