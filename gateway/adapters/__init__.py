"""Wire formats only: each adapter turns its API's body into the pipeline's text and back into errors."""

from gateway.adapters.anthropic import AnthropicAdapter
from gateway.adapters.base import Adapter, BadRequest
from gateway.adapters.openai import OpenAIAdapter

__all__ = ["Adapter", "AnthropicAdapter", "BadRequest", "OpenAIAdapter"]
