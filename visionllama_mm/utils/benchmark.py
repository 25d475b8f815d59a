"""Measuring and reporting for the analysis tools (``tools/analysis_tools/benchmark.py``,
``get_flops.py``, ``count_params.py``, ``rope_resolution_sweep.py``, the deployment
tools): one implementation of each.

* timing: :func:`synchronize`, :func:`median_seconds`, :func:`interleaved_seconds`
  (steps timed in turn, A B A B ...), :func:`ratio_stats` (per-repetition ratios),
  :func:`comparison_groups` (which models are timed together),
  :func:`measure_groups` (build, warm up and time models group by group, eager and
  compiled), :func:`pair_ratios` and :func:`matmul_tflops` (the device's measured
  matmul rate);
* FLOPs: :func:`flop_counter` and :func:`count_flops` (``FlopCounterMode``; a
  multiply-add counts 2 FLOPs, torch's CPU SDPA kernels counted as the others);
* reporting: :func:`num_params`, :func:`describe_device`, :func:`markdown_table`,
  :func:`rows_table` (a failed model's error in its row), :func:`ratios_table`,
  :func:`write_json`.

Importing this module imports the standard library and :mod:`visionllama_mm.errors`
only; torch is imported on use.
"""
import functools
import gc
import json
import os
import os.path as osp
import platform
import statistics
import time
import traceback
from typing import (TYPE_CHECKING, Any, Callable, Dict, Hashable, List, Optional,
                    Sequence, Tuple)

from ..errors import UserError

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn
    from torch.utils.flop_counter import FlopCounterMode

__all__ = [
    'synchronize', 'median_seconds', 'interleaved_seconds', 'ratio_stats',
    'comparison_groups', 'measure_groups', 'pair_ratios', 'matmul_tflops', 'flop_counter',
    'count_flops', 'num_params', 'describe_device', 'markdown_table', 'rows_table',
    'ratios_table', 'write_json'
]

Step = Callable[[], Any]
#: ``build(name) -> (info, model, steps)`` of :func:`measure_groups`
Builder = Callable[[str], Tuple[Dict, 'nn.Module', Dict[str, Callable[['nn.Module'],
                                                                      Any]]]]


# --------------------------------------------------------------------------
# timing
# --------------------------------------------------------------------------
def synchronize(device: str) -> None:
    """Wait for the device's queued work (CUDA); nothing to wait for on the CPU."""
    if device.startswith('cuda'):
        import torch
        torch.cuda.synchronize()


def median_seconds(step: Callable[[], Any],
                   warmup: int,
                   repeats: int,
                   device: str = 'cpu') -> float:
    """Median wall time of ``step()`` over ``repeats`` runs after ``warmup``.

    On CUDA the device is synchronized before and after each timed run.
    """
    times = interleaved_seconds({'step': step}, warmup, repeats, device)['step']
    return statistics.median(times)


def interleaved_seconds(steps: Dict[Hashable, Callable[[], Any]],
                        warmup: int,
                        repeats: int,
                        device: str = 'cpu',
                        calls: int = 1) -> Dict[Hashable, List[float]]:
    """Seconds per call of every step, the steps timed in turn (A B A B ...).

    Each step first runs ``warmup`` untimed times (in turn), then every repetition
    times ``calls`` consecutive calls of each step, in the order of ``steps``, before
    the next repetition starts. A burst of load on a shared machine then lands on all
    steps of the few repetitions it overlaps, not on one model's whole measurement:
    compare per repetition (:func:`ratio_stats`). Returns, per key, ``repeats`` times
    (the mean seconds per call of that repetition). On CUDA the device is
    synchronized around every timed block.

    Raises:
        ValueError: ``repeats`` or ``calls`` below 1.
    """
    if repeats < 1 or calls < 1:
        raise ValueError(f'repeats and calls must be >= 1, got {repeats}, {calls}')
    for _ in range(warmup):
        for step in steps.values():
            step()
    times: Dict[Hashable, List[float]] = {key: [] for key in steps}
    for _ in range(repeats):
        for key, step in steps.items():
            synchronize(device)
            start = time.perf_counter()
            for _ in range(calls):
                step()
            synchronize(device)
            times[key].append((time.perf_counter() - start) / calls)
    return times


