// A Server-Sent Events parser following the HTML standard's event-stream
// interpretation, for streams read with fetch() (EventSource cannot POST).
// Lines end in CRLF, LF or CR; one space after the colon is dropped; data
// lines join with LF; an event with no data line is not dispatched; the last
// id seen goes with each event (to resume from with Last-Event-ID).
"use strict";

class SSEParser {
  constructor(onEvent, onComment) {
    this.onEvent = onEvent;
    this.onComment = onComment || (() => {});
    this.buffer = "";
    this.data = [];
    this.event = "";
    this.lastId = ""; // kept from event to event, as EventSource keeps it
  }

  feed(text) {
    this.buffer += text;
    for (;;) {
      const match = /\r\n|\n|\r/.exec(this.buffer);
      if (!match) return;
      // A CR at the very end may be half of a CRLF still in flight.
      if (match[0] === "\r" && match.index + 1 === this.buffer.length) return;
      const line = this.buffer.slice(0, match.index);
      this.buffer = this.buffer.slice(match.index + match[0].length);
      this.line(line);
    }
  }

  // The stream ended: a CR held back as a possible half of CRLF was a line end.
  end() {
    if (this.buffer.endsWith("\r")) this.feed("\n");
  }

  line(line) {
    if (line === "") {
      if (this.data.length) {
        this.onEvent(this.event || "message", this.data.join("\n"), this.lastId);
      }
      this.data = [];
      this.event = "";
      return;
    }
    if (line.startsWith(":")) {
      this.onComment(line.slice(1).replace(/^ /, ""));
      return;
    }
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") this.event = value;
    else if (field === "data") this.data.push(value);
    else if (field === "id" && !value.includes("\0")) this.lastId = value;
  }
}

window.SSEParser = SSEParser;
