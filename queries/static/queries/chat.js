// The chat page: documents, conversations and streamed answers, all through
// the same HTTP API that REST clients use (session cookie + CSRF token).
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const state = { conversation: null, controller: null, poll: null, turns: 0 };
  const STAGES = {
    retrieving: "Searching your documents…",
    generating: "Writing the answer…",
  };
  const IN_PROGRESS = new Set(["queued", "parsing", "embedding", "indexing"]);

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
    if (response.status >= 500 || !detail) {
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

  // --- messages and errors -------------------------------------------------
  function showError(error) {
    const box = $("error");
    box.replaceChildren();
    const text = typeof error === "string" ? error : error.message;
    box.append(text);
    if (error && error.code === "session_expired") {
      const link = document.createElement("a");
      link.href = "/accounts/login/?expired=1&next=/";
      link.textContent = "Sign in again";
      box.append(" ", link, ".");
    }
    box.hidden = false;
  }

  function hideError() {
    $("error").hidden = true;
    $("error").replaceChildren();
  }

  function setStage(text) {
    $("stage").textContent = text || "";
  }

  // --- documents -----------------------------------------------------------
  function statusText(doc) {
    if (doc.status === "ready") return "Ready";
    if (doc.status === "failed") return "Failed";
    const name = doc.status.charAt(0).toUpperCase() + doc.status.slice(1);
    return doc.status === "queued" ? name : `${name} ${doc.progress}%`;
  }

  async function loadDocuments() {
    clearTimeout(state.poll);
    let data;
    try {
      data = await api("/api/documents/");
    } catch (error) {
      showError(error);
      return;
    }
    const list = $("documents");
    list.replaceChildren();
    for (const doc of data.results) {
      const item = document.createElement("li");
      item.className = `document status-${doc.status}`;
      item.dataset.id = doc.id;
      const name = document.createElement("span");
      name.className = "name";
      name.textContent = doc.title;
      name.title = doc.filename;
      const badge = document.createElement("span");
      badge.className = "badge";
      badge.textContent = statusText(doc);
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "link danger";
      remove.textContent = "Delete";
      remove.setAttribute("aria-label", `Delete ${doc.title}`);
      remove.addEventListener("click", () => deleteDocument(doc));
      item.append(name, badge, remove);
      if (doc.status === "failed" && doc.error) {
        const reason = document.createElement("p");
        reason.className = "reason";
        reason.textContent = doc.error;
        item.append(reason);
      }
      list.append(item);
    }
    $("no-documents").hidden = data.results.length > 0;
    if (data.results.some((doc) => IN_PROGRESS.has(doc.status))) {
      state.poll = setTimeout(loadDocuments, 1500);
    }
  }

  async function upload(files) {
    hideError();
    const problems = [];
    for (const file of files) {
      const form = new FormData();
      form.append("file", file);
      try {
        await api("/api/documents/", { method: "POST", body: form });
      } catch (error) {
        if (error.code === "session_expired") {
          showError(error);
          return;
        }
        problems.push(`${file.name}: ${error.message}`);
      }
    }
    if (problems.length) showError(problems.join(" "));
    $("upload").value = "";
    await loadDocuments();
  }

  async function deleteDocument(doc) {
    if (!window.confirm(`Delete “${doc.title}”? Its passages will no longer be used for answers.`)) {
      return;
    }
    try {
      await api(`/api/documents/${doc.id}/`, { method: "DELETE" });
    } catch (error) {
      showError(error);
    }
    await loadDocuments();
  }

  // --- conversations -------------------------------------------------------
  async function loadConversations() {
    let data;
    try {
      data = await api("/api/conversations/");
    } catch (error) {
      showError(error);
      return;
    }
    const list = $("conversations");
    list.replaceChildren();
    for (const conversation of data.results) {
      const item = document.createElement("li");
      const open = document.createElement("button");
      open.type = "button";
      open.className = "conversation";
      open.textContent = conversation.title;
      if (conversation.id === state.conversation) open.setAttribute("aria-current", "true");
      open.addEventListener("click", () => openConversation(conversation.id));
      item.append(open);
      list.append(item);
    }
    $("no-conversations").hidden = data.results.length > 0;
  }

  async function openConversation(id) {
    if (state.controller) return;
    hideError();
    let data;
    try {
      data = await api(`/api/conversations/${id}/`);
    } catch (error) {
      showError(error);
      return;
    }
    state.conversation = id;
    $("messages").replaceChildren();
    for (const message of data.messages) {
      if (message.role === "user") {
        addQuestion(message.text);
      } else {
        const turn = addAnswer();
        turn.citations = message.citations || [];
        turn.text = message.text;
        renderCitations(turn);
        renderAnswer(turn);
        if (message.status !== "complete") markEnded(turn, message.status === "interrupted"
          ? "Stopped before the end." : "This answer failed.");
      }
    }
    closeMenu();
    await loadConversations();
    $("question").focus();
  }

  function newChat() {
    if (state.controller) return;
    state.conversation = null;
    $("messages").replaceChildren();
    hideError();
    loadConversations();
    closeMenu();
    $("question").focus();
  }

  // --- one question and its answer -----------------------------------------
  function addQuestion(text) {
    const bubble = document.createElement("div");
    bubble.className = "question";
    bubble.textContent = text;
    $("messages").append(bubble);
  }

  function addAnswer() {
    state.turns += 1;
    const turn = { id: state.turns, text: "", citations: [], ended: false };
    turn.el = document.createElement("article");
    turn.el.className = "answer";
    turn.body = document.createElement("div");
    turn.body.className = "answer-text";
    turn.list = document.createElement("ol");
    turn.list.className = "citations";
    turn.list.setAttribute("aria-label", "Sources");
    turn.el.append(turn.body, turn.list);
    $("messages").append(turn.el);
    return turn;
  }

  const citeId = (turn, n) => `cite-${turn.id}-${n}`;

  // Answers quote documents and may be steered by them: keep text, lists,
  // tables, emphasis and links; drop anything that loads by itself (images,
  // media), asks for input (forms) or could shadow the page's own ids.
  const SANITIZE = {
    FORBID_TAGS: ["img", "picture", "video", "audio", "source", "track", "iframe", "object",
      "embed", "form", "input", "button", "textarea", "select", "option", "style", "svg",
      "math", "link", "meta", "base"],
    FORBID_ATTR: ["id", "name", "style", "srcset", "action", "formaction"],
    ALLOWED_URI_REGEXP: /^(?:https?:|mailto:|#)/i,
  };
  const MARKER = /\[(\d+)\]/g;

  function renderAnswer(turn) {
    turn.body.innerHTML = DOMPurify.sanitize(marked.parse(turn.text, { async: false }), SANITIZE);
    linkMarkers(turn);
    for (const link of turn.body.querySelectorAll("a:not(.marker)")) {
      link.target = "_blank";
      link.rel = "noopener noreferrer";
    }
  }

  // [n] markers become links to their citation, in the rendered text only
  // (never inside code, where arr[1] is code).
  function linkMarkers(turn) {
    const known = new Set(turn.citations.map((c) => String(c.n)));
    const walker = document.createTreeWalker(turn.body, NodeFilter.SHOW_TEXT);
    const nodes = [];
    while (walker.nextNode()) {
      if (!walker.currentNode.parentElement.closest("code, pre, a")) nodes.push(walker.currentNode);
    }
    for (const node of nodes) {
      const parts = node.data.split(MARKER);
      if (parts.length === 1) continue;
      const pieces = parts.map((part, i) => {
        if (i % 2 === 0) return part;
        if (!known.has(part)) return `[${part}]`;
        const link = document.createElement("a");
        link.className = "marker";
        link.href = `#${citeId(turn, part)}`;
        link.textContent = `[${part}]`;
        return link;
      });
      node.replaceWith(...pieces);
    }
  }

  function renderCitations(turn) {
    turn.list.replaceChildren();
    for (const cite of turn.citations) {
      const item = document.createElement("li");
      item.id = citeId(turn, cite.n);
      item.tabIndex = -1;
      item.value = cite.n;
      const source = document.createElement("strong");
      source.textContent = cite.filename;
      const where = document.createElement("span");
      where.className = "muted";
      where.textContent = cite.page ? ` · page ${cite.page}` : "";
      const snippet = document.createElement("q");
      snippet.textContent = cite.chunk_text;
      item.append(source, where, document.createElement("br"), snippet);
      turn.list.append(item);
    }
  }

  function markEnded(turn, note) {
    const tag = document.createElement("p");
    tag.className = "note";
    tag.textContent = note;
    turn.el.append(tag);
  }

  function setBusy(busy) {
    $("send").disabled = busy;
    $("stop").disabled = !busy;
    $("messages").setAttribute("aria-busy", busy ? "true" : "false");
  }

  function handleEvent(turn, event, data) {
    if (event === "status") {
      setStage(STAGES[JSON.parse(data).stage] || "");
    } else if (event === "citations") {
      turn.citations = JSON.parse(data);
      renderCitations(turn);
      renderAnswer(turn);
    } else if (event === "token") {
      turn.text += data;
      renderAnswer(turn);
    } else if (event === "done") {
      turn.ended = true;
      state.conversation = JSON.parse(data).conversation_id;
    } else if (event === "error") {
      turn.ended = true;
      turn.el.classList.add("failed");
      showError(JSON.parse(data).message);
    }
  }

  async function ask(question) {
    hideError();
    addQuestion(question);
    const turn = addAnswer();
    turn.el.scrollIntoView({ block: "end" });
    setBusy(true);
    setStage(STAGES.retrieving);
    const controller = new AbortController();
    state.controller = controller;
    const body = { query: question, max_results: 5 };
    if (state.conversation) body.conversation_id = state.conversation;
    try {
      let response;
      try {
        response = await fetch("/api/query/stream/", {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
          body: JSON.stringify(body),
          signal: controller.signal,
        });
      } catch (error) {
        if (controller.signal.aborted) throw error;
        throw new ApiError("Connection lost. Check your network and try again.", 0, "network");
      }
      if (!response.ok) throw await refusal(response);
      // Known before the first token, so a stopped or failed first answer
      // still leaves the follow-up in the same conversation.
      state.conversation = response.headers.get("X-Conversation-Id") || state.conversation;
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      const parser = new SSEParser((event, data) => handleEvent(turn, event, data));
      for (;;) {
        let chunk;
        try {
          chunk = await reader.read();
        } catch (error) {
          if (controller.signal.aborted) throw error;
          throw new ApiError("The connection dropped before the answer was complete. " +
            "Please ask again.", 0, "network");
        }
        if (chunk.done) {
          parser.end();
          break;
        }
        parser.feed(decoder.decode(chunk.value, { stream: true }));
      }
      if (!turn.ended) {
        showError("The answer stopped unexpectedly. Please ask again.");
      }
    } catch (error) {
      if (controller.signal.aborted) {
        markEnded(turn, "Stopped.");
      } else {
        turn.el.classList.add("failed");
        showError(error);
      }
    } finally {
      state.controller = null;
      setBusy(false);
      setStage("");
      loadConversations();
    }
  }

  // --- wiring --------------------------------------------------------------
  function closeMenu() {
    document.body.classList.remove("menu-open");
    $("menu").setAttribute("aria-expanded", "false");
  }

  $("ask").addEventListener("submit", (event) => {
    event.preventDefault();
    const question = $("question").value.trim();
    if (!question || state.controller) return;
    $("question").value = "";
    ask(question);
  });
  $("question").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $("ask").requestSubmit();
    }
  });
  $("stop").addEventListener("click", () => state.controller && state.controller.abort());
  $("new-chat").addEventListener("click", newChat);
  $("upload").addEventListener("change", (event) => upload([...event.target.files]));
  // Files picked while the page was still loading, before this listener existed.
  if ($("upload").files.length) upload([...$("upload").files]);
  const zone = $("dropzone");
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    upload([...event.dataTransfer.files]);
  });
  $("messages").addEventListener("click", (event) => {
    const marker = event.target.closest("a.marker");
    if (!marker) return;
    event.preventDefault();
    const target = document.getElementById(marker.getAttribute("href").slice(1));
    if (!target) return;
    for (const old of document.querySelectorAll(".citations li.highlight")) {
      old.classList.remove("highlight");
    }
    target.classList.add("highlight");
    target.scrollIntoView({ block: "nearest", behavior: "smooth" });
    target.focus({ preventScroll: true });
  });
  $("menu").addEventListener("click", () => {
    const open = document.body.classList.toggle("menu-open");
    $("menu").setAttribute("aria-expanded", open ? "true" : "false");
  });

  marked.setOptions({ gfm: true, breaks: true });
  loadDocuments();
  loadConversations();
})();
