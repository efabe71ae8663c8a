"""The unit of knowledge every corpus is made of, and the citation a passage carries.

Every corpus — the built-in DDXPlus and HPO pages, a user's JSONL or Markdown folder, PubMed and
Wikipedia hits — is a sequence of :class:`Document`. Indexes store them; the retrieval sources
turn the hits into :class:`retrieval.passages.Passage` with :meth:`Document.citation` as the
source, so the final report says where each piece of knowledge came from and under which
licence.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Document(BaseModel):
    """One citable piece of text (a page, an abstract, or a chunk of a longer file).

    ==========  =====  =================================================================
    field       type   meaning (example)
    ==========  =====  =================================================================
    id          str    unique within its corpus (``"ddxplus:Pneumonia"``, ``"notes.md#3"``)
    title       str    what a reader sees in the citation (``"Pneumonia"``)
    text        str    the content that is indexed and shown (never empty)
    source      str    where it comes from (``"DDXPlus knowledge base"``, a file name)
    licence     str    the terms it may be used under (``"CC-BY 4.0"``, ``"unknown"``)
    url         str    a link a clinician can open, when there is one (optional)
    part_of     str    for a chunk: the id of the document it was cut from (optional)
    ==========  =====  =================================================================
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, description="Unique within its corpus.")
    title: str = Field(default="", description="What a reader sees in the citation.")
    text: str = Field(min_length=1, description="The content that is indexed and shown.")
    source: str = Field(min_length=1, description="Where the text comes from.")
    licence: str = Field(default="unknown", description="Terms the text may be used under.")
    url: str = Field(default="", description="A link to the original, when there is one.")
    part_of: str = Field(
        default="", description="For a chunk: the id of the document it was cut from."
    )

    @field_validator("id")
    @classmethod
    def _id_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("id is blank")
        return value.strip()

    @field_validator("text")
    @classmethod
    def _text_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text is blank")
        return value

    def citation(self) -> str:
        """The source as a report cites it: source, licence and link when known."""
        parts = [self.source]
        if self.licence and self.licence != "unknown":
            parts.append(self.licence)
        if self.url:
            parts.append(self.url)
        return "; ".join(parts)

    @property
    def parent_id(self) -> str:
        """The id of the whole document (itself unless this is a chunk of a longer one)."""
        return self.part_of or self.id

    def indexed_text(self) -> str:
        """The text the indexes see: title and body, so a page is found by its name too."""
        if self.title and not self.text.startswith(self.title):
            return f"{self.title}\n{self.text}"
        return self.text