def ratio_stats(numerators: Sequence[float],
                denominators: Sequence[float]) -> Dict[str, Any]:
    """Per-repetition ratios ``numerators[i] / denominators[i]``: their median, min
    and max (the spread) and the list itself, e.g. two models' times from the same
    repetitions of :func:`interleaved_seconds`.

    Raises:
        ValueError: the series differ in length or are empty.
    """
    if len(numerators) != len(denominators) or not numerators:
        raise ValueError('need two equally long, non-empty series, got '
                         f'{len(numerators)} and {len(denominators)} values')
    ratios = [a / b for a, b in zip(numerators, denominators)]
    return dict(
        median=statistics.median(ratios), min=min(ratios), max=max(ratios), ratios=ratios)


def comparison_groups(models: Sequence[str],
                      pairs: Sequence[Tuple[str, str]]) -> List[List[str]]:
    """Models linked by pairs (directly or through a shared model) form one group,
    timed interleaved; a model in no pair is a group of its own. Groups and their
    members keep the order of ``models``."""
    group_of = {m: {m} for m in models}
    for a, b in pairs:
        merged = group_of[a] | group_of[b]
        for m in merged:
            group_of[m] = merged
    groups: List[List[str]] = []
    for m in models:
        if not any(m in g for g in groups):
            groups.append([n for n in models if n in group_of[m]])
    return groups


def measure_groups(groups: Sequence[Sequence[str]],
                   build: Builder,
                   phases: Sequence[str],
                   modes: Sequence[str] = ('eager', ),
                   warmup: int = 1,
                   repeats: int = 5,
                   device: str = 'cpu',
                   calls: int = 1,
                   compile_kwargs: Optional[Dict] = None) -> List[Dict]:
    """Build, warm up and time models group by group; one row per model and mode.

    ``build(name)`` returns ``(info, model, steps)``: ``info`` (``batch_size`` at
    least) goes into the model's rows; ``steps[phase](runner)`` takes one step of
    ``phase`` with ``runner``: the model itself in mode ``'eager'``, or
    ``torch.compile(model, **compile_kwargs)`` in mode ``'compile'`` (both share the
    model's weights). Each model is built after ``torch.manual_seed(0)``, each mode
    takes ``warmup`` untimed steps of every phase (compilation happens there), then
    :func:`interleaved_seconds` times every step of the group in turn, ``calls``
    steps per repetition. The models of a group stay resident until it is timed.

    A row gets, per phase, ``{phase}_rep_ms`` (each repetition), ``{phase}_ms`` (their
    median) and ``{phase}_img_s``; ``warmup_s``; on CUDA ``peak_mem_gib``, the peak
    allocation over the model's build and warm-up above what was allocated before
    the build. A model or mode that fails gets ``error`` (``'OOM'`` or the exception,
    whose traceback is printed) and the others go on; a
    :class:`~visionllama_mm.errors.UserError` (a bad config) stops the run.
    """
    import torch
    rows: List[Dict] = []
    for group in groups:
        steps: Dict[Hashable, Step] = {}
        group_rows = []
        for name in group:
            model_rows, model_steps = _warm_up(name, build, modes, warmup, device,
                                               compile_kwargs or {})
            group_rows += model_rows
            steps.update(model_steps)
        try:
            times = interleaved_seconds(steps, 0, repeats, device, calls)
        except Exception as err:  # e.g. out of memory once the group is resident
            times = {}
            for row in group_rows:
                if 'error' not in row:
                    _record_error(row, err)
        for row in group_rows:
            for phase in phases:
                series = times.get((row['model'], row['mode'], phase))
                if series is None:
                    row.setdefault('error', 'not timed')
                    break
                seconds = statistics.median(series)
                row[f'{phase}_rep_ms'] = [t * 1e3 for t in series]
                row[f'{phase}_ms'] = seconds * 1e3
                row[f'{phase}_img_s'] = row['batch_size'] / seconds
        rows += group_rows
        steps = model_steps = None  # free the group's models before the next one
        gc.collect()
        if device.startswith('cuda'):
            torch.cuda.empty_cache()
        if 'compile' in modes:
            torch._dynamo.reset()
    return rows


