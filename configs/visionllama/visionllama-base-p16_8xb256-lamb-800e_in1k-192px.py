# VisionLLaMA-B, supervised ImageNet-1k: 800 epochs at 192 px (then fine-tune at 224 px
# with visionllama-base-p16_8xb64-adamw-20e_in1k.py), as in the release.
_base_ = ['./_base_/deit3-lamb_in1k.py']
img_size = 192
# crops of img_size, evaluation at the release's crop ratio 0.875
train_pipeline, test_pipeline = _base_.train_pipeline, _base_.test_pipeline
train_pipeline[1]['scale'] = test_pipeline[2]['crop_size'] = img_size
test_pipeline[1]['scale'] = int(256 / 224 * img_size)
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
model = dict(
    backbone=dict(arch='b', img_size=img_size, drop_path_rate=0.2),
    head=dict(in_channels=768))
optim_wrapper = dict(optimizer=dict(lr=3e-3))
param_scheduler = _base_.param_scheduler
param_scheduler[0]['start_factor'] = 1e-6 / 3e-3  # warmup from lr 1e-6
