"""Independent statement of the apple/ml-aim (AIM v1) forward, for comparison tests.

Written from the release's documented layout with plain torch ops and explicit masked
softmax; shares no code with the package. Keys are the release's
(``preprocessor.patchifier.*``, ``trunk.blocks.N.*``, ``trunk.post_trunk_norm.*``,
``head.*``).
"""
import torch
import torch.nn.functional as F


def sincos_2d(h, w, dim):
    """MAE-style table: first half sin/cos of the column, second half of the row."""

    def one_d(d, pos):
        omega = 1.0 / 10000**(torch.arange(d // 2).double() / (d / 2.0))
        out = pos.reshape(-1, 1).double() * omega[None]
        return torch.cat([out.sin(), out.cos()], dim=1)

    cols = torch.arange(w).repeat(h)  # x of token n = n mod w
    rows = torch.arange(h).repeat_interleave(w)  # y of token n = n div w
    return torch.cat([one_d(dim // 2, cols), one_d(dim // 2, rows)], dim=1).float()


def explicit_attention(q, k, v, allowed=None):
    """softmax(q k^T / sqrt(d)) v with disallowed pairs set to -inf."""
    scores = q @ k.transpose(-2, -1) / q.shape[-1]**0.5
    if allowed is not None:
        scores = scores.masked_fill(~allowed, float('-inf'))
    return scores.softmax(-1) @ v


def prefix_allowed(prefix_len, n):
    """(B, 1, N, N) bool by loops: i sees j iff j < P or j <= i."""
    allowed = torch.zeros(len(prefix_len), 1, n, n, dtype=torch.bool)
    for b, p in enumerate(prefix_len.tolist()):
        for i in range(n):
            for j in range(n):
                allowed[b, 0, i, j] = j < p or j <= i
    return allowed


def aim_forward(sd, images, num_heads, patch_size, prefix_len=None, eps=1e-6):
    """Returns (block outputs list, last tokens after post_trunk_norm)."""
    x = F.conv2d(
        images,
        sd['preprocessor.patchifier.proj.weight'],
        sd['preprocessor.patchifier.proj.bias'],
        stride=patch_size)
    h, w = x.shape[-2:]
    x = x.flatten(2).transpose(1, 2)
    dim = x.shape[-1]
    x = F.layer_norm(x, (dim, ), sd['preprocessor.patchifier.norm.weight'],
                     sd['preprocessor.patchifier.norm.bias'], eps)
    x = x + sincos_2d(h, w, dim)[None]
    batch, n, _ = x.shape
    allowed = None if prefix_len is None else prefix_allowed(prefix_len, n)
    depth = len({k.split('.')[2] for k in sd if k.startswith('trunk.blocks.')})
    feats = []
    for i in range(depth):
        p = f'trunk.blocks.{i}.'
        y = F.layer_norm(x, (dim, ), sd[p + 'norm_1.weight'], sd[p + 'norm_1.bias'], eps)
        q, k, v = (y @ sd[p + 'attn.qkv.weight'].T).reshape(batch, n, 3, num_heads,
                                                            dim // num_heads).permute(
                                                                2, 0, 3, 1, 4)
        y = explicit_attention(q, k, v, allowed).transpose(1, 2).reshape(batch, n, dim)
        x = x + y @ sd[p + 'attn.proj.weight'].T
        y = F.layer_norm(x, (dim, ), sd[p + 'norm_2.weight'], sd[p + 'norm_2.bias'], eps)
        x = x + F.gelu(y @ sd[p + 'mlp.fc1.weight'].T) @ sd[p + 'mlp.fc2.weight'].T
        feats.append(x)
    last = F.layer_norm(x, (dim, ), sd['trunk.post_trunk_norm.weight'],
                        sd['trunk.post_trunk_norm.bias'], eps)
    return feats, last


def probe_forward(sd, tokens, num_heads, eps=1e-6):
    """Release AttentionPoolingClassifier in eval mode (BatchNorm running stats)."""
    x = (tokens - sd['head.bn.running_mean']) / (sd['head.bn.running_var'] + eps)**0.5
    batch, n, dim = x.shape
    hd = dim // num_heads
    q = sd['head.cls_token'].expand(batch, -1, -1).reshape(batch, -1, num_heads, hd)
    k = (x @ sd['head.k.weight'].T).reshape(batch, n, num_heads, hd)
    v = (x @ sd['head.v.weight'].T).reshape(batch, n, num_heads, hd)
    out = explicit_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
    out = out.transpose(1, 2).reshape(batch, -1, dim).mean(dim=1)
    return out @ sd['head.linear.weight'].T


def synthetic_aim_state_dict(dim, depth, patch_size, num_classes, seed=0):
    """Random tensors in the ml-aim key layout (backbone and probe head)."""
    g = torch.Generator().manual_seed(seed)

    def rnd(*shape, scale=0.1, offset=0.):
        return torch.randn(*shape, generator=g) * scale + offset

    sd = {
        'preprocessor.patchifier.proj.weight': rnd(dim, 3, patch_size, patch_size),
        'preprocessor.patchifier.proj.bias': rnd(dim),
        'preprocessor.patchifier.norm.weight': rnd(dim, offset=1.),
        'preprocessor.patchifier.norm.bias': rnd(dim)
    }
    for i in range(depth):
        p = f'trunk.blocks.{i}.'
        sd.update({
            p + 'norm_1.weight': rnd(dim, offset=1.),
            p + 'norm_1.bias': rnd(dim),
            p + 'attn.qkv.weight': rnd(3 * dim, dim),
            p + 'attn.proj.weight': rnd(dim, dim),
            p + 'norm_2.weight': rnd(dim, offset=1.),
            p + 'norm_2.bias': rnd(dim),
            p + 'mlp.fc1.weight': rnd(4 * dim, dim),
            p + 'mlp.fc2.weight': rnd(dim, 4 * dim)
        })
    sd.update({
        'trunk.post_trunk_norm.weight': rnd(dim, offset=1.),
        'trunk.post_trunk_norm.bias': rnd(dim),
        'head.k.weight': rnd(dim, dim),
        'head.v.weight': rnd(dim, dim),
        'head.cls_token': rnd(1, 1, dim, scale=1.),
        'head.linear.weight': rnd(num_classes, dim),
        'head.bn.running_mean': rnd(dim),
        'head.bn.running_var': rnd(dim).abs() + .5,
        'head.bn.num_batches_tracked': torch.tensor(100)
    })
    return sd
