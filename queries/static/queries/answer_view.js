// One answer on the chat page: its text rendered as sanitised Markdown with
// [n] markers linked to its numbered sources, the sources themselves, and a
// note when it ended early.
"use strict";

(() => {
  let turns = 0;

  function addAnswer() {
    turns += 1;
    const turn = { id: turns, text: "", citations: [], ended: false };
    turn.el = document.createElement("article");
    turn.el.className = "answer";
    turn.body = document.createElement("div");
    turn.body.className = "answer-text";
    turn.list = document.createElement("ol");
    turn.list.className = "citations";
    turn.list.setAttribute("aria-label", "Sources");
    turn.el.append(turn.body, turn.list);
    document.getElementById("messages").append(turn.el);
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
      showWhere(link);
    }
  }

  // A link's words are the model's (or a document's): say where it really
  // goes, unless the words already show it.
  function showWhere(link) {
    const where = link.protocol === "mailto:" ? link.href.slice(7) : link.hostname;
    if (!where || link.textContent.includes(where)) return;
    const note = document.createElement("span");
    note.className = "link-host";
    note.textContent = ` (${where})`;
    link.after(note);
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
      where.textContent =
        (cite.page ? ` · page ${cite.page}` : "") +
        (cite.ocr ? " · read by OCR, may hold misread words" : "");
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

  window.AnswerView = { addAnswer, markEnded, renderAnswer, renderCitations };
})();
