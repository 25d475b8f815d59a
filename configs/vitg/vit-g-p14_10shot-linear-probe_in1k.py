# 10-shot ImageNet-1k linear probe of a frozen ViT-G/14.
# Recipe notes: configs/vitg/README.md ("Configs").
_base_ = ['./vit-g-p14_linear-probe_8xb128-90e_in1k.py']

train_dataloader = dict(
    batch_size=128,
    dataset=dict(ann_file='meta/train_10shot.txt'))  # 10 000 images: 10 steps / epoch

# 8 x 128 = 1024 images per step over 10k images: 100 epochs = 1000 steps
max_epochs = 100
optim_wrapper = dict(optimizer=dict(lr=0.05, weight_decay=1e-4))
param_scheduler = _base_.param_scheduler  # 5 warmup epochs, then cosine (per iteration)
param_scheduler[1].update(
    T_max=max_epochs - 5, end=max_epochs, convert_to_iter_based=True)
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=25)
