// The chat page: documents, conversations and streamed answers, all through
// the same HTTP API that REST clients use (session cookie + CSRF token).
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const state = {
    conversation: null,
    controller: null,
    poll: null,
    pages: {},
    scope: new Map(), // documents the next question is about: id -> title (none: all)
    summaries: new Set(), // documents whose summary is open (kept when the list refreshes)
  };
  const STAGES = {
    retrieving: "Searching your documents…",
    generating: "Writing the answer…",
  };
  const IN_PROGRESS = new Set(["queued", "parsing", "embedding", "indexing"]);
  const { ApiError, api, csrfToken, refusal } = window.ChatApi;
  const { addAnswer, citationFor, markEnded, renderAnswer, renderCitations, showStage, stopTyping } =
    window.AnswerView;
  const { openPassage } = window.PassageView;
  const { openTrace } = window.TraceView;

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

  // The API's links are absolute; requests stay on this page's origin.
  function pathOf(url) {
    const parsed = new URL(url, location.href);
    return parsed.pathname + parsed.search;
  }

  // Fill a sidebar list from a list endpoint, as many pages as the reader has
  // asked for ("Show more" asks for one more); the empty-state note shows when
  // there is nothing. Returns the items, or null when a request failed.
  async function fillList(path, listId, emptyId, render) {
    const wanted = state.pages[listId] || 1;
    const items = [];
    let next = path;
    try {
      for (let page = 0; page < wanted && next; page += 1) {
        const data = await api(next);
        items.push(...data.results);
        next = data.next ? pathOf(data.next) : null;
      }
    } catch (error) {
      showError(error);
      return null;
    }
    const rows = items.map(render);
    if (next) {
      const more = document.createElement("li");
      more.className = "more";
      const button = document.createElement("button");
      button.type = "button";
      button.className = "link";
      button.textContent = "Show more";
      button.addEventListener("click", () => {
        state.pages[listId] = wanted + 1;
        fillList(path, listId, emptyId, render);
      });
      more.append(button);
      rows.push(more);
    }
    $(listId).replaceChildren(...rows);
    $(emptyId).hidden = items.length > 0;
    return items;
  }

  function documentItem(doc) {
    const item = document.createElement("li");
    item.className = `document status-${doc.status}`;
    item.dataset.id = doc.id;
    const pick = document.createElement("input");
    pick.type = "checkbox";
    pick.className = "pick";
    pick.setAttribute("aria-label", `Ask about ${doc.title} only`);
    pick.checked = state.scope.has(doc.id);
    pick.disabled = doc.status !== "ready";
    pick.addEventListener("change", () => {
      if (pick.checked) state.scope.set(doc.id, doc.title);
      else state.scope.delete(doc.id);
      renderScope();
    });
    // A ready document's name opens its summary beneath it.
    const name = document.createElement(doc.summary ? "button" : "span");
    name.className = doc.summary ? "name name-button" : "name";
    name.textContent = doc.title;
    name.title = doc.filename;
    let summary = null;
    if (doc.summary) {
      name.type = "button";
      summary = document.createElement("p");
      summary.className = "summary";
      summary.textContent = doc.summary + " ";
      const graphLink = document.createElement("a");
      graphLink.href = `/documents/${doc.id}/graph/`;
      graphLink.textContent = "Its graph";
      summary.append(graphLink);
      summary.hidden = !state.summaries.has(doc.id);
      name.setAttribute("aria-expanded", String(!summary.hidden));
      name.addEventListener("click", () => {
        summary.hidden = !summary.hidden;
        name.setAttribute("aria-expanded", String(!summary.hidden));
        if (summary.hidden) state.summaries.delete(doc.id);
        else state.summaries.add(doc.id);
      });
    }
    const badge = document.createElement("span");
    badge.className = "badge";
    badge.textContent = statusText(doc);
    if (doc.status === "ready") {
      // The usual state is a check mark (its word kept for screen readers and as a
      // tooltip), so that a name has most of the row.
      badge.title = badge.textContent;
      const word = document.createElement("span");
      word.className = "visually-hidden";
      word.textContent = badge.textContent;
      badge.replaceChildren(word);
    }
    if (IN_PROGRESS.has(doc.status)) badge.style.setProperty("--done", `${doc.progress}%`);
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "link danger";
    remove.textContent = "Delete";
    remove.setAttribute("aria-label", `Delete ${doc.title}`);
    remove.addEventListener("click", () => deleteDocument(doc));
    item.append(pick, name, badge, remove);
    if (summary) item.append(summary);
    if (doc.status === "failed" && doc.error) {
      const reason = document.createElement("p");
      reason.className = "reason";
      reason.textContent = doc.error;
      item.append(reason);
    }
    return item;
  }

  async function loadDocuments() {
    clearTimeout(state.poll);
    const docs = await fillList("/api/documents/", "documents", "no-documents", documentItem);
    $("pick-hint").hidden = !(docs && docs.some((doc) => doc.status === "ready"));
    if (docs && docs.some((doc) => IN_PROGRESS.has(doc.status))) {
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
    const attachments =
      doc.content_type === "message/rfc822" ? " Files attached to it are deleted with it." : "";
    const question = `Delete “${doc.title}”? Its passages will no longer be used for answers.`;
    if (!window.confirm(question + attachments)) {
      return;
    }
    try {
      await api(`/api/documents/${doc.id}/`, { method: "DELETE" });
      state.scope.delete(doc.id);
      renderScope();
    } catch (error) {
      showError(error);
    }
    await loadDocuments();
  }

  // --- asking about some documents only -------------------------------------
  // Stays above the box while it applies, each document with its own way out.
  function renderScope() {
    const chips = [...state.scope].map(([id, title]) => {
      const chip = document.createElement("li");
      chip.append(title);
      const drop = document.createElement("button");
      drop.type = "button";
      drop.className = "link";
      drop.textContent = "×";
      drop.setAttribute("aria-label", `Remove ${title} from the chosen documents`);
      drop.addEventListener("click", () => {
        state.scope.delete(id);
        renderScope();
        const pick = document.querySelector(`#documents li[data-id="${id}"] .pick`);
        if (pick) pick.checked = false;
      });
      chip.append(drop);
      return chip;
    });
    $("scope-documents").replaceChildren(...chips);
    $("scope").hidden = chips.length === 0;
    $("compare").hidden = chips.length < 2;
  }

  function clearScope() {
    state.scope.clear();
    renderScope();
    for (const pick of document.querySelectorAll("#documents .pick")) pick.checked = false;
  }

  // --- conversations -------------------------------------------------------
  function conversationItem(conversation) {
    const item = document.createElement("li");
    item.className = "conversation-row";
    const open = document.createElement("button");
    open.type = "button";
    open.className = "conversation";
    open.textContent = conversation.title;
    open.title = conversation.title;
    if (conversation.id === state.conversation) open.setAttribute("aria-current", "true");
    open.addEventListener("click", () => openConversation(conversation.id));
    const rename = document.createElement("button");
    rename.type = "button";
    rename.className = "link";
    rename.textContent = "Rename";
    rename.setAttribute("aria-label", `Rename “${conversation.title}”`);
    rename.addEventListener("click", () => startRename(item, conversation));
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "link danger";
    remove.textContent = "Delete";
    remove.setAttribute("aria-label", `Delete “${conversation.title}”`);
    remove.addEventListener("click", () => deleteConversation(conversation));
    const actions = document.createElement("span");
    actions.className = "actions";
    actions.append(rename, remove);
    item.append(open, actions);
    return item;
  }

  // The title becomes a box: Enter (or leaving it) saves, Escape keeps the old one.
  function startRename(item, conversation) {
    const box = document.createElement("input");
    box.type = "text";
    box.className = "rename";
    box.maxLength = 200;
    box.value = conversation.title;
    box.setAttribute("aria-label", "New name of the conversation");
    let done = false;
    const finish = async (save) => {
      if (done) return;
      done = true;
      const title = box.value.trim();
      if (save && title && title !== conversation.title) {
        try {
          await api(`/api/conversations/${conversation.id}/`, {
            method: "PATCH",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ title }),
          });
        } catch (error) {
          showError(error);
        }
      }
      await loadConversations();
    };
    box.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        finish(true);
      } else if (event.key === "Escape") {
        event.preventDefault();
        finish(false);
      }
    });
    box.addEventListener("blur", () => finish(true));
    item.replaceChildren(box);
    box.focus();
    box.select();
  }

  async function deleteConversation(conversation) {
    const current = conversation.id === state.conversation;
    if (current && state.controller) {
      showError("Stop the answer being written before deleting its conversation.");
      return;
    }
    if (!window.confirm(`Delete the conversation “${conversation.title}”? ` +
      "Its questions and answers are deleted for good.")) {
      return;
    }
    try {
      await api(`/api/conversations/${conversation.id}/`, { method: "DELETE" });
    } catch (error) {
      showError(error);
    }
    if (current) {
      state.conversation = null;
      $("messages").replaceChildren();
    }
    await loadConversations();
  }

  function loadConversations() {
    return fillList("/api/conversations/", "conversations", "no-conversations", conversationItem);
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
        stopTyping(turn);
        renderAnswer(turn);
        renderCitations(turn);
        if (message.status !== "complete") markEnded(turn, message.status === "interrupted"
          ? "Stopped before the end." : "This answer failed.");
        offerTrace(turn, id, message.id);
      }
    }
    closeMenu();
    showLatest();
    await loadConversations();
    $("question").focus();
  }

  function showLatest() {
    const messages = $("messages");
    messages.scrollTop = messages.scrollHeight;
  }

  // While an answer grows, the view follows it unless the reader scrolled up.
  // Judged before each change: a source added under the answer grows it by more
  // than a line, and judged after, the view stayed behind for good.
  function atLatest() {
    const messages = $("messages");
    return messages.scrollHeight - messages.scrollTop - messages.clientHeight < 80;
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
  function addQuestion(text, about = [], compare = false) {
    const bubble = document.createElement("div");
    bubble.className = "question";
    bubble.textContent = text;
    if (about.length) {
      const note = document.createElement("span");
      note.className = "about";
      note.textContent = compare ? `Comparing ${about.join(", ")}`
        : `About ${about.join(", ")} only`;
      bubble.append(note);
    }
    $("messages").append(bubble);
    return bubble;
  }

  // Under an answer: what was searched, found and chosen for it, and how long each step took.
  function offerTrace(turn, conversationId, messageId) {
    const open = document.createElement("button");
    open.type = "button";
    open.className = "link trace-link";
    open.textContent = "How this answer was found";
    open.addEventListener("click", () => openTrace(conversationId, messageId));
    turn.el.append(open);
  }

  function setBusy(busy) {
    $("send").disabled = busy;
    $("stop").disabled = !busy;
    $("messages").setAttribute("aria-busy", busy ? "true" : "false");
  }

  // Said in words too, not by colour alone, and as a reopened conversation says it.
  function failed(turn) {
    turn.el.classList.add("failed");
    markEnded(turn, "This answer failed.");
  }

  function handleEvent(turn, event, data) {
    const follow = atLatest();
    showEvent(turn, event, data);
    if (follow) turn.el.scrollIntoView({ block: "end" });
  }

  function showEvent(turn, event, data) {
    if (event === "status") {
      const stage = STAGES[JSON.parse(data).stage] || "";
      setStage(stage);
      showStage(turn, stage);
    } else if (event === "citations") {
      turn.citations = JSON.parse(data);
      renderCitations(turn);
      renderAnswer(turn);
    } else if (event === "token") {
      turn.text += data;
      renderAnswer(turn);
    } else if (event === "done") {
      turn.ended = true;
      stopTyping(turn);
      const done = JSON.parse(data);
      state.conversation = done.conversation_id;
      offerTrace(turn, done.conversation_id, done.message_id);
    } else if (event === "error") {
      turn.ended = true;
      failed(turn);
      showError(JSON.parse(data).message);
    }
  }

  const RESUME_TRIES = 5;
  const RESUME_WAIT_MS = 500;

  function pause(ms, signal) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(resolve, ms);
      signal.addEventListener("abort", () => {
        clearTimeout(timer);
        reject(new DOMException("Stopped", "AbortError"));
      }, { once: true });
    });
  }

  // Read an answer's events to the end of the response. Returns null when the
  // body ended normally, or an ApiError when the connection dropped.
  async function readEvents(response, turn, controller) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    const parser = new SSEParser((event, data, id) => {
      if (id) turn.lastId = id;
      handleEvent(turn, event, data);
    });
    for (;;) {
      let chunk;
      try {
        chunk = await reader.read();
      } catch (error) {
        if (controller.signal.aborted) throw error;
        return new ApiError("The connection dropped before the answer was complete. " +
          "Please ask again.", 0, "network");
      }
      if (chunk.done) {
        parser.end();
        return turn.ended ? null : new ApiError("", 0, "incomplete");
      }
      parser.feed(decoder.decode(chunk.value, { stream: true }));
    }
  }

  // The rest of an answer after its last event received (Last-Event-ID). Returns
  // null when it has come whole, an ApiError worth another try, or throws when
  // trying again is no use (the answer is gone, the session ended).
  async function resumeAnswer(messageId, turn, controller) {
    let response;
    try {
      response = await fetch(`/api/query/stream/${messageId}/`, {
        credentials: "same-origin",
        headers: turn.lastId ? { "Last-Event-ID": turn.lastId } : {},
        signal: controller.signal,
      });
    } catch (error) {
      if (controller.signal.aborted) throw error;
      return new ApiError("The connection dropped before the answer was complete. " +
        "Please ask again.", 0, "network");
    }
    if (response.status === 204) {
      turn.ended = true; // everything had come
      return null;
    }
    if (!response.ok) {
      const refused = await refusal(response);
      if (refused.code === "session_expired") throw refused;
      throw new ApiError("The answer stopped unexpectedly. Please ask again.", 0, "incomplete");
    }
    return readEvents(response, turn, controller);
  }

  // Each chosen document searched on its own, so the answer hears from each.
  function compareChosen() {
    if (state.controller) return;
    const question = $("question").value.trim() ||
      "Compare these documents: where do they agree and where do they differ?";
    $("question").value = "";
    ask(question, { compare: true });
  }

  async function ask(question, { compare = false } = {}) {
    hideError();
    const asked = addQuestion(question, [...state.scope.values()], compare);
    const turn = addAnswer();
    turn.el.scrollIntoView({ block: "end" });
    setBusy(true);
    setStage(STAGES.retrieving);
    showStage(turn, STAGES.retrieving);
    const controller = new AbortController();
    state.controller = controller;
    const body = { query: question, max_results: 5 };
    if (state.conversation) body.conversation_id = state.conversation;
    if (state.scope.size) body.document_ids = [...state.scope.keys()];
    if (compare) body.compare = true;
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
      if (!response.ok) {
        const refused = await refusal(response);
        // The app turned it away before storing anything (a limit, a full
        // server, bad input): the question goes back into the box.
        refused.notAsked = response.status < 500 || refused.code === "too_busy";
        throw refused;
      }
      // Known before the first token, so a stopped or failed first answer
      // still leaves the follow-up in the same conversation.
      state.conversation = response.headers.get("X-Conversation-Id") || state.conversation;
      const messageId = response.headers.get("X-Message-Id");
      let lost = await readEvents(response, turn, controller);
      // A connection lost mid-answer (a network change, a proxy giving up): the
      // answer goes on being written on the server; ask for what was missed.
      for (let attempt = 0; lost && !turn.ended && messageId && attempt < RESUME_TRIES; attempt++) {
        showStage(turn, "Connection lost: reconnecting…");
        setStage("Connection lost: reconnecting…");
        await pause(RESUME_WAIT_MS * 2 ** attempt, controller.signal);
        lost = await resumeAnswer(messageId, turn, controller);
      }
      if (!turn.ended) {
        // Cut before its last event and not to be resumed: failed like any other
        // broken answer, so it stays marked after the alert goes.
        throw new ApiError(lost && lost.message ? lost.message
          : "The answer stopped unexpectedly. Please ask again.", 0, "incomplete");
      }
    } catch (error) {
      if (controller.signal.aborted) {
        markEnded(turn, "Stopped.");
      } else if (error.notAsked) {
        asked.remove();
        turn.el.remove();
        if (!$("question").value) $("question").value = question;
        showError(error);
      } else {
        failed(turn);
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
  // A [n] marker or a source opens its passage in full; the source it names
  // stays marked in the list once the passage is closed.
  $("messages").addEventListener("click", (event) => {
    const opener = event.target.closest("a.marker, button.source");
    if (!opener) return;
    event.preventDefault();
    const cite = citationFor(opener);
    if (!cite) return;
    for (const old of document.querySelectorAll(".citations li.highlight")) {
      old.classList.remove("highlight");
    }
    opener.closest(".answer").querySelector(`li[value="${cite.n}"]`)?.classList.add("highlight");
    openPassage(cite);
  });
  $("scope-clear").addEventListener("click", clearScope);
  $("compare").addEventListener("click", compareChosen);
  $("menu").addEventListener("click", () => {
    const open = document.body.classList.toggle("menu-open");
    $("menu").setAttribute("aria-expanded", open ? "true" : "false");
  });

  marked.setOptions({ gfm: true, breaks: true });
  // A question suggested by another page (the graph's "Ask about it"), to send or edit.
  const suggested = new URLSearchParams(location.search).get("ask");
  if (suggested) {
    $("question").value = suggested.slice(0, 4000);
    $("question").focus();
    history.replaceState(null, "", location.pathname);
  }
  loadDocuments();
  loadConversations();
})();
