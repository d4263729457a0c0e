"""Text encoders behind one interface: prompts -> (tokens (B, L, D) float32, mask (B, L) bool).

Default ``"minilm"`` (all-MiniLM-L6-v2, packaged offline, D = 384); ``"null"`` for models
without text; any local Hugging Face encoder folder (BERT-like, T5 encoder, CLIP text tower).
"""

from kinema.text.base import TextEncoder
from kinema.text.hf import HFTextEncoder
from kinema.text.minilm import MiniLMTextEncoder, minilm_path
from kinema.text.null import NullTextEncoder
from kinema.text.registry import SPECS, get_text_encoder

__all__ = ["HFTextEncoder", "MiniLMTextEncoder", "NullTextEncoder", "SPECS", "TextEncoder",
           "get_text_encoder", "minilm_path"]
