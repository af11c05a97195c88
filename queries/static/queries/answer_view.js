// One answer on the chat page: a typing indicator with the stage until its
// first token, its text rendered as sanitised Markdown with [n] markers that
// open their passage, the sources it cites (the others searched folded away),
// and a note when it ended early.
"use strict";

(() => {
  let turns = 0;
  const citationOf = new WeakMap(); // a source's button -> its citation

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

  function addAnswer() {
    turns += 1;
    const turn = { id: turns, text: "", citations: [], ended: false, cited: null };
    turn.el = document.createElement("article");
    turn.el.className = "answer";
    turn.typing = document.createElement("div");
    turn.typing.className = "typing";
    const dots = document.createElement("span");
    dots.className = "dots";
    dots.setAttribute("aria-hidden", "true");
    dots.append(...[0, 1, 2].map(() => document.createElement("i")));
    turn.stage = document.createElement("span");
    turn.stage.className = "typing-stage";
    turn.typing.append(dots, turn.stage);
    turn.body = document.createElement("div");
    turn.body.className = "answer-text";
    turn.sources = document.createElement("div");
    turn.sources.className = "sources";
    turn.el.append(turn.typing, turn.body, turn.sources);
    document.getElementById("messages").append(turn.el);
    return turn;
  }

  // Until the first token: the dots and what is being done ("Searching…").
  function showStage(turn, text) {
    turn.stage.textContent = text;
    if (!turn.typing.isConnected && !turn.ended) turn.body.after(turn.typing); // reconnecting
  }

  function stopTyping(turn) {
    turn.typing.remove();
  }

  const citeId = (turn, n) => `cite-${turn.id}-${n}`;

  function sanitised(markdown) {
    return DOMPurify.sanitize(marked.parse(markdown, { async: false }), SANITIZE);
  }

  // A snippet reads as text: a passage's own Markdown (# headings, **bold**,
  // table pipes) is rendered and only its words are kept.
  function plainText(markdown) {
    const box = document.createElement("div");
    box.innerHTML = sanitised(markdown);
    // Lines and blocks end with a space, so "…example<br>To:" reads "…example To:".
    for (const end of box.querySelectorAll("br, p, li, tr, td, th, h1, h2, h3, h4, h5, h6")) {
      end.after(" ");
    }
    return box.textContent.replace(/\s+/g, " ").trim();
  }

  function renderMarkdown(element, markdown) {
    element.innerHTML = sanitised(markdown);
    for (const link of element.querySelectorAll("a:not(.marker)")) {
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      showWhere(link);
    }
  }

  function renderAnswer(turn) {
    if (turn.text) stopTyping(turn);
    renderMarkdown(turn.body, turn.text);
    linkMarkers(turn);
    const cited = citedNumbers(turn).join(",");
    if (cited !== turn.cited) renderCitations(turn);
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

  // The passages the text points at, from its linked markers (never from code).
  function citedNumbers(turn) {
    const numbers = new Set();
    for (const marker of turn.body.querySelectorAll("a.marker")) {
      numbers.add(Number(marker.dataset.n));
    }
    return [...numbers].sort((a, b) => a - b);
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
        link.dataset.n = part;
        link.textContent = `[${part}]`;
        link.setAttribute("aria-label", `Source ${part}: open the passage`);
        return link;
      });
      node.replaceWith(...pieces);
    }
  }

  function pageName(cite) {
    const page = cite.page_label || cite.page;
    return page ? `page ${page}` : "";
  }

  function whereText(cite) {
    return [pageName(cite), cite.ocr ? "read by OCR, may hold misread words" : ""]
      .filter(Boolean)
      .join(" · ");
  }

  function sourceItem(turn, cite) {
    const item = document.createElement("li");
    item.id = citeId(turn, cite.n);
    item.tabIndex = -1;
    item.value = cite.n;
    const open = document.createElement("button");
    open.type = "button";
    open.className = "source";
    citationOf.set(open, cite);
    const name = document.createElement("strong");
    name.textContent = cite.filename;
    open.append(name);
    const where = whereText(cite);
    if (where) {
      const note = document.createElement("span");
      note.className = "muted";
      note.textContent = ` · ${where}`;
      open.append(note);
    }
    const snippet = document.createElement("span");
    snippet.className = "snippet";
    snippet.textContent = plainText(cite.chunk_text);
    open.append(snippet);
    item.append(open);
    return item;
  }

  // The sources the text cites, numbered as in the text; the other passages
  // searched stay folded under one line until asked for.
  function renderCitations(turn) {
    const cited = new Set(citedNumbers(turn));
    turn.cited = [...cited].join(",");
    const shown = turn.citations.filter((c) => cited.has(c.n));
    const others = turn.citations.filter((c) => !cited.has(c.n));
    const parts = [];
    if (shown.length) {
      const list = document.createElement("ol");
      list.className = "citations";
      list.setAttribute("aria-label", "Sources");
      list.append(...shown.map((cite) => sourceItem(turn, cite)));
      parts.push(list);
    }
    if (others.length) {
      const fold = document.createElement("details");
      fold.className = "other-sources";
      fold.open = Boolean(turn.sources.querySelector("details[open]"));
      const summary = document.createElement("summary");
      const passages = others.length === 1 ? "passage" : "passages";
      summary.textContent = shown.length
        ? `${others.length} more ${passages} searched, not cited`
        : `${others.length} ${passages} searched`;
      const list = document.createElement("ol");
      list.className = "citations";
      list.setAttribute("aria-label", "Other passages searched");
      list.append(...others.map((cite) => sourceItem(turn, cite)));
      fold.append(summary, list);
      parts.push(fold);
    }
    turn.sources.replaceChildren(...parts);
  }

  function markEnded(turn, note) {
    stopTyping(turn);
    const tag = document.createElement("p");
    tag.className = "note";
    tag.textContent = note;
    turn.el.append(tag);
  }

  // The citation behind a source's button, or behind a [n] marker in the text.
  function citationFor(element) {
    const button = element.matches("a.marker")
      ? document.getElementById(element.getAttribute("href").slice(1))?.querySelector("button")
      : element.closest("button.source");
    return button ? citationOf.get(button) : undefined;
  }

  window.AnswerView = {
    addAnswer,
    citationFor,
    markEnded,
    pageName,
    plainText,
    renderAnswer,
    renderCitations,
    renderMarkdown,
    showStage,
    stopTyping,
    whereText,
  };
})();
