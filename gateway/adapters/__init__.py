"""Wire formats: each adapter turns its API's requests into the pipeline's text and back into errors."""

from gateway.adapters.anthropic import AnthropicAdapter
from gateway.adapters.base import Adapter, Route
from gateway.adapters.openai import OpenAIAdapter

#: the API formats the gateway serves, in the order their routes are matched
API_ADAPTERS: tuple[Adapter, ...] = (OpenAIAdapter(), AnthropicAdapter())

__all__ = ["API_ADAPTERS", "Adapter", "AnthropicAdapter", "OpenAIAdapter", "Route"]