def _warm_up(name: str, build: Builder, modes: Sequence[str], warmup: int, device: str,
             compile_kwargs: Dict) -> Tuple[List[Dict], Dict[Hashable, Step]]:
    """Build one model and warm up each mode: its rows and steps, the steps keyed
    ``(name, mode, phase)``."""
    import torch
    rows = [dict(model=name, mode=mode) for mode in modes]
    steps: Dict[Hashable, Step] = {}
    cuda = device.startswith('cuda')
    try:
        synchronize(device)
        base = torch.cuda.memory_allocated() if cuda else 0
        torch.manual_seed(0)
        info, model, phase_steps = build(name)
    except UserError:
        raise
    except Exception as err:  # report and go on with the next model
        for row in rows:
            _record_error(row, err)
        return rows, steps
    for row in rows:
        row.update(info)
        runner = model if row['mode'] == 'eager' else torch.compile(
            model, **compile_kwargs)
        row_steps = {
            p: functools.partial(step, runner)
            for p, step in phase_steps.items()
        }
        try:
            if cuda:
                torch.cuda.reset_peak_memory_stats()
            start = time.perf_counter()
            for _ in range(warmup):
                for step in row_steps.values():
                    step()
            synchronize(device)
            row['warmup_s'] = time.perf_counter() - start
            if cuda:
                row['peak_mem_gib'] = (torch.cuda.max_memory_allocated() - base) / 2**30
            steps.update({(name, row['mode'], p): s for p, s in row_steps.items()})
        except Exception as err:  # e.g. out of memory in one mode
            model.zero_grad(set_to_none=True)
            _record_error(row, err)
    return rows, steps


def _record_error(row: Dict, err: Exception) -> None:
    oom = 'out of memory' in str(err).lower()
    row['error'] = 'OOM' if oom else f'{type(err).__name__}: {str(err)[:200]}'
    if not oom:
        traceback.print_exc()


def pair_ratios(rows: Sequence[Dict],
                pairs: Sequence[Tuple[str, str]],
                phases: Sequence[str],
                of: str = 'time') -> List[Dict]:
    """Per pair ``(a, b)``, mode and phase of :func:`measure_groups` rows: the
    per-repetition ratio of the two models' times (``of='time'``: ``t_a / t_b``) or
    img/s (``of='img_s'``: ``(batch_a / t_a) / (batch_b / t_b)``) by
    :func:`ratio_stats`, with ``a``, ``b``, ``mode`` and ``metric``
    (``'{phase}_{of}'``). Pairs with a failed row are left out."""
    found = {(r['model'], r['mode']): r for r in rows if 'error' not in r}
    out = []
    for a, b in pairs:
        for mode in dict.fromkeys(r['mode'] for r in rows):
            ra, rb = found.get((a, mode)), found.get((b, mode))
            for phase in phases if ra and rb else ():
                ta, tb = ra[f'{phase}_rep_ms'], rb[f'{phase}_rep_ms']
                if of == 'img_s':  # (batch_a / t_a) / (batch_b / t_b)
                    ta, tb = [ra['batch_size'] * t for t in tb], \
                        [rb['batch_size'] * t for t in ta]
                out.append(
                    dict(
                        a=a,
                        b=b,
                        mode=mode,
                        metric=f'{phase}_{of}',
                        **ratio_stats(ta, tb)))
    return out


def matmul_tflops(device: str, bf16: bool = True) -> float:
    """Rate of a large square matmul (8192² in bf16 on CUDA, 512² in fp32 on the
    CPU), TFLOP/s: the peak a model's FLOP rate can be set against."""
    import torch
    cuda = device.startswith('cuda')
    n = 8192 if cuda else 512
    dtype = torch.bfloat16 if (bf16 and cuda) else torch.float32
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    calls = 20 if cuda else 3
    (seconds, ), = interleaved_seconds({
        'mm': lambda: torch.mm(a, b)
    }, 3, 1, device, calls).values()
    return 2 * n**3 / seconds / 1e12


