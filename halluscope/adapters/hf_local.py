"""Local Hugging Face vision-language models (``pip install "halluscope[hf]"``).

``hf/<hub id or local folder>`` loads the model the way its model card says to:
``AutoProcessor`` + the processor's chat template + ``AutoModelForImageTextToText``. It works for
any model that class maps (LLaVA, LLaVA-NeXT, Qwen2-VL, Qwen2.5-VL, Idefics3/SmolVLM, Gemma 3,
PaliGemma, ...).

Options: ``revision`` (hub branch, tag or commit; pin a commit), ``device`` (``auto`` | ``cpu`` |
``cuda`` | ``cuda:1`` | ``mps``), ``dtype`` (``auto`` | ``float32`` | ``bfloat16`` | ``float16``),
``trust_remote_code``, ``attn_implementation``, ``processor_kwargs`` (e.g. Qwen's
``min_pixels``/``max_pixels``), ``max_side`` (shrink images before the processor sees them).

The pin in the cache key is the hub commit the files came from (read from the local hub cache,
downloading first when the files are not there -- never in offline mode), or, for a plain local
folder, ``files:`` and a sha256 over ``config.json`` and each weights file's name, size and first
MiB (the safetensors header: tensor names, shapes and offsets). Generation runs in a worker thread, one request at a
time per model (``concurrency_hint = 1``); greedy unless temperature > 0, when the torch seed is
derived from the decoding seed and sample index.

A reasoning model's ``<think>...</think>`` block (Qwen3, DeepSeek-R1 distills) is split off the
decoded text as the OpenAI-compatible adapter splits a server's content
(:func:`~halluscope.adapters.types.finish_reply`): the thoughts are ``reasoning``, never the
answer. Where the chat template itself opens the block (the generation prompt ends with
``<think>``, as DeepSeek-R1 distills' and QwQ's do), the decoded text begins inside it, so it is
read as the template's ``<think>`` followed by it (:func:`reply_as_sent`). The reply so read is
kept in the cache (``raw``) and split again when a hit is read, as the OpenAI adapter's is.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
from pathlib import Path
from typing import Any

from halluscope.adapters.images import decoded_image, part_image, pixels_digest, policy
from halluscope.adapters.types import (THINK_OPEN, AdapterError, ImagePart, Request,
                                       RequestError, Response, finish_reply, reread_reply)
from halluscope.errors import ConfigError, MissingExtraError
from halluscope.packages import installed_version

log = logging.getLogger(__name__)

_DTYPES = {"float32": "float32", "fp32": "float32", "bfloat16": "bfloat16", "bf16": "bfloat16",
           "float16": "float16", "fp16": "float16", "half": "float16"}
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf")


def _import_torch_transformers():
    try:
        import torch
        import transformers
    except ImportError as exc:  # pragma: no cover
        raise MissingExtraError("the local Hugging Face adapter", "hf",
                                "torch transformers") from exc
    return torch, transformers


def _stop_criteria(tokenizer, stops: tuple[str, ...]):
    """transformers' stop-string check for ``stops`` on ``tokenizer``; a :class:`ConfigError`
    when the tokenizer's vocabulary defeats it (transformers raises a bare ``ValueError``,
    ``substring not found``, on some tokenizers), instead of a crash."""
    from transformers import StoppingCriteriaList, StopStringCriteria
    try:
        return StoppingCriteriaList([StopStringCriteria(tokenizer=tokenizer,
                                                        stop_strings=list(stops))])
    except ValueError as exc:
        raise ConfigError(f"transformers cannot check the stop strings {list(stops)!r} with "
                          f"this model's tokenizer ({type(tokenizer).__name__}: {exc}); give "
                          f"this model no stop strings") from None


def _generation_failed(torch, failure: str) -> AdapterError:
    """``model.generate`` failing on one request (out of GPU or CPU memory on a large image, a
    CUDA error, an index past what the model was built for) as that record's failure, not the
    run's end: a run stopped by it met the same prompt on every resume and could never finish.
    Not a refusal (memory may be free next time: a resume asks it again) and not retried
    within the run. ``failure``: the exception as text, taken in the ``except`` clause and
    this called after it, so that the memory its traceback held is freed, and the cached GPU
    memory released, before the requests after it."""
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    lines = failure.strip().splitlines()
    return AdapterError(f"generation failed: {lines[0] if lines else failure}"[:400])


def _end_tokens(tokenizer, model) -> set[int]:
    """The token ids that end an answer: the tokenizer's ``eos_token_id`` and every one the
    model's generation config names (Gemma 3's ``<end_of_turn>``, Qwen2.5-VL's
    ``<|endoftext|>`` beside ``<|im_end|>``), at any of which ``generate`` stops."""
    ends: set[int] = set()
    for value in (getattr(tokenizer, "eos_token_id", None),
                  getattr(getattr(model, "generation_config", None), "eos_token_id", None)):
        for token in (value if isinstance(value, (list, tuple)) else [value]):
            if isinstance(token, int):
                ends.add(token)
    return ends


def cut_at_stop(text: str, stops: tuple[str, ...]) -> tuple[str, bool]:
    """``text`` ended before the first stop string in it, as the API providers return it (the
    stop string is not part of the answer), and whether one was found."""
    hits = [i for i in (text.find(s) for s in stops if s) if i >= 0]
    return (text[:min(hits)], True) if hits else (text, False)


def reply_as_sent(prompt: str, decoded: str) -> str:
    """The model's reply as one text to split (:func:`~halluscope.adapters.types.finish_reply`):
    ``decoded``, after the ``<think>`` the chat template put at the very end of ``prompt``
    when it did (its generation prompt opens the block, so the model's first token is already
    a thought); stripped, as a local answer always was."""
    opened = prompt.rstrip().endswith(THINK_OPEN)
    return (f"{THINK_OPEN}\n{decoded}" if opened else decoded).strip()


def files_pin(folder: Path) -> str:
    """``files:<sha256>`` over config.json and each weights file's name, size and first MiB."""
    h = hashlib.sha256()
    config = folder / "config.json"
    if config.is_file():
        h.update(config.read_bytes())
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.suffix in _WEIGHT_SUFFIXES:
            h.update(f"{p.relative_to(folder)}|{p.stat().st_size}|".encode())
            with open(p, "rb") as fh:
                h.update(fh.read(1 << 20))
    return "files:" + h.hexdigest()[:32]


