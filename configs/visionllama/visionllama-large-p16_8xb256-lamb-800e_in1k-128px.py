# VisionLLaMA-L, supervised ImageNet-1k: 800 epochs at 128 px (then fine-tune at 224 px
# with visionllama-large-p16_8xb64-adamw-20e_in1k.py), as in the release.
_base_ = ['./visionllama-base-p16_8xb256-lamb-800e_in1k-192px.py']
img_size = 128
model = dict(
    backbone=dict(arch='l', img_size=img_size, drop_path_rate=0.45),
    head=dict(in_channels=1024))
# crops of img_size, evaluation at the release's crop ratio 0.875
train_pipeline, test_pipeline = _base_.train_pipeline, _base_.test_pipeline
train_pipeline[1]['scale'] = test_pipeline[2]['crop_size'] = img_size
test_pipeline[1]['scale'] = int(256 / 224 * img_size)
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
