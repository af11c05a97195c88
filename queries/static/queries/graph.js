// The graph page: one document, the names it mentions, and the other documents
// that mention the same, drawn with Cytoscape and listed as buttons (the way in
// for keyboards and screen readers). A name opens the passages that mention it.
"use strict";

(() => {
  const { api } = window.ChatApi;
  const $ = (id) => document.getElementById(id);
  const documentId = $("graph-page").dataset.document;
  const DRAWN = 150; // names drawn; the list holds them all
  let drawing = null;

  function element(tag, text, className) {
    const el = document.createElement(tag);
    if (text !== undefined) el.textContent = text;
    if (className) el.className = className;
    return el;
  }

  const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

  function entityItem(entity) {
    const item = element("li");
    const open = element("button", entity.name, "link entity");
    open.type = "button";
    open.addEventListener("click", () => openEntity(entity));
    const where = entity.documents.length
      ? `, in ${plural(entity.documents.length, "other document")}` : "";
    item.append(open, element("span", ` ${entity.type} · ${plural(entity.mentions, "passage")}` +
      where, "muted"));
    return item;
  }

  function documentItem(doc) {
    const item = element("li");
    const link = element("a", doc.title);
    link.href = `/documents/${doc.id}/graph/`;
    item.append(link, element("span", ` ${plural(doc.shared_entities, "shared name")}`, "muted"));
    return item;
  }

  function colours() {
    const style = getComputedStyle(document.body);
    const read = (name) => style.getPropertyValue(name).trim();
    return { text: read("--text"), accent: read("--accent"), muted: read("--muted"),
      border: read("--border"), ok: read("--ok"), panel: read("--panel") };
  }

  function draw(graph) {
    const shown = graph.entities.slice(0, DRAWN);
    const others = new Map();
    const elements = [{ data: { id: "doc", label: graph.document.title, kind: "document" } }];
    for (const entity of shown) {
      elements.push({ data: { id: entity.key, label: entity.name, kind: "entity",
        weight: entity.mentions } });
      elements.push({ data: { source: "doc", target: entity.key } });
      for (const other of entity.documents) {
        if (!others.has(other.id)) {
          others.set(other.id, other);
          elements.push({ data: { id: `doc:${other.id}`, label: other.title, kind: "other" } });
        }
        elements.push({ data: { source: entity.key, target: `doc:${other.id}` } });
      }
    }
    const c = colours();
    drawing = cytoscape({
      container: $("graph"),
      elements,
      wheelSensitivity: 0.3,
      // Fitted to its box, a graph of a few names would be drawn at several times the
      // page's text size.
      maxZoom: 1.4,
      style: [
        { selector: "node", style: { label: "data(label)", color: c.text, "font-size": 12,
          "min-zoomed-font-size": 7, "text-wrap": "wrap", "text-max-width": 96,
          "text-valign": "bottom", "text-margin-y": 3, "background-color": c.muted,
          width: "mapData(weight, 1, 10, 10, 28)", height: "mapData(weight, 1, 10, 10, 28)" } },
        { selector: "node[kind = 'document']", style: { "background-color": c.accent,
          width: 36, height: 36, "font-size": 14, "font-weight": "bold" } },
        { selector: "node[kind = 'other']", style: { "background-color": c.ok, shape: "round-rectangle",
          width: 24, height: 24, "font-size": 12 } },
        { selector: "node:selected", style: { "border-width": 3, "border-color": c.accent } },
        { selector: "edge", style: { width: 1, "line-color": c.border, "curve-style": "haystack" } },
      ],
      layout: { name: "concentric", concentric: (node) => ({ document: 3, entity: 2, other: 1 })[
        node.data("kind")], levelWidth: () => 1, minNodeSpacing: 40, animate: false },
    });
    drawing.on("tap", "node[kind = 'entity']", (event) => {
      const entity = graph.entities.find((e) => e.key === event.target.id());
      if (entity) openEntity(entity);
    });
    drawing.on("tap", "node[kind = 'other']", (event) => {
      location.href = `/documents/${event.target.id().slice(4)}/graph/`;
    });
  }

  async function openEntity(entity) {
    $("entity").hidden = false;
    $("entity-name").textContent = entity.name;
    $("ask-about").href = `/?ask=${encodeURIComponent(`What do my documents say about ${entity.name}?`)}`;
    $("ask-about").textContent = `Ask about ${entity.name}`;
    $("entity-passages").replaceChildren(element("li", "Loading…"));
    if (drawing) {
      drawing.$(":selected").unselect();
      drawing.getElementById(entity.key).select();
    }
    try {
      const passages = await api(`/api/documents/${documentId}/graph/passages/?entity=${
        encodeURIComponent(entity.key)}`);
      $("entity-passages").replaceChildren(...passages.map((p) => {
        const item = element("li");
        item.append(element("strong", p.title + (p.page ? `, page ${p.page}` : "")),
          element("p", p.text));
        return item;
      }));
    } catch (error) {
      $("entity-passages").replaceChildren(element("li", error.message));
    }
    $("entity").scrollIntoView({ block: "nearest" });
  }

  async function load() {
    let graph;
    try {
      graph = await api(`/api/documents/${documentId}/graph/`);
    } catch (error) {
      $("graph-status").textContent = error.message;
      return;
    }
    $("entities").replaceChildren(...graph.entities.map(entityItem));
    $("shared-documents").replaceChildren(...graph.documents.map(documentItem));
    if (!graph.entities.length) {
      $("graph-status").textContent = "No names were found in this document.";
      return;
    }
    $("graph-status").textContent = `${plural(graph.entities.length, "name")}, shared with ${
      plural(graph.documents.length, "other document")}.`;
    draw(graph);
  }

  load();
})();
