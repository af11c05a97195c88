"""A benchmark reference, not part of the product: the smallest app that streams the same SSE.

FastAPI + sse-starlette + LangChain's ChatOpenAI, speaking the product's
streaming protocol (status, citations, status, token..., done) with no
accounts, no database and no retrieval: what is left is the cost of relaying a
model's stream, the figure the product is held against.

    OPENAI_BASE_URL=http://127.0.0.1:9100/v1 uvicorn bench.reference_app:app --port 9200
"""

from __future__ import annotations

import json
import os

from fastapi import FastAPI, Request
from langchain_openai import ChatOpenAI
from sse_starlette.sse import EventSourceResponse

app = FastAPI()
model = ChatOpenAI(
    model="bench",
    api_key="not-needed",
    base_url=os.environ["OPENAI_BASE_URL"],
    streaming=True,
    max_retries=0,
)
CITATIONS = [
    {
        "n": 1,
        "document_id": "-",
        "filename": "-",
        "chunk_id": "-",
        "page": None,
        "chunk_text": "-",
        "relevance_score": 1.0,
    }
]


@app.post("/api/query/stream/")
async def stream(request: Request) -> EventSourceResponse:
    question = (await request.json())["query"]

    async def events():
        yield {"event": "status", "data": json.dumps({"stage": "retrieving"})}
        yield {"event": "citations", "data": json.dumps(CITATIONS)}
        yield {"event": "status", "data": json.dumps({"stage": "generating"})}
        async for piece in model.astream(question):
            if piece.content:
                yield {"event": "token", "data": piece.content}
        yield {"event": "done", "data": json.dumps({"finish_reason": "stop"})}

    return EventSourceResponse(events(), ping=15)
