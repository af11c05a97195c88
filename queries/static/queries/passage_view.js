// A cited passage read in full, in a dialog over the conversation: the
// citation holds 200 characters, the documents API the whole passage.
"use strict";

(() => {
  const { api } = window.ChatApi;
  const { renderMarkdown, whereText } = window.AnswerView;
  const $ = (id) => document.getElementById(id);
  let shown = 0; // the latest request wins when sources are opened quickly

  async function openPassage(cite) {
    const dialog = $("passage");
    const asked = (shown += 1);
    $("passage-title").textContent = `[${cite.n}] ${cite.filename}`;
    $("passage-where").textContent = whereText(cite);
    $("passage-text").replaceChildren(document.createTextNode("Loading the passage…"));
    $("passage-text").setAttribute("aria-busy", "true");
    if (!dialog.open) dialog.showModal();
    let text;
    try {
      const passage = await api(
        `/api/documents/${cite.document_id}/passages/${encodeURIComponent(cite.chunk_id)}/`,
      );
      text = passage.text;
    } catch (error) {
      text = null;
      if (asked === shown) {
        $("passage-text").replaceChildren(document.createTextNode(error.message));
      }
    }
    if (asked !== shown) return;
    $("passage-text").setAttribute("aria-busy", "false");
    if (text !== null) renderMarkdown($("passage-text"), text);
  }

  function closePassage() {
    $("passage").close();
  }

  $("passage-close").addEventListener("click", closePassage);
  // A click on the backdrop (outside the dialog's box) closes it too.
  $("passage").addEventListener("click", (event) => {
    if (event.target === $("passage")) closePassage();
  });

  window.PassageView = { openPassage };
})();
