"""The HTTP contract: request and response bodies."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ClassifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    texts: list[str] = Field(min_length=1, description="statements to classify (1 to STANCE_MAX_TEXTS)")
    explain: bool = Field(False, description="add the words that pushed most toward each label (occlusion)")
    allow_long: bool = Field(False, description="score texts over STANCE_MAX_CHARS by windows instead of 413")


class WordWeight(BaseModel):
    word: str
    start: int
    end: int
    weight: float = Field(description="drop in the label's probability when the word is removed")


class ModelInfo(BaseModel):
    name: str
    version: str


class Prediction(BaseModel):
    label: str
    scores: dict[str, float] = Field(description="calibrated probability of every label; they sum to 1")
    explanation: list[WordWeight] | None = None


class ClassifyResponse(BaseModel):
    model: ModelInfo
    results: list[Prediction]


class DocumentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(description="a news article or any text holding statements")
    id: str | None = None
    skip_non_statements: bool = Field(False, description="leave out sentences that are nobody's statement")
    explain: bool = False


class StatementResult(BaseModel):
    index: int = Field(description="sentence number in the article")
    start: int = Field(description="character span [start, end) in the article")
    end: int
    text: str
    is_statement: bool
    kind: str = Field(description="quote, reported or none")
    speaker: str | None
    label: str | None = None
    scores: dict[str, float] | None = None
    explanation: list[WordWeight] | None = None


class DocumentResponse(BaseModel):
    id: str | None
    model: ModelInfo
    statements: list[StatementResult]


class ModelResponse(BaseModel):
    name: str
    version: str
    labels: list[str]
    backbone: dict | None
    temperature: float
    metrics: dict | None
    created: str | None
