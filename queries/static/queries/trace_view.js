// How an answer was found, in a dialog: what was searched for, the passages
// given to the model and which searches found them, each search's hits with
// their scores, and how long each step took.
"use strict";

(() => {
  const { api } = window.ChatApi;
  const $ = (id) => document.getElementById(id);

  function element(tag, text, className) {
    const el = document.createElement(tag);
    if (text !== undefined) el.textContent = text;
    if (className) el.className = className;
    return el;
  }

  function table(headings, rows) {
    const grid = element("table", undefined, "trace-table");
    const head = element("tr");
    head.append(...headings.map((h) => element("th", h)));
    grid.append(head);
    for (const row of rows) {
      const line = element("tr");
      line.append(...row.map((cell) => element("td", cell === null ? "–" : String(cell))));
      grid.append(line);
    }
    return grid;
  }

  const where = (hit) => {
    if (!hit) return "";
    const page = hit.page_label || hit.page;
    return hit.filename + (page ? `, page ${page}` : "");
  };

  function render(trace) {
    const hits = new Map();
    for (const search of trace.searches) for (const hit of search.hits) hits.set(hit.chunk_id, hit);
    for (const hit of trace.expansion) if (!hits.has(hit.chunk_id)) hits.set(hit.chunk_id, hit);

    const parts = [element("p", `Searched for: “${trace.question}”`)];
    parts.push(element("h3", "Passages given to the model"));
    parts.push(table(["", "passage", "found by", "similarity"], trace.chosen.map((c) => [
      `[${c.n}]`, where(hits.get(c.chunk_id)) || c.chunk_id, c.found_by.join(", "), c.similarity,
    ])));
    for (const search of trace.searches) {
      const fold = element("details");
      fold.append(element("summary",
        `${search.mode}: ${search.found} found in ${search.ms} ms (weight ${search.weight})`));
      fold.append(table(["passage", "score", "similarity", "begins"], search.hits.map((h) => [
        where(h), h.score, h.similarity, h.text.replace(/\s+/g, " ").slice(0, 80),
      ])));
      parts.push(fold);
    }
    if (trace.expansion.length) {
      const fold = element("details");
      fold.append(element("summary", `graph expansion: ${trace.expansion.length} neighbours`));
      fold.append(table(["passage", "shared", "similarity", "from"], trace.expansion.map((h) => [
        where(h), h.score, h.similarity, where(hits.get(h.from)) || h.from,
      ])));
      parts.push(fold);
    }
    parts.push(element("h3", "Time"));
    parts.push(table(["step", "took, ms"], Object.entries(trace.timings_ms)));
    parts.push(table(["after the question came", "ms"],
      Object.entries(trace.since_question_ms || {})));
    $("trace-body").replaceChildren(...parts);
  }

  async function openTrace(conversationId, messageId) {
    $("trace-body").replaceChildren(element("p", "Loading…"));
    if (!$("trace").open) $("trace").showModal();
    try {
      render(await api(`/api/conversations/${conversationId}/messages/${messageId}/trace/`));
    } catch (error) {
      $("trace-body").replaceChildren(element("p", error.message));
    }
  }

  $("trace-close").addEventListener("click", () => $("trace").close());
  $("trace").addEventListener("click", (event) => {
    if (event.target === $("trace")) $("trace").close();
  });

  window.TraceView = { openTrace };
})();
