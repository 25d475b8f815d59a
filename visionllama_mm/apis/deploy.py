"""ONNX export of the package's models and ONNX Runtime parity checks.

Used by ``tools/deployment/pytorch2onnx.py`` and ``tools/deployment/verify_onnx.py``.

* :func:`export_onnx` exports an mmpretrain classifier (logits), an mmseg
  encoder-decoder (whole inference: segmentation logits at the input size) or a bare
  backbone (its tuple of outputs) with ``torch.onnx.export(..., dynamo=True)``, checks
  the file with ``onnx.checker`` and stores the task and export size in the model's
  metadata. With ``dynamic=True`` batch, height and width are symbolic, and
  :func:`check_other_size` runs the exported program at a second size against the
  PyTorch model before anything is written.
* :func:`export_rewrites` swaps, for the time of the export only, the forward of two
  upstream modules whose Python branches on the input size would otherwise be frozen
  into the graph at the example size: mmcv's ``AdaptivePadding`` (``if pad > 0``) and
  ``nn.AdaptiveAvgPool2d`` (torch decomposes it with index tables of the example
  size). The replacements compute the same values without a branch.
* :func:`parity_rows` runs the PyTorch model and the ONNX Runtime session (CPU) on the
  same seeded inputs and reports the largest absolute and relative difference and the
  median time of both.

The graph starts after the data preprocessor: its input is the normalised float
``(B, 3, H, W)`` tensor that ``model.data_preprocessor`` produces.

As the rest of :mod:`visionllama_mm.apis`, importing this module imports mmengine
only; torch, onnx, onnxruntime and the downstream packages are imported on use.
"""
import math
import os.path as osp
import types
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional, Sequence, Tuple

from ..utils.benchmark import median_seconds

if TYPE_CHECKING:  # pragma: no cover
    from torch import Tensor, nn

__all__ = [
    'TASKS', 'PARTS', 'load_model', 'detect_task', 'export_wrapper', 'export_rewrites',
    'export_onnx', 'check_other_size', 'read_export_metadata', 'onnx_session',
    'static_input_hw', 'parity_rows', 'second_shape'
]

TASKS = ('classifier', 'segmentor', 'backbone')
META_PREFIX = 'visionllama_mm.'

# --------------------------------------------------------------------------
# what is exported
# --------------------------------------------------------------------------
PARTS = ('model', 'backbone')


def load_model(config: str,
               checkpoint: str,
               part: str = 'model',
               cfg_options: Optional[Dict[str, Any]] = None) -> 'nn.Module':
    """Build ``config``'s model on the CPU in eval mode, load ``checkpoint`` into it
    with mmengine's ``load_checkpoint`` (strict: a missing or unexpected key is an
    error) and return the model, or its ``backbone`` for ``part='backbone'``."""
    from mmengine.runner import load_checkpoint

    from ..utils.analysis import build_model, load_config
    if part not in PARTS:
        raise ValueError(f'part must be one of {PARTS}, got {part!r}')
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint file not found: {checkpoint}')
    model = build_model(load_config(config, cfg_options))
    load_checkpoint(model, checkpoint, map_location='cpu', strict=True)
    if part == 'backbone':
        if getattr(model, 'backbone', None) is None:
            raise ValueError(f'--part backbone: {type(model).__name__} of {config} has '
                             'no backbone')
        model = model.backbone
    return model.eval()