# --------------------------------------------------------------------------
# FLOPs
# --------------------------------------------------------------------------
def flop_counter() -> 'FlopCounterMode':
    """``FlopCounterMode`` (no display) that also counts torch's CPU SDPA kernels.

    A multiply-add counts as 2 FLOPs; only the aten ops FlopCounterMode knows
    (matmuls, convolutions, SDPA, ...) count, not mmcv's compiled ops. torch's CPU
    flash-attention kernel and its backward are not in FlopCounterMode's table: they
    count as the other SDPA kernels (and the meta device's matmuls) do. Use it as
    ``with flop_counter() as counter: ...; counter.get_total_flops()``.
    """
    import torch
    from torch.utils.flop_counter import (FlopCounterMode, sdpa_backward_flop_count,
                                          sdpa_flop_count)

    def forward(query, key, value, *args, out_shape=None, **kwargs) -> int:
        return sdpa_flop_count(query, key, value)

    def backward(grad_out, query, key, value, *args, out_shape=None, **kwargs) -> int:
        return sdpa_backward_flop_count(grad_out, query, key, value)

    aten = torch.ops.aten
    mapping = {
        aten._scaled_dot_product_flash_attention_for_cpu: forward,
        aten._scaled_dot_product_flash_attention_for_cpu_backward: backward
    }
    return FlopCounterMode(display=False, custom_mapping=mapping)


def count_flops(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> int:
    """FLOPs of ``fn(*args, **kwargs)`` under no_grad (:func:`flop_counter`)."""
    import torch
    with torch.no_grad(), flop_counter() as counter:
        fn(*args, **kwargs)
    return int(counter.get_total_flops())


# --------------------------------------------------------------------------
# reporting
# --------------------------------------------------------------------------
def num_params(module: 'nn.Module', trainable: bool = False) -> int:
    """Number of parameters of ``module`` (only those requiring grad if
    ``trainable``); works on the meta device."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable)


def describe_device(device: str) -> str:
    """``'cuda (NVIDIA H100 ...)'`` or ``'cpu (x86_64, 2 threads)'``."""
    import torch
    if device.startswith('cuda'):
        return f'{device} ({torch.cuda.get_device_name(torch.device(device))})'
    cpu = platform.processor() or platform.machine()
    return f'{device} ({cpu}, {torch.get_num_threads()} threads)'


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table; cells are formatted with ``str``."""
    lines = ['| ' + ' | '.join(map(str, header)) + ' |', '|' + '---|' * len(header)]
    lines += ['| ' + ' | '.join(map(str, row)) + ' |' for row in rows]
    return '\n'.join(lines)


def rows_table(rows: Sequence[Dict], columns: Sequence[Tuple[str, Callable[[Dict],
                                                                           Any]]]) -> str:
    """A Markdown table of ``rows``, one cell per ``(title, cell)`` column; a value a
    row lacks shows as ``-``, and a failed row's ``error`` stands in its first such
    cell."""
    cells = []
    for row in rows:
        line = []
        for _, cell in columns:
            try:
                line.append(str(cell(row)))
            except KeyError:
                line.append('-')
        if 'error' in row and '-' in line:
            line[line.index('-')] = row['error']
        cells.append(line)
    return markdown_table([title for title, _ in columns], cells)


def ratios_table(pairs: Sequence[Dict],
                 phases: Sequence[str],
                 names: Optional[Dict[str, str]] = None) -> str:
    """One line per pair and mode of :func:`pair_ratios`: ``median (min-max)`` of
    each phase; ``names`` maps a row's ``model`` to its name in the table."""
    names = names or {}
    kind = 'time' if pairs and pairs[0]['metric'].endswith('_time') else 'img/s'
    lines: Dict[Tuple, List[str]] = {}
    for p in pairs:
        a, b = names.get(p['a'], p['a']), names.get(p['b'], p['b'])
        line = lines.setdefault((p['a'], p['b'], p['mode']), [f'{a} / {b}', p['mode']])
        line.append(f"{p['median']:.3f}x ({p['min']:.3f}-{p['max']:.3f})")
    header = [f'{kind} ratio (interleaved)', 'mode'
              ] + [f'{phase}: median (min-max)' for phase in phases]
    return markdown_table(header, list(lines.values()))


def write_json(path: str, data: Any) -> str:
    """Write ``data`` as indented JSON to ``path`` (its folder created); returns it."""
    if osp.dirname(path):
        os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(data, f, indent=2)
    return path
