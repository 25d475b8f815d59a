"""Independent statements of the official VisionLLaMA math, for comparison tests.

Written from the paper and the release's documented behaviour (complex-number RoPE,
timm-style block with ``c_fc1``/``c_fc2``/``c_proj``), deliberately not sharing code
with the package.
"""
import torch
import torch.nn.functional as F


def official_rotate(x, coords, theta=10000.):
    """Release RoPE: complex pair 2m gets x * f_m, pair 2m + 1 gets y * f_m."""
    head_dim = x.shape[-1]
    freqs = 1.0 / theta ** (torch.arange(0, head_dim, 4).double() / head_dim)
    ax = torch.outer(coords[:, 0].double(), freqs)
    ay = torch.outer(coords[:, 1].double(), freqs)
    angles = torch.stack((ax, ay), dim=-1).reshape(coords.shape[0], -1)
    rot = torch.polar(torch.ones_like(angles), angles)
    xc = torch.view_as_complex(x.double().reshape(*x.shape[:-1], -1, 2))
    return torch.view_as_real(xc * rot).flatten(-2).to(x.dtype)


def official_deit_forward(sd, images, depth, num_heads, patch_size, eps=1e-6):
    """Forward of the supervised release (class-token model) on a square grid."""
    x = F.conv2d(images, sd['patch_embed.proj.weight'], sd['patch_embed.proj.bias'],
                 stride=patch_size)
    grid = x.shape[-1]
    x = x.flatten(2).transpose(1, 2)
    x = torch.cat((sd['cls_token'].expand(x.shape[0], -1, -1), x), dim=1)
    flat = torch.arange(-1, grid * grid)
    coords = torch.stack((flat % grid, torch.div(flat, grid, rounding_mode='floor')),
                         dim=-1).double()
    batch, length, dim = x.shape
    head_dim = dim // num_heads
    for i in range(depth):
        p = f'blocks.{i}.'
        h = F.layer_norm(x, (dim,), sd[p + 'norm1.weight'], sd[p + 'norm1.bias'], eps)
        qkv = F.linear(h, sd[p + 'attn.qkv.weight'], sd[p + 'attn.qkv.bias'])
        q, k, v = qkv.reshape(batch, length, 3, num_heads, head_dim).permute(
            2, 0, 3, 1, 4)
        q, k = official_rotate(q, coords), official_rotate(k, coords)
        attn = (q @ k.transpose(-2, -1) * head_dim ** -0.5).softmax(-1)
        out = (attn @ v).transpose(1, 2).reshape(batch, length, dim)
        out = F.linear(out, sd[p + 'attn.proj.weight'], sd[p + 'attn.proj.bias'])
        x = x + sd[p + 'gamma_1'] * out
        h = F.layer_norm(x, (dim,), sd[p + 'norm2.weight'], sd[p + 'norm2.bias'], eps)
        mlp = F.silu(F.linear(h, sd[p + 'mlp.c_fc1.weight'])) * F.linear(
            h, sd[p + 'mlp.c_fc2.weight'])
        x = x + sd[p + 'gamma_2'] * F.linear(mlp, sd[p + 'mlp.c_proj.weight'])
    x = F.layer_norm(x, (dim,), sd['norm.weight'], sd['norm.bias'], eps)
    return F.linear(x[:, 0], sd['head.weight'], sd['head.bias'])


def synthetic_deit_state_dict(dim, depth, hidden, patch_size, num_classes, seed=0):
    """Random tensors in the supervised release's key layout."""
    g = torch.Generator().manual_seed(seed)

    def rnd(*shape, scale=0.1):
        return torch.randn(*shape, generator=g) * scale

    sd = {'cls_token': rnd(1, 1, dim), 'patch_embed.proj.weight': rnd(dim, 3, patch_size,
                                                                       patch_size),
          'patch_embed.proj.bias': rnd(dim), 'norm.weight': 1 + rnd(dim),
          'norm.bias': rnd(dim), 'head.weight': rnd(num_classes, dim),
          'head.bias': rnd(num_classes)}
    for i in range(depth):
        p = f'blocks.{i}.'
        sd.update({
            p + 'norm1.weight': 1 + rnd(dim), p + 'norm1.bias': rnd(dim),
            p + 'attn.qkv.weight': rnd(3 * dim, dim), p + 'attn.qkv.bias': rnd(3 * dim),
            p + 'attn.proj.weight': rnd(dim, dim), p + 'attn.proj.bias': rnd(dim),
            p + 'norm2.weight': 1 + rnd(dim), p + 'norm2.bias': rnd(dim),
            p + 'gamma_1': 1 + rnd(dim), p + 'gamma_2': 1 + rnd(dim),
            p + 'mlp.c_fc1.weight': rnd(hidden, dim), p + 'mlp.c_fc2.weight': rnd(hidden, dim),
            p + 'mlp.c_proj.weight': rnd(dim, hidden)})
    return sd