def detect_task(model: 'nn.Module') -> str:
    """``'classifier'`` (mmpretrain ``BaseClassifier``), ``'segmentor'`` (mmseg
    ``EncoderDecoder``) or ``'backbone'`` (anything else that maps an image tensor to
    a tuple of tensors). mmdet detectors are refused with the reason (README,
    "Deployment")."""
    from mmengine.model import BaseModel
    mro = [f'{c.__module__}.{c.__name__}' for c in type(model).__mro__]
    if any(name.startswith('mmdet.models.detectors.') for name in mro):
        raise ValueError(
            f'{type(model).__name__} is an mmdet detector: detectors do not export on '
            "this stack (torch.export stops at data-dependent branches of mmdet's RPN "
            'post-processing). Export the backbone with --part backbone, see README '
            '"Deployment"')
    if 'mmpretrain.models.classifiers.base.BaseClassifier' in mro:
        return 'classifier'
    if 'mmseg.models.segmentors.encoder_decoder.EncoderDecoder' in mro:
        return 'segmentor'
    if isinstance(model, BaseModel):
        raise ValueError(f'cannot export {type(model).__name__}: supported are '
                         'mmpretrain classifiers, mmseg encoder-decoders and backbones '
                         '(--part backbone)')
    return 'backbone'


def _classifier_forward(self, inputs: 'Tensor') -> 'Tensor':
    return self.model(inputs, mode='tensor')


def _segmentor_forward(self, inputs: 'Tensor') -> 'Tensor':
    # mmseg whole inference: logits resized to the input (= img_shape) size. mmseg
    # reads only the first meta (one per batch would turn the batch size into a
    # Python int and freeze it)
    meta = dict(
        img_shape=inputs.shape[2:],
        pad_shape=inputs.shape[2:],
        ori_shape=inputs.shape[2:])
    return self.model.encode_decode(inputs, [meta])


def _backbone_forward(self, inputs: 'Tensor') -> Tuple['Tensor', ...]:
    outs = self.model(inputs)
    return tuple(outs) if isinstance(outs, (tuple, list)) else (outs, )


def export_wrapper(model: 'nn.Module', task: str) -> 'nn.Module':
    """An ``nn.Module`` whose ``forward(inputs)`` is what the ONNX graph computes:
    the classifier's logits ``(B, K)`` (``mode='tensor'``), the segmentor's
    whole-inference logits ``(B, K, H, W)`` (``encode_decode``) or the backbone's
    outputs."""
    import torch
    if task not in TASKS:
        raise ValueError(f'task must be one of {TASKS}, got {task!r}')
    forward = dict(
        classifier=_classifier_forward,
        segmentor=_segmentor_forward,
        backbone=_backbone_forward)[task]
    wrapper = torch.nn.Module()
    wrapper.model = model
    wrapper.forward = types.MethodType(forward, wrapper)
    return wrapper.eval()


def output_names(task: str, num_outputs: int) -> List[str]:
    """ONNX output names: ``logits``, ``seg_logits`` or ``out0, out1, ...``."""
    if task == 'classifier':
        return ['logits']
    if task == 'segmentor':
        return ['seg_logits']
    return [f'out{i}' for i in range(num_outputs)]


# --------------------------------------------------------------------------
# export-time rewrites of upstream modules
# --------------------------------------------------------------------------
def _ceil_div(a, b):
    return (a + b - 1) // b


def _adaptive_padding_forward(self, x: 'Tensor') -> 'Tensor':
    """mmcv ``AdaptivePadding.forward`` without ``if pad > 0``: the same pads
    (``get_pad_shape``) as symbolic integers, always applied (a zero pad is a no-op)."""
    import torch
    import torch.nn.functional as F
    pads = []
    for size, k, s, d in zip(x.shape[-2:], self.kernel_size, self.stride, self.dilation):
        if k == s and d == 1:  # patch embeddings: the same value, a simpler symbol
            pads.append((-size) % s)
        else:
            pads.append(
                torch.sym_max((_ceil_div(size, s) - 1) * s + (k - 1) * d + 1 - size, 0))
    pad_h, pad_w = pads
    if self.padding == 'corner':
        return F.pad(x, [0, pad_w, 0, pad_h])
    return F.pad(x, [pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2])