def resolve_local(model: str, revision: str | None) -> tuple[Path, str]:
    """The folder holding ``model``'s files and the pin for it (see the module docstring)."""
    p = Path(model).expanduser()
    if p.is_dir():
        if revision:
            log.warning("revision %r ignored for the local folder %s", revision, p)
        parent = p.parent.name
        if parent == "snapshots" and len(p.name) == 40:  # a folder inside the hub cache
            return p, p.name
        return p, files_pin(p)
    try:
        from huggingface_hub import snapshot_download
    except ImportError as exc:  # pragma: no cover - transformers depends on it
        raise MissingExtraError("loading hub models", "hf", "huggingface_hub") from exc
    try:
        folder = Path(snapshot_download(model, revision=revision, local_files_only=True))
    except Exception:  # noqa: BLE001 - not cached yet: download (raises offline)
        from halluscope.adapters.offline import is_offline
        if is_offline():
            raise ConfigError(f"offline mode: the files of model {model!r} (revision "
                              f"{revision or 'main'}) are not in the local hub cache, and "
                              f"offline mode downloads nothing; pass a local folder or run "
                              f"once online") from None
        try:
            folder = Path(snapshot_download(model, revision=revision))
        except Exception as exc:  # noqa: BLE001
            raise ConfigError(f"cannot find model {model!r} (revision {revision or 'main'}): "
                              f"not a local folder, not in the hub cache, and downloading "
                              f"failed: {type(exc).__name__}: {exc}") from None
    return folder, folder.name


