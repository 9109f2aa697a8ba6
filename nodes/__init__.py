"""ComfyUI node classes: thin wrappers that turn sockets into ``mils`` calls and back.

Node ids are public API (saved workflows reference them): never rename one.
"""
from . import bridge, steer_route
from .arithmetic import MILSArithmeticTerm, MILSEmbeddingArithmetic
from .download import MILSDownloadModel
from .gram import MILSGramStyle
from .llm import MILSLLMGenerate, MILSLocalLLM, MILSOpenAILLM
from .loop import MILSLoop
from .mix import MILSScorerMix
from .renderer import MILSRenderer
from .scorer import MILSScore, MILSScorerLoader
from .text_encoder_llm import MILSTextEncoderLLM
from .vlm import MILSVLMJudge

# (node id, class, display name)
NODES = [
    ("MILSLocalLLM", MILSLocalLLM, "MILS Local LLM"),
    ("MILSOpenAILLM", MILSOpenAILLM, "MILS OpenAI-compatible LLM"),
    ("MILSTextEncoderLLM", MILSTextEncoderLLM, "MILS Text Encoder LLM"),
    ("MILSLLMGenerate", MILSLLMGenerate, "MILS LLM Generate"),
    ("MILSScorerLoader", MILSScorerLoader, "MILS Scorer Loader"),
    ("MILSScore", MILSScore, "MILS Score"),
    ("MILSScorerMix", MILSScorerMix, "MILS Scorer Mix"),
    ("MILSLoop", MILSLoop, "MILS Loop"),
    ("MILSRenderer", MILSRenderer, "MILS Renderer"),
    ("MILSEmbeddingArithmetic", MILSEmbeddingArithmetic, "MILS Embedding Arithmetic"),
    ("MILSArithmeticTerm", MILSArithmeticTerm, "MILS Arithmetic Term"),
    ("MILSDownloadModel", MILSDownloadModel, "MILS Download Model"),
    ("MILSGramStyle", MILSGramStyle, "MILS Gram Style"),
    ("MILSVLMJudge", MILSVLMJudge, "MILS VLM Judge"),
]

NODE_CLASS_MAPPINGS = {node_id: cls for node_id, cls, _ in NODES}
NODE_DISPLAY_NAME_MAPPINGS = {node_id: name for node_id, _, name in NODES}

bridge.register_model_folders()
steer_route.install()
