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
    freqs = 1.0 / theta**(torch.arange(0, head_dim, 4).double() / head_dim)
    ax = torch.outer(coords[:, 0].double(), freqs)
    ay = torch.outer(coords[:, 1].double(), freqs)
    angles = torch.stack((ax, ay), dim=-1).reshape(coords.shape[0], -1)
    rot = torch.polar(torch.ones_like(angles), angles)
    xc = torch.view_as_complex(x.double().reshape(*x.shape[:-1], -1, 2))
    return torch.view_as_real(xc * rot).flatten(-2).to(x.dtype)


def official_deit_forward(sd, images, depth, num_heads, patch_size, eps=1e-6):
    """Forward of the supervised release (class-token model) on a square grid."""
    x = F.conv2d(
        images,
        sd['patch_embed.proj.weight'],
        sd['patch_embed.proj.bias'],
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
        h = F.layer_norm(x, (dim, ), sd[p + 'norm1.weight'], sd[p + 'norm1.bias'], eps)
        qkv = F.linear(h, sd[p + 'attn.qkv.weight'], sd[p + 'attn.qkv.bias'])
        q, k, v = qkv.reshape(batch, length, 3, num_heads,
                              head_dim).permute(2, 0, 3, 1, 4)
        q, k = official_rotate(q, coords), official_rotate(k, coords)
        attn = (q @ k.transpose(-2, -1) * head_dim**-0.5).softmax(-1)
        out = (attn @ v).transpose(1, 2).reshape(batch, length, dim)
        out = F.linear(out, sd[p + 'attn.proj.weight'], sd[p + 'attn.proj.bias'])
        x = x + sd[p + 'gamma_1'] * out
        h = F.layer_norm(x, (dim, ), sd[p + 'norm2.weight'], sd[p + 'norm2.bias'], eps)
        mlp = F.silu(F.linear(h, sd[p + 'mlp.c_fc1.weight'])) * F.linear(
            h, sd[p + 'mlp.c_fc2.weight'])
        x = x + sd[p + 'gamma_2'] * F.linear(mlp, sd[p + 'mlp.c_proj.weight'])
    x = F.layer_norm(x, (dim, ), sd['norm.weight'], sd['norm.bias'], eps)
    return F.linear(x[:, 0], sd['head.weight'], sd['head.bias'])


def synthetic_deit_state_dict(dim, depth, hidden, patch_size, num_classes, seed=0):
    """Random tensors in the supervised release's key layout."""
    g = torch.Generator().manual_seed(seed)

    def rnd(*shape, scale=0.1):
        return torch.randn(*shape, generator=g) * scale

    sd = {
        'cls_token': rnd(1, 1, dim),
        'patch_embed.proj.weight': rnd(dim, 3, patch_size, patch_size),
        'patch_embed.proj.bias': rnd(dim),
        'norm.weight': 1 + rnd(dim),
        'norm.bias': rnd(dim),
        'head.weight': rnd(num_classes, dim),
        'head.bias': rnd(num_classes)
    }
    for i in range(depth):
        p = f'blocks.{i}.'
        sd.update({
            p + 'norm1.weight': 1 + rnd(dim),
            p + 'norm1.bias': rnd(dim),
            p + 'attn.qkv.weight': rnd(3 * dim, dim),
            p + 'attn.qkv.bias': rnd(3 * dim),
            p + 'attn.proj.weight': rnd(dim, dim),
            p + 'attn.proj.bias': rnd(dim),
            p + 'norm2.weight': 1 + rnd(dim),
            p + 'norm2.bias': rnd(dim),
            p + 'gamma_1': 1 + rnd(dim),
            p + 'gamma_2': 1 + rnd(dim),
            p + 'mlp.c_fc1.weight': rnd(hidden, dim),
            p + 'mlp.c_fc2.weight': rnd(hidden, dim),
            p + 'mlp.c_proj.weight': rnd(dim, hidden)
        })
    return sd


def official_pyramid_forward(sd,
                             images,
                             depths,
                             num_heads,
                             window=7,
                             srs=(8, 4, 2, 1),
                             eps=1e-5,
                             auto_scale=False,
                             base_size=14):
    """Forward of the released pyramid classifier (LSA without padding mask, GSA with
    the release's key-coordinate formula, final ``norm -> mean -> norm -> head``).

    ``auto_scale`` (the release's seg/det switch, AS2DRoPE): GSA query and key
    coordinates, x and y alike, are multiplied by ``base_size / H`` with ``H`` the
    stage grid height; LSA's window coordinates are never scaled.
    """
    x = images
    batch = x.shape[0]
    for s, depth in enumerate(depths):
        p = f'patch_embeds.{s}.'
        w = sd[p + 'proj.weight']
        x = F.conv2d(x, w, sd[p + 'proj.bias'], stride=w.shape[-1])
        H, W = x.shape[-2:]
        dim = x.shape[1]
        x = F.layer_norm(
            x.flatten(2).transpose(1, 2), (dim, ), sd[p + 'norm.weight'],
            sd[p + 'norm.bias'], eps)
        heads = num_heads[s]
        hd = dim // heads
        for j in range(depth):
            b = f'blocks.{s}.{j}.'
            h = F.layer_norm(x, (dim, ), sd[b + 'norm1.weight'], sd[b + 'norm1.bias'],
                             eps)
            if j % 2 == 0:  # LSA, zero padded, padded tokens attend
                pad_r, pad_b = (-W) % window, (-H) % window
                m = F.pad(h.reshape(batch, H, W, dim), (0, 0, 0, pad_r, 0, pad_b))
                hp, wp = H + pad_b, W + pad_r
                win = m.reshape(batch, hp // window, window, wp // window, window, dim)
                win = win.transpose(2, 3).reshape(-1, window * window, dim)
                qkv = F.linear(win, sd[b + 'attn.qkv.weight'], sd[b + 'attn.qkv.bias'])
                q, k, v = qkv.reshape(win.shape[0], -1, 3, heads,
                                      hd).permute(2, 0, 3, 1, 4)
                flat = torch.arange(window * window)
                coords = torch.stack((flat % window, flat // window), -1).double()
                q, k = official_rotate(q, coords), official_rotate(k, coords)
                out = ((q @ k.transpose(-2, -1)) * hd**-0.5).softmax(-1) @ v
                out = out.transpose(1, 2).reshape(batch, hp // window, wp // window,
                                                  window, window, dim)
                out = out.transpose(2, 3).reshape(batch, hp, wp, dim)[:, :H, :W]
                out = out.reshape(batch, H * W, dim)
            else:  # GSA with the release's key coordinates
                sr = srs[s]
                q = F.linear(h, sd[b + 'attn.q.weight'], sd[b + 'attn.q.bias'])
                src = h
                if sr > 1:
                    fmap = h.transpose(1, 2).reshape(batch, dim, H, W)
                    src = F.conv2d(
                        fmap, sd[b + 'attn.sr.weight'], sd[b + 'attn.sr.bias'],
                        stride=sr).flatten(2).transpose(1, 2)
                    src = F.layer_norm(src, (dim, ), sd[b + 'attn.norm.weight'],
                                       sd[b + 'attn.norm.bias'], eps)
                kv = F.linear(src, sd[b + 'attn.kv.weight'], sd[b + 'attn.kv.bias'])
                k, v = kv.reshape(batch, -1, 2, heads, hd).permute(2, 0, 3, 1, 4)
                q = q.reshape(batch, -1, heads, hd).transpose(1, 2)
                flat = torch.arange(H * W)
                q_coords = torch.stack((flat % W, flat // W), -1).double()
                red = torch.arange((H // sr) * (W // sr))
                bias = 1.0 - 1.0 / sr
                k_coords = torch.stack((bias + (red % W) * sr, bias + (red // W) * sr),
                                       -1).double()
                if auto_scale:  # one factor for both axes, from the height
                    scale = base_size / H
                    q_coords, k_coords = q_coords * scale, k_coords * scale
                q, k = official_rotate(q, q_coords), official_rotate(k, k_coords)
                out = ((q @ k.transpose(-2, -1)) * hd**-0.5).softmax(-1) @ v
                out = out.transpose(1, 2).reshape(batch, H * W, dim)
            out = F.linear(out, sd[b + 'attn.proj.weight'], sd[b + 'attn.proj.bias'])
            x = x + sd[b + 'gamma_1'] * out
            h = F.layer_norm(x, (dim, ), sd[b + 'norm2.weight'], sd[b + 'norm2.bias'],
                             eps)
            mlp = F.silu(F.linear(h, sd[b + 'mlp.c_fc1.weight'])) * F.linear(
                h, sd[b + 'mlp.c_fc2.weight'])
            x = x + sd[b + 'gamma_2'] * F.linear(mlp, sd[b + 'mlp.c_proj.weight'])
        if s < len(depths) - 1:
            x = x.transpose(1, 2).reshape(batch, dim, H, W)
    x = F.layer_norm(x, (x.shape[-1], ), sd['norm.weight'], sd['norm.bias'], eps)
    x = F.layer_norm(x.mean(1), (x.shape[-1], ), sd['norm.weight'], sd['norm.bias'], eps)
    return F.linear(x, sd['head.weight'], sd['head.bias'])


def synthetic_pyramid_state_dict(dims,
                                 depths,
                                 hiddens,
                                 srs=(8, 4, 2, 1),
                                 patch=4,
                                 num_classes=5,
                                 seed=0):
    """Random tensors in the pyramid release's key layout."""
    g = torch.Generator().manual_seed(seed)

    def rnd(*shape, scale=0.1):
        return torch.randn(*shape, generator=g) * scale

    sd = {}
    in_ch = 3
    for s, (dim, depth, hidden) in enumerate(zip(dims, depths, hiddens)):
        k = patch if s == 0 else 2
        sd.update({
            f'patch_embeds.{s}.proj.weight': rnd(dim, in_ch, k, k),
            f'patch_embeds.{s}.proj.bias': rnd(dim),
            f'patch_embeds.{s}.norm.weight': 1 + rnd(dim),
            f'patch_embeds.{s}.norm.bias': rnd(dim)
        })
        for j in range(depth):
            b = f'blocks.{s}.{j}.'
            sd.update({
                b + 'norm1.weight': 1 + rnd(dim),
                b + 'norm1.bias': rnd(dim),
                b + 'norm2.weight': 1 + rnd(dim),
                b + 'norm2.bias': rnd(dim),
                b + 'attn.proj.weight': rnd(dim, dim),
                b + 'attn.proj.bias': rnd(dim),
                b + 'gamma_1': 1 + rnd(dim),
                b + 'gamma_2': 1 + rnd(dim),
                b + 'mlp.c_fc1.weight': rnd(hidden, dim),
                b + 'mlp.c_fc2.weight': rnd(hidden, dim),
                b + 'mlp.c_proj.weight': rnd(dim, hidden)
            })
            if j % 2 == 0:
                sd.update({
                    b + 'attn.qkv.weight': rnd(3 * dim, dim),
                    b + 'attn.qkv.bias': rnd(3 * dim)
                })
            else:
                sd.update({
                    b + 'attn.q.weight': rnd(dim, dim),
                    b + 'attn.q.bias': rnd(dim),
                    b + 'attn.kv.weight': rnd(2 * dim, dim),
                    b + 'attn.kv.bias': rnd(2 * dim)
                })
                if srs[s] > 1:
                    sd.update({
                        b + 'attn.sr.weight': rnd(dim, dim, srs[s], srs[s]),
                        b + 'attn.sr.bias': rnd(dim),
                        b + 'attn.norm.weight': 1 + rnd(dim),
                        b + 'attn.norm.bias': rnd(dim)
                    })
        in_ch = dim
    sd.update({
        'norm.weight': 1 + rnd(dims[-1]),
        'norm.bias': rnd(dims[-1]),
        'head.weight': rnd(num_classes, dims[-1]),
        'head.bias': rnd(num_classes)
    })
    return sd