def _pool_matrix(length, size: int, like: 'Tensor') -> 'Tensor':
    """``(size, length)``: row ``i`` averages input positions
    ``floor(i*L/size) .. ceil((i+1)*L/size) - 1`` (PyTorch's adaptive pooling bins)."""
    import torch
    index = torch.arange(size, device=like.device)
    start = (index * length) // size
    end = ((index + 1) * length + size - 1) // size
    positions = torch.arange(length, device=like.device)
    inside = (positions[None] >= start[:, None]) & (positions[None] < end[:, None])
    return inside.to(like.dtype) / (end - start).to(like.dtype)[:, None]


def _adaptive_avg_pool_forward(self, x: 'Tensor') -> 'Tensor':
    """``nn.AdaptiveAvgPool2d.forward`` as two matrix products with the bin-averaging
    matrices of the actual input size (same bins, any size)."""
    height, width = x.shape[-2:]
    size = self.output_size
    out_h, out_w = (size, size) if isinstance(size, int) else size
    out_h = height if out_h is None else out_h
    out_w = width if out_w is None else out_w
    rows = _pool_matrix(height, out_h, x)
    cols = _pool_matrix(width, out_w, x)
    return rows @ x @ cols.transpose(0, 1)


@contextmanager
def export_rewrites(model: 'nn.Module') -> Iterator[int]:
    """Swap the forward of mmcv ``AdaptivePadding`` and ``nn.AdaptiveAvgPool2d``
    instances of ``model`` for branch-free ones while the block runs; yields how many
    were swapped. The original methods are back afterwards, whatever happens."""
    from mmcv.cnn.bricks.transformer import AdaptivePadding
    from torch import nn
    swapped = []
    for module in model.modules():
        if isinstance(module, AdaptivePadding):
            module.forward = types.MethodType(_adaptive_padding_forward, module)
            swapped.append(module)
        elif isinstance(module, nn.AdaptiveAvgPool2d):
            module.forward = types.MethodType(_adaptive_avg_pool_forward, module)
            swapped.append(module)
    try:
        yield len(swapped)
    finally:
        for module in swapped:
            del module.forward


# --------------------------------------------------------------------------
# export
# --------------------------------------------------------------------------
def _shorten(text: str, limit: int = 240) -> str:
    text = text.replace("L['inputs'].size()", 'size')
    return text if len(text) <= limit else text[:limit] + f'... ({len(text)} chars)'


def check_other_size(program: Any,
                     wrapper: 'nn.Module',
                     shape: Sequence[int],
                     batch: int,
                     rtol: float = 1e-4) -> float:
    """Run the exported graph without its guards at :func:`second_shape` and compare
    it with the PyTorch model; raise if they differ by more than ``rtol`` times the
    largest output magnitude (both are PyTorch: rounding stays near 1e-7).

    ``torch.export`` evaluates Python branches on the input size (``if pad > 0``, a
    size turned into a Python float) for the example size and keeps a guard;
    PyTorch checks the guards, an ONNX graph has none and would run every size through
    the frozen branch. The error lists the guards that are false at the second size
    (some only concern memory layout and are harmless). Returns the largest
    absolute difference.
    """
    import torch
    probe = second_shape(shape)
    inputs = example_input(probe, batch, seed=1)
    try:
        with torch.no_grad():
            expected = _as_tuple(wrapper(inputs))
            got = _as_tuple(program.module(check_guards=False)(inputs))
        diff, rel = max_differences(expected, [g.numpy() for g in got])
        error = None if rel <= rtol else f'max abs difference {diff:.3g} ({rel:.3g} rel)'
    except Exception as exc:  # a shape frozen into the graph fails to run
        diff, error = float('inf'), f'{type(exc).__name__}: {exc}'
    if error is None:
        return diff
    scope = dict(
        L={'inputs': torch.empty(inputs.shape, device='meta')}, torch=torch, math=math)
    guards = [g for g in getattr(program, '_guards_code', [])
              if not eval(g, scope)]  # noqa: S307 - torch's own guard expressions
    raise RuntimeError(
        f'the dynamically exported graph is wrong at {probe[0]}x{probe[1]} (exported '
        f'at {shape[0]}x{shape[1]}): {error}. A branch on the input size was frozen '
        'into it; make that code branch-free under torch.compiler.is_exporting(), or '
        'export without --dynamic. Guards of the export that fail at that size: ' +
        '; '.join(_shorten(g) for g in guards[:5]))