class HFLocalModel:
    """A local transformers vision-language model (see the module docstring)."""

    concurrency_hint = 1
    default_timeout = None
    #: What :meth:`describe` knows only once the model is loaded (``auto`` resolved): a resume
    #: compares what was asked (``device_requested``, ``dtype_requested``) instead.
    loaded_state_keys = ("device", "dtype", "model_class")

    def __init__(self, model: str, *, provider: str = "hf", base_url: str | None = None,
                 revision: str | None = None, device: str = "auto", dtype: str = "auto",
                 trust_remote_code: bool = False, attn_implementation: str | None = None,
                 processor_kwargs: dict[str, Any] | None = None, max_side: int | None = None,
                 timeout: float | None = None, pin: str | None = None):
        if base_url:
            raise ConfigError("the hf provider runs models locally; --base-url does not apply "
                              "(serve the model with vLLM/SGLang/TGI and use vllm/... instead)")
        self.provider = provider
        self.model = model
        self.revision = revision
        self.device_request = device
        self.dtype_request = dtype
        self.trust_remote_code = trust_remote_code
        self.attn_implementation = attn_implementation
        self.processor_kwargs = dict(processor_kwargs or {})
        self.image_policy = policy("none", max_side=max_side)
        self.folder, resolved = resolve_local(model, revision)
        self._pin = pin or resolved
        self._lock = threading.Lock()
        self._model = None
        self._processor = None
        self.device: str | None = None
        self.dtype: str | None = None
        self._choice: tuple[str, str] | None = None
        self._settings: dict[str, Any] | None = None     # answer_settings, worked out once

    @property
    def answer_settings(self) -> dict[str, Any]:
        """What changes the answer besides the pin and the request: the numerics the model runs
        with (the device type and dtype this machine resolves ``auto`` to, as :meth:`load`
        does, without loading; the attention implementation asked for, whose default transformers
        resolves by model class, not by machine), the processor settings (Qwen's
        ``min_pixels``/``max_pixels``) that change what the model sees, and the installed
        transformers and torch versions (their generation code and kernels change answers; an
        ``hf:`` detector's identity records the transformers version the same way). All enter
        the cache key, so an answer made in float32, or under another transformers, is never
        served to this run. Worked out once (the versions are read from package metadata,
        and the key is made for every request); a copy is returned."""
        if self._settings is None:
            device, dtype = self._resolved()
            settings: dict[str, Any] = {
                "device": device.split(":")[0], "dtype": dtype,
                "attn_implementation": self.attn_implementation or "default",
                "transformers": installed_version("transformers"),
                "torch": installed_version("torch")}
            if self.processor_kwargs:
                settings["processor_kwargs"] = self.processor_kwargs
            self._settings = settings
        return dict(self._settings)

    @property
    def pin(self) -> str:
        # local folders are pinned by content alone, so a moved folder keeps its cache entries
        return self._pin if self._pin.startswith("files:") else f"{self.model}@{self._pin}"

    # -- loading ----------------------------------------------------------------------------
    def _choose(self, torch) -> tuple[str, Any]:
        device = self.device_request
        if device == "auto":
            if torch.cuda.is_available():
                device = "cuda"
            elif getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
                device = "mps"
            else:
                device = "cpu"
        dtype = self.dtype_request
        if dtype == "auto":
            if device.startswith("cuda"):
                dtype = "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
            else:
                dtype = "float32"
        if dtype not in _DTYPES:
            raise ConfigError(f"expected dtype auto, float32, bfloat16 or float16, got {dtype!r}")
        return device, getattr(torch, _DTYPES[dtype])

    def _resolved(self) -> tuple[str, str]:
        """The device and dtype name the model runs (or will run) with: chosen once, so the
        cache key, computed before the lazy load, names what the load then uses."""
        if self._choice is None:
            torch, _ = _import_torch_transformers()
            device, dtype = self._choose(torch)
            self._choice = (device, str(dtype).replace("torch.", ""))
        return self._choice

    def load(self) -> None:
        """Load processor and model (done on first use; thread-safe)."""
        with self._lock:
            if self._model is not None:
                return
            torch, transformers = _import_torch_transformers()
            device, dtype_name = self._resolved()
            dtype = getattr(torch, dtype_name)
            log.info("loading %s (%s) on %s as %s", self.model, self._pin, device, dtype)
            kwargs: dict[str, Any] = {"dtype": dtype, "trust_remote_code": self.trust_remote_code}
            if self.attn_implementation:
                kwargs["attn_implementation"] = self.attn_implementation
            try:
                self._processor = transformers.AutoProcessor.from_pretrained(
                    str(self.folder), trust_remote_code=self.trust_remote_code,
                    **self.processor_kwargs)
                model = transformers.AutoModelForImageTextToText.from_pretrained(
                    str(self.folder), **kwargs)
            except (OSError, ValueError, KeyError) as exc:
                # an empty folder, a config.json that is not JSON, a model type transformers
                # does not know: the folder is not a model this adapter can load
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                raise ConfigError(f"{self.folder}: expected a transformers image-text model "
                                  f"folder (config.json, weights, processor files), got one "
                                  f"it cannot load: {type(exc).__name__}: {first:.300}") from None
            self._model = model.to(device).eval()
            self.device, self.dtype = device, dtype_name

    # -- generation -------------------------------------------------------------------------
    def conversation(self, request: Request) -> tuple[list[dict[str, Any]], list[Any]]:
        """The request in transformers' chat format, and the PIL images in order."""
        conv, images = [], []
        for m in request.messages:
            content = []
            for p in m.content:
                if isinstance(p, ImagePart):
                    images.append(self._pixels(part_image(p)))
                    content.append({"type": "image"})
                else:
                    content.append({"type": "text", "text": p.text})
            conv.append({"role": m.role, "content": content})
        return conv, images

    def _pixels(self, img):
        """A decoded image as the processor is handed it (shrunk to ``max_side``)."""
        pol = self.image_policy
        if pol.max_side and max(img.size) > pol.max_side:
            img.thumbnail((pol.max_side, pol.max_side))
        return img

    def sent_image_digest(self, data: bytes, name: str) -> str:
        """What the cache key names for an image: the sha256 of the pixels the processor is
        handed (:meth:`conversation`), since this adapter decodes the image itself: an answer
        made from other pixels (a 16-bit scan clipped white before the scaling rule) is not
        served for these."""
        return pixels_digest(self._pixels(decoded_image(data, name=name)))

    def _prompt(self, conv) -> str:
        proc = self._processor
        owner = proc if getattr(proc, "chat_template", None) else getattr(proc, "tokenizer", None)
        if owner is None or not getattr(owner, "chat_template", None):
            raise ConfigError(f"{self.model} has no chat template (neither its processor nor "
                              f"its tokenizer defines one)")
        return owner.apply_chat_template(conv, add_generation_prompt=True, tokenize=False)

    def generate_sync(self, request: Request) -> Response:
        self.load()
        torch, _ = _import_torch_transformers()
        conv, images = self.conversation(request)
        d = request.decoding
        with self._lock:
            proc, model = self._processor, self._model
            text = self._prompt(conv)
            try:
                if images:
                    inputs = proc(text=[text], images=[images], return_tensors="pt")
                else:
                    inputs = proc(text=[text], return_tensors="pt")
            except (ValueError, TypeError) as exc:
                raise RequestError(f"the processor rejected the input: {exc}") from None
            dtype = next(model.parameters()).dtype
            inputs = {k: (v.to(self.device, dtype) if torch.is_floating_point(v)
                          else v.to(self.device)) if hasattr(v, "to") else v
                      for k, v in inputs.items()}
            tokenizer = getattr(proc, "tokenizer", proc)
            gen: dict[str, Any] = {"max_new_tokens": d.max_tokens, "do_sample": d.sampled}
            if d.sampled:
                gen["temperature"] = d.temperature
                if d.top_p is not None:
                    gen["top_p"] = d.top_p
                torch.manual_seed(((d.seed or 0) * 1_000_003 + request.sample_index) % 2**63)
            else:
                gen.update(temperature=None, top_p=None, top_k=None)
            if d.stop:
                gen["stopping_criteria"] = _stop_criteria(tokenizer, d.stop)
            if getattr(tokenizer, "pad_token_id", None) is not None:
                gen["pad_token_id"] = tokenizer.pad_token_id
            n_in = inputs["input_ids"].shape[1]
            failed = None
            try:
                with torch.inference_mode():
                    out = model.generate(**inputs, **gen)
            except (RuntimeError, IndexError) as exc:
                failed = f"{type(exc).__name__}: {exc}"
            if failed is not None:  # raised here: the failure's frames (their tensors) are gone
                raise _generation_failed(torch, failed)
            new = out[0, n_in:]
            decoded, stopped = cut_at_stop(tokenizer.decode(new, skip_special_tokens=True),
                                           d.stop)
            raw = reply_as_sent(text, decoded)
        finished = (stopped or len(new) < d.max_tokens
                    or int(new[-1]) in _end_tokens(tokenizer, model))
        answer, reasoning = finish_reply(raw)
        return Response(text=answer, model=self.model,
                        usage={"input_tokens": int(n_in), "output_tokens": int(len(new))},
                        finish_reason="stop" if finished else "length", reasoning=reasoning,
                        raw=raw if raw != answer else None)   # (the same text: kept once)

    async def generate(self, request: Request) -> Response:
        return await asyncio.to_thread(self.generate_sync, request)

    def reread(self, response: Response) -> Response:
        """A cached answer as :meth:`generate_sync` makes it today
        (:func:`~halluscope.adapters.types.reread_reply`): an answer cached before the
        ``<think>`` split is served split."""
        return reread_reply(response)

    async def aclose(self) -> None:
        with self._lock:
            self._model = None
            self._processor = None
        try:
            import torch
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except ImportError:  # pragma: no cover
            pass

    def describe(self) -> dict[str, Any]:
        return {"provider": self.provider, "model": self.model, "pin": self.pin,
                "revision": self.revision, "device": self.device or self.device_request,
                "dtype": self.dtype or self.dtype_request,
                "device_requested": self.device_request, "dtype_requested": self.dtype_request,
                "processor_kwargs": self.processor_kwargs,
                "model_class": type(self._model).__name__ if self._model is not None else None}

    def redact(self, text: str) -> str:
        return text


def create(model: str, *, provider: str = "hf", base_url: str | None = None,
           **options: Any) -> HFLocalModel:
    """Entry-point factory: ``hf/<hub id or folder>``."""
    from halluscope.adapters.option_types import check_option_types
    check_option_types(HFLocalModel, provider, options)
    return HFLocalModel(model, provider=provider, base_url=base_url, **options)
