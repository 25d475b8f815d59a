"""Hooks registered in every scope (see :mod:`visionllama_mm.registry`)."""
from .atomic_checkpoint_hook import AtomicCheckpointHook
from .data_check_hook import DataCheckHook
from .finite_loss_hook import FiniteLossHook, LossSpikeError, NonFiniteLossError
from .input_check_hook import InputChannelsHook
from .model_check_hook import ModelCheckHook
from .random_state_hook import RandomStateHook
from .save_weights_hook import SaveWeightsHook

__all__ = [
    'AtomicCheckpointHook', 'DataCheckHook', 'FiniteLossHook', 'InputChannelsHook',
    'LossSpikeError', 'ModelCheckHook', 'NonFiniteLossError', 'RandomStateHook',
    'SaveWeightsHook'
]
