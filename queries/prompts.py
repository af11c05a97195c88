"""Prompts for answering and for rewriting follow-up questions.

Templates declare their inputs; LangChain checks them when they are filled.
"""

from __future__ import annotations

from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder

# The one sentence used whenever the documents do not answer the question.
I_DONT_KNOW = "I don't know: the documents provided do not answer this question."

ANSWER = ChatPromptTemplate.from_messages(
    [
        (
            "system",
            "You answer questions using only the numbered passages below, taken from the "
            "user's documents. Cite every sentence of your answer with the number of the "
            "passage it comes from, in square brackets, like [1] or [2][3]. Use no other "
            "knowledge. If the passages do not answer the question, reply exactly: "
            "{i_dont_know}\n\nPassages:\n{passages}",
        ),
        MessagesPlaceholder("history"),
        ("human", "{question}"),
    ]
)

REWRITE = ChatPromptTemplate.from_messages(
    [
        (
            "system",
            "Rewrite the user's last question as a standalone question that can be understood "
            "without the conversation. Keep names and terms from earlier turns that the "
            "question refers to. Reply with the question only.",
        ),
        MessagesPlaceholder("history"),
        ("human", "{question}"),
    ]
)


def format_passages(passages: list) -> str:
    """Passages as the model sees them: `[n] (file, page p) text`."""
    blocks = []
    for number, passage in enumerate(passages, start=1):
        where = passage.filename + (f", page {passage.page}" if passage.page else "")
        blocks.append(f"[{number}] ({where})\n{passage.text}")
    return "\n\n".join(blocks)
