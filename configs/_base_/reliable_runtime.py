# Crash-safe runs for every config of the package (README "Reliability"): weights-only
# loadable, atomic checkpoints with checked loading and resume fallback, exact resume,
# a stop at the first non-finite loss and input checks (visionllama_mm.ReliableRunner).
runner_type = 'visionllama_mm.ReliableRunner'