def example_input(shape: Sequence[int], batch_size: int, seed: int = 0) -> 'Tensor':
    """Seeded ``N(0, 1)`` input ``(B, 3, H, W)`` (a normalised image's range)."""
    import torch
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(batch_size, 3, *shape, generator=generator)


def export_onnx(model: 'nn.Module',
                task: str,
                shape: Sequence[int],
                out: str,
                dynamic: bool = False,
                batch_size: int = 1,
                opset_version: Optional[int] = None,
                metadata: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
    """Export ``model`` (eval mode) for ``task`` at ``shape`` ``(H, W)`` to ``out``.

    Exporter: ``torch.export`` (non-strict) then ``torch.onnx.export(..., dynamo=True)``
    (onnxscript). ``dynamic=True`` makes batch, height and width symbolic
    (``Dim.DYNAMIC``: an export that turns one of them into a constant fails) and
    checks the program at a second size (:func:`check_other_size`); the example batch
    is then at least 2, since torch.export specialises a size-1 dim.
    The weights are stored inside the ``.onnx`` file. ``onnx.checker`` (full check)
    must pass. Returns a summary (output names, opset, node count, rewrites).
    """
    import onnx
    import torch
    from torch.export import Dim
    if len(shape) != 2 or not all(isinstance(s, int) and s > 0 for s in shape):
        raise ValueError(f'shape must be (H, W) positive ints, got {shape!r}')
    batch = max(batch_size, 2) if dynamic else batch_size
    wrapper = export_wrapper(model, task)
    inputs = example_input(shape, batch)
    with torch.no_grad():
        num_outputs = len(_as_tuple(wrapper(inputs)))
    names = output_names(task, num_outputs)
    dynamic_shapes = None
    if dynamic:
        dynamic_shapes = ({0: Dim.DYNAMIC, 2: Dim.DYNAMIC, 3: Dim.DYNAMIC}, )
    # size-oblivious reasoning (as torch.onnx's own capture): no 0/1 guards on sizes
    oblivious = torch.fx.experimental._config.patch(backed_size_oblivious=True)
    with export_rewrites(model) as num_rewrites, torch.no_grad(), oblivious:
        program = torch.export.export(
            wrapper, (inputs, ), dynamic_shapes=dynamic_shapes, strict=False)
    if dynamic:
        check_other_size(program, wrapper, shape, batch)
    with torch.no_grad():
        program = torch.onnx.export(
            program, (inputs, ),
            dynamo=True,
            input_names=['input'],
            output_names=names,
            opset_version=opset_version,
            external_data=False,
            verbose=False)
    proto = program.model_proto
    meta = dict(
        task=task,
        export_shape=f'{shape[0]},{shape[1]}',
        dynamic=str(bool(dynamic)),
        exporter='torch.onnx dynamo',
        torch=torch.__version__,
        **(metadata or {}))
    onnx.helper.set_model_props(proto, {META_PREFIX + k: str(v) for k, v in meta.items()})
    onnx.save(proto, out)
    onnx.checker.check_model(out, full_check=True)
    opset = next(o.version for o in proto.opset_import if o.domain in ('', 'ai.onnx'))
    return dict(
        out=out,
        task=task,
        outputs=names,
        opset=opset,
        nodes=len(proto.graph.node),
        rewrites=num_rewrites,
        size_mb=osp.getsize(out) / 2**20,
        dynamic=bool(dynamic))


def read_export_metadata(path: str) -> Dict[str, str]:
    """The ``visionllama_mm.*`` metadata written by :func:`export_onnx`."""
    import onnx
    proto = onnx.load(path, load_external_data=False)
    return {
        p.key[len(META_PREFIX):]: p.value
        for p in proto.metadata_props if p.key.startswith(META_PREFIX)
    }


# --------------------------------------------------------------------------
# ONNX Runtime parity
# --------------------------------------------------------------------------
def onnx_session(path: str, threads: Optional[int] = None) -> Any:
    """A CPU ``onnxruntime.InferenceSession`` (``threads`` intra-op threads, default
    torch's)."""
    import onnxruntime as ort
    import torch
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or torch.get_num_threads()
    return ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])


