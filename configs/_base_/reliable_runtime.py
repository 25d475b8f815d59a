# Crash-safe runs for every config of the package (README "Reliability"): weights-only
# loadable, atomic checkpoints with checked loading and resume fallback, exact resume,
# a stop at the first non-finite loss and input checks (visionllama_mm.ReliableRunner).
# The runner and every model part of the package are registered by the one import.
custom_imports = dict(imports=['visionllama_mm'], allow_failed_imports=False)
runner_type = 'visionllama_mm.ReliableRunner'
