"""Run the pre-flight rules on the built model before the first batch, and check that
its weights are finite once they are loaded."""
from mmengine.hooks import Hook
from mmengine.optim import OptimWrapper

from ...errors import ModelMismatchError
from ...registry import HOOKS
from ..checks import check_finite_weights, check_model, unwrap

__all__ = ['ModelCheckHook', 'ModelMismatchError']


@HOOKS.register_module()
class ModelCheckHook(Hook):
    """Refuse a model whose parts do not fit, or whose weights are not finite.

    ``before_run`` (before any batch; when training, after the optimizer is built):
    :func:`~visionllama_mm.engine.checks.check_model`, e.g. a vector classification
    head on an unpooled backbone, a neck / decode head whose channels or indices do
    not match the backbone's maps, anchor / RoI strides that are not the strides of
    the maps, or layer decay that leaves every block in one group.
    ``before_train`` / ``before_test`` (after pretrained weights, ``load_from`` or
    ``--resume`` are loaded): every parameter and buffer is finite, else the error
    names the tensors and the checkpoint they came from.
    """
    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        optim_wrapper = getattr(runner, 'optim_wrapper', None)
        cfg = getattr(runner, 'cfg', None) or {}
        if isinstance(optim_wrapper, OptimWrapper):
            check_model(runner.model, optim_wrapper, cfg.get('optim_wrapper'))
        else:  # not training: the optimizer is not built
            check_model(runner.model)

    def check_weights(self, runner) -> None:
        source = runner._load_from or runner.cfg.get('load_from') or \
            'the initial weights (init_cfg)'
        check_finite_weights(unwrap(runner.model), source)

    def before_train(self, runner) -> None:
        self.check_weights(runner)

    def before_test(self, runner) -> None:
        self.check_weights(runner)