def static_input_hw(session: Any) -> Optional[Tuple[int, int]]:
    """``(H, W)`` when the session's input has fixed height and width, else None."""
    dims = session.get_inputs()[0].shape
    if all(isinstance(d, int) for d in dims[2:]):
        return dims[2], dims[3]
    return None


def second_shape(shape: Sequence[int], multiple: int = 7) -> Tuple[int, int]:
    """A second test size: about 1.25x ``shape``, moved off multiples of 2 and of
    ``multiple`` (the pyramid's window) so padding paths run."""
    out = []
    for size in shape:
        size = int(round(size * 1.25)) | 1
        while size % multiple == 0:
            size += 2
        out.append(size)
    return tuple(out)


def _as_tuple(outputs: Any) -> Tuple['Tensor', ...]:
    return tuple(outputs) if isinstance(outputs, (tuple, list)) else (outputs, )


def max_differences(expected: Sequence['Tensor'],
                    actual: Sequence[Any]) -> Tuple[float, float]:
    """``(max |a - e|, max |a - e| / max |e|)`` over all outputs."""
    import numpy as np
    if len(expected) != len(actual):
        raise ValueError(f'{len(actual)} ONNX outputs for {len(expected)} PyTorch ones')
    abs_diff, rel_diff = 0., 0.
    for ref, got in zip(expected, actual):
        ref = ref.detach().cpu().numpy()
        if ref.shape != got.shape:
            raise ValueError(f'output shape {got.shape} from ONNX Runtime, '
                             f'{ref.shape} from PyTorch')
        diff = float(np.abs(got - ref).max()) if ref.size else 0.
        scale = float(np.abs(ref).max()) if ref.size else 0.
        abs_diff = max(abs_diff, diff)
        rel_diff = max(rel_diff, diff / scale if scale > 0 else diff)
    return abs_diff, rel_diff


def parity_rows(model: 'nn.Module',
                task: str,
                session: Any,
                shapes: Sequence[Sequence[int]],
                batch_size: int = 1,
                repeats: int = 5,
                warmup: int = 1,
                atol: float = 1e-4,
                seed: int = 0) -> List[Dict[str, Any]]:
    """Run PyTorch and ONNX Runtime on the same seeded inputs at each shape.

    Returns one row per shape: ``shape``, ``max_abs``, ``max_rel`` (max abs
    difference over the largest PyTorch magnitude), the median milliseconds of both
    over ``repeats`` runs and ``ok`` (``max_abs <= atol``).
    """
    import torch
    if atol <= 0:
        raise ValueError(f'atol must be > 0, got {atol}')
    wrapper = export_wrapper(model, task)
    input_name = session.get_inputs()[0].name
    rows = []
    for index, shape in enumerate(shapes):
        inputs = example_input(shape, batch_size, seed=seed + 1 + index)
        feed = {input_name: inputs.numpy()}
        with torch.no_grad():
            expected = _as_tuple(wrapper(inputs))
            torch_s = median_seconds(lambda: wrapper(inputs), warmup, repeats)
        actual = session.run(None, feed)
        ort_s = median_seconds(lambda: session.run(None, feed), warmup, repeats)
        max_abs, max_rel = max_differences(expected, actual)
        rows.append(
            dict(
                shape=tuple(shape),
                batch=batch_size,
                max_abs=max_abs,
                max_rel=max_rel,
                torch_ms=1e3 * torch_s,
                ort_ms=1e3 * ort_s,
                ok=math.isfinite(max_abs) and max_abs <= atol))
    return rows
