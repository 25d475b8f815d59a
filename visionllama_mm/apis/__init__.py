"""The user API: ONNX export and parity (:mod:`.deploy`).

Importing this package imports mmengine only; torch and the downstream projects
(mmpretrain, mmseg, mmdet) are imported on use.
"""
