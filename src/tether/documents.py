"""Documents and chunks: the real text that grounds every seed and every synthetic row (data types, beside
records.py, so the workspace and every stage can use them without importing a stage package).

A document stores the *extracted* text (markup stripped for HTML), so chunk spans index into exactly what a
teacher sees and what a grounding check compares against.
"""

from __future__ import annotations

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from tether.records import content_hash


class Document(BaseModel):
    model_config = ConfigDict(extra="forbid")

    doc_id: str  # hash of the raw bytes: the same file ingested twice is the same document
    path: str  # as given on the command line (relative where possible); informational
    format: str  # md, rst, txt, html, jsonl, csv, pdf, docx, pptx
    title: str
    text: str
    n_bytes: int


class Chunk(BaseModel):
    model_config = ConfigDict(extra="forbid")

    chunk_id: str
    doc_id: str
    start: int  # character offsets into Document.text
    end: int
    heading: list[str] = Field(default_factory=list)  # section path, outermost first
    text: str

    @property
    def headed(self) -> str:
        """The text under its section headings: what the chunk is about, for matching a question or a seed to it."""
        return " ".join([*self.heading, self.text])

    @staticmethod
    def make_id(doc_id: str, start: int, end: int) -> str:
        return content_hash({"doc": doc_id, "start": start, "end": end}, n=16)


DOCUMENT_SCHEMA = pa.schema(
    [
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("path", pa.string(), nullable=False),
        pa.field("format", pa.string(), nullable=False),
        pa.field("title", pa.string(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("n_bytes", pa.int64(), nullable=False),
    ],
    metadata={"tether.schema": "document/1"},
)

CHUNK_SCHEMA = pa.schema(
    [
        pa.field("chunk_id", pa.string(), nullable=False),
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("start", pa.int64(), nullable=False),
        pa.field("end", pa.int64(), nullable=False),
        pa.field("heading", pa.list_(pa.string()), nullable=False),
        pa.field("text", pa.string(), nullable=False),
    ],
    metadata={"tether.schema": "chunk/1"},
)


def documents_to_table(docs: list[Document]) -> pa.Table:
    return pa.Table.from_pylist([d.model_dump() for d in docs], schema=DOCUMENT_SCHEMA)


def chunks_to_table(chunks: list[Chunk]) -> pa.Table:
    return pa.Table.from_pylist([c.model_dump() for c in chunks], schema=CHUNK_SCHEMA)


def table_to_documents(table: pa.Table) -> list[Document]:
    return [Document.model_validate(d) for d in table.cast(DOCUMENT_SCHEMA).to_pylist()]


def table_to_chunks(table: pa.Table) -> list[Chunk]:
    return [Chunk.model_validate(d) for d in table.cast(CHUNK_SCHEMA).to_pylist()]
